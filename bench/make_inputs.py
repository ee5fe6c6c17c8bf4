#!/usr/bin/env python3
"""Benchmark inputs for signd, written directly (no PDF library, standard library only).

    make_inputs.py many DIR N        N distinct one-page PDFs (a few KB each, classic xref)
                                     named doc-00000.pdf ... in DIR
    make_inputs.py large FILE SIZE_MB
                                     one valid PDF of about SIZE_MB MiB: a page that paints an
                                     uncompressed DeviceGray image XObject whose stream holds
                                     SIZE_MB MiB of random bytes. Written streaming in 1 MiB
                                     chunks, so memory stays small whatever the size.

Both write classic cross-reference tables with exact offsets; `qpdf --check` accepts them.
"""
import hashlib
import os
import random
import sys

CHUNK = 1 << 20

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
         "zulu invoice contract order delivery payment amount total signed approved").split()


def pdf_string(text: str) -> bytes:
    """A PDF literal string for ASCII text."""
    esc = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + esc.encode("ascii") + b")"


class Writer:
    """Tracks byte offsets of objects while writing a PDF sequentially."""

    def __init__(self, f):
        self.f = f
        self.pos = 0
        self.offsets = {}

    def raw(self, data: bytes):
        self.f.write(data)
        self.pos += len(data)

    def obj(self, num: int, body: bytes):
        self.offsets[num] = self.pos
        self.raw(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    def begin_obj(self, num: int):
        self.offsets[num] = self.pos
        self.raw(b"%d 0 obj\n" % num)

    def finish(self, root: int, info: int, file_id: bytes):
        size = max(self.offsets) + 1
        xref = self.pos
        out = [b"xref\n0 %d\n" % size, b"0000000000 65535 f \n"]
        for n in range(1, size):
            # Every entry is exactly 20 bytes (7.5.4).
            out.append(b"%010d 00000 n \n" % self.offsets[n])
        idhex = file_id.hex().encode()
        out.append(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
                   % (size, root, info, idhex, idhex))
        out.append(b"startxref\n%d\n%%%%EOF\n" % xref)
        self.raw(b"".join(out))


HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def small_pdf(path: str, index: int):
    rng = random.Random(index)
    lines = [f"signd benchmark document {index}"]
    for _ in range(60):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 11))))
    content = [b"BT /F1 9 Tf 40 800 Td 11 TL"]
    for line in lines:
        content.append(pdf_string(line) + b" Tj T*")
    content.append(b"ET")
    stream = b"\n".join(content) + b"\n"

    with open(path, "wb") as f:
        w = Writer(f)
        w.raw(HEADER)
        w.obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        w.obj(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        w.obj(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                 b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>")
        w.obj(4, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        w.obj(5, b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
        w.obj(6, b"<< /Title " + pdf_string(f"Benchmark document {index}") + b" /Producer (signd bench/make_inputs.py) >>")
        w.finish(root=1, info=6, file_id=hashlib.md5(b"signd-bench-%d" % index).digest())


def many(directory: str, n: int):
    os.makedirs(directory, exist_ok=True)
    for i in range(n):
        small_pdf(os.path.join(directory, f"doc-{i:05d}.pdf"), i)


def large(path: str, size_mb: float):
    data_len = max(CHUNK, int(size_mb * CHUNK))
    width = 4096
    height = (data_len + width - 1) // width
    data_len = width * height  # whole rows
    content = b"q 595 0 0 842 0 0 cm /Im1 Do Q\n"
    tmp = path + ".part"
    with open(tmp, "wb", buffering=0) as f:
        w = Writer(f)
        w.raw(HEADER)
        w.obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        w.obj(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        w.obj(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                 b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>")
        w.obj(4, b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream")
        w.begin_obj(5)
        w.raw(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
              b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (width, height, data_len))
        left = data_len
        while left > 0:
            n = min(CHUNK, left)
            w.raw(os.urandom(n))
            left -= n
        w.raw(b"\nendstream\nendobj\n")
        w.obj(6, b"<< /Title (Large benchmark document) /Producer (signd bench/make_inputs.py) >>")
        w.finish(root=1, info=6, file_id=hashlib.md5(b"signd-bench-large-%d" % data_len).digest())
    os.replace(tmp, path)


def main(argv):
    if len(argv) == 4 and argv[1] == "many":
        many(argv[2], int(argv[3]))
    elif len(argv) == 4 and argv[1] == "large":
        large(argv[2], float(argv[3]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
