#!/usr/bin/env python3
"""Writes the hand-made fuzz inputs (docs/testing.md, "Fuzzing"), byte by byte:

  Tests/FuzzRegressionTests/Seeds/pdf-reader/*.pdf      small valid PDFs (libFuzzer's starting corpus)
  Tests/FuzzRegressionTests/Corpus/pdf-reader/hostile-*  numbers near Int64.max in the places the
                                                         security review named (issue 11, section 5)
  Tests/FuzzRegressionTests/Corpus/cms-tsp/hostile-*     DER with absurd lengths and deep nesting
  Tests/FuzzRegressionTests/Corpus/manifest/hostile-*    JSON that is deep, huge-numbered or odd

Binary inputs are written as base64 text with the suffix .b64.

The CMS/TSP seeds come from openssl (scripts/fuzz.sh); the manifest seeds are copied by hand from
docs/spool.md. Run from the repository root; the output is deterministic and committed.
"""
import base64
import os
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "FuzzRegressionTests")
MAX = 9223372036854775807


def write(kind, target, name, data):
    """Text inputs are written as they are; binary ones as base64 text (`name.b64`), which
    FuzzRegressionTests and scripts/fuzz.sh decode: nothing binary is committed."""
    data = data if isinstance(data, bytes) else data.encode("latin-1")
    path = os.path.join(ROOT, kind, target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if any(b >= 0x7F or (b < 0x20 and b not in b"\t\n\r") for b in data):
        path += ".b64"
        data = base64.encodebytes(data)
    with open(path, "wb") as f:
        f.write(data)


def classic(objects, trailer_extra=b"", prefix=b"", header=b"%PDF-1.7\n", startxref=None, xref_header=None):
    """A one-revision PDF with a classic xref table; objects: {number: body bytes}."""
    out = bytearray(prefix + header)
    offsets = {}
    for n in sorted(objects):
        offsets[n] = len(out) - len(prefix)
        out += b"%d 0 obj\n" % n + objects[n] + b"\nendobj\n"
    xref = len(out) - len(prefix)
    size = max(objects) + 1
    out += b"xref\n" + (xref_header or b"0 %d\n" % size)
    out += b"0000000000 65535 f \n"
    for n in range(1, size):
        out += b"%010d 00000 n \n" % offsets[n] if n in offsets else b"0000000000 00000 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R " % size + trailer_extra + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % (xref if startxref is None else startxref)
    return bytes(out)


PAGE_OBJECTS = {
    1: b"<< /Type /Catalog /Pages 2 0 R >>",
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
    4: b"<< /Length 35 >>\nstream\nBT /F1 12 Tf 20 100 Td (Hi) Tj ET\nendstream",
}


def signed_update(base, byte_range=None):
    """Appends an incremental update with a filled signature field to a classic PDF. `byte_range`
    replaces the correct /ByteRange (padded to the same width, so every offset stays right)."""
    out = bytearray(base)
    prev = int(base.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    contents = "3003020100".ljust(64, "0")  # a tiny DER SEQUENCE, zero padded as signers do
    objs = {}
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> >>"
    objs[3] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Annots [5 0 R] >>"
    objs[5] = b"<< /FT /Sig /T (Signature1) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R /V 6 0 R >>"
    offsets = {}
    for n in (1, 3, 5):
        offsets[n] = len(out)
        out += b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n"
    offsets[6] = len(out)
    head = b"6 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (D:20260101000000Z) /Reason (fuzz seed) /ByteRange "
    placeholder = b"[" + b" ".join([b"0" * 19] * 4) + b"]"
    sig_start = len(out)
    out += head + placeholder + b" /Contents <" + contents.encode() + b"> >>\nendobj\n"
    gap_open = sig_start + len(head) + len(placeholder) + len(b" /Contents ")
    gap_close = gap_open + 2 + len(contents)
    xref = len(out)
    out += b"xref\n0 2\n0000000000 65535 f \n%010d 00000 n \n3 1\n%010d 00000 n \n5 2\n%010d 00000 n \n%010d 00000 n \n" % (
        offsets[1], offsets[3], offsets[5], offsets[6])
    out += b"trailer\n<< /Size 7 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (prev, xref)
    total = len(out)
    br = byte_range or b"[%019d %019d %019d %019d]" % (0, gap_open, gap_close, total - gap_close)
    assert len(br) <= len(placeholder)
    br = br[:-1].ljust(len(placeholder) - 1) + b"]"
    out[sig_start + len(head):sig_start + len(head) + len(placeholder)] = br
    return bytes(out)


def xref_stream_pdf(compress, first=None, w=b"[1 2 1]", xref_extra=b""):
    """PDF 1.5 with an object stream and a cross-reference stream (/W [1 2 1]); `first`, `w` and
    `xref_extra` replace or extend what the dictionaries say (every offset stays right)."""
    out = bytearray(b"%PDF-1.5\n")
    inner = [b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    header = b""
    body = b""
    for i, o in enumerate(inner):
        header += b"%d %d " % (2 + i, len(body))
        body += o + b" "
    objstm = header + body
    first_value = len(header)
    offsets = {}
    offsets[1] = len(out)
    out += b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    data = zlib.compress(objstm) if compress else objstm
    flt = b" /Filter /FlateDecode" if compress else b""
    offsets[4] = len(out)
    out += b"4 0 obj\n<< /Type /ObjStm /N 2 /First %d /Length %d%s >>\nstream\n" % (first_value if first is None else first, len(data), flt) + data + b"\nendstream\nendobj\n"
    offsets[5] = len(out)
    rows = bytes([0, 0, 0, 255])
    rows += bytes([1]) + offsets[1].to_bytes(2, "big") + bytes([0])
    rows += bytes([2, 0, 4, 0]) + bytes([2, 0, 4, 1])
    rows += bytes([1]) + offsets[4].to_bytes(2, "big") + bytes([0])
    rows += bytes([1]) + offsets[5].to_bytes(2, "big") + bytes([0])
    xdata = zlib.compress(rows) if compress else rows
    out += b"5 0 obj\n<< /Type /XRef /Size 6 /W %s /Root 1 0 R /Length %d%s%s >>\nstream\n" % (w, len(xdata), flt, xref_extra) + xdata + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[5]
    return bytes(out)


def xref_stream_predictor_pdf():
    """Like xref_stream_pdf(True) without an object stream, with the PNG Up predictor most producers
    use for xref streams (/DecodeParms << /Predictor 12 /Columns 4 >>)."""
    out = bytearray(b"%PDF-1.5\n")
    offsets = {}
    for n in (1, 2, 3):
        offsets[n] = len(out)
        out += b"%d 0 obj\n" % n + PAGE_OBJECTS[n] .replace(b" /Contents 4 0 R", b"") + b"\nendobj\n"
    offsets[4] = len(out)
    rows = [bytes([0, 0, 0, 255])] + [bytes([1]) + offsets[n].to_bytes(2, "big") + bytes([0]) for n in (1, 2, 3, 4)]
    previous = bytes(4)
    encoded = b""
    for row in rows:
        encoded += bytes([2]) + bytes((a - b) % 256 for a, b in zip(row, previous))
        previous = row
    data = zlib.compress(encoded)
    out += b"4 0 obj\n<< /Type /XRef /Size 5 /W [1 2 1] /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> /Length %d >>\nstream\n" % len(data) + data + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[4]
    return bytes(out)


def hybrid_pdf():
    """A classic table whose trailer has /XRefStm (ISO 32000-1 7.5.8.4): object 4 is only in the stream."""
    out = bytearray(b"%PDF-1.5\n")
    offsets = {}
    for n in (1, 2, 3):
        offsets[n] = len(out)
        out += b"%d 0 obj\n" % n + PAGE_OBJECTS[n] + b"\nendobj\n"
    offsets[4] = len(out)
    out += b"4 0 obj\n" + PAGE_OBJECTS[4] + b"\nendobj\n"
    offsets[5] = len(out)
    rows = bytes([1]) + offsets[4].to_bytes(2, "big") + bytes([0])
    out += b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 2 1] /Index [4 1] /Length %d >>\nstream\n" % len(rows) + rows + b"\nendstream\nendobj\n"
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n"
    for n in (1, 2, 3):
        out += b"%010d 00000 n \n" % offsets[n]
    out += b"trailer\n<< /Size 6 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n" % (offsets[5], xref)
    return bytes(out)


def main():
    base = classic(PAGE_OBJECTS)
    write("Seeds", "pdf-reader", "minimal.pdf", base)
    write("Seeds", "pdf-reader", "signed-update.pdf", signed_update(base))
    write("Seeds", "pdf-reader", "xref-stream.pdf", xref_stream_pdf(False))
    write("Seeds", "pdf-reader", "xref-stream-flate.pdf", xref_stream_pdf(True))
    write("Seeds", "pdf-reader", "junk-prefix.pdf", classic(PAGE_OBJECTS, prefix=b"JUNK-BEFORE-HEADER\n"))
    write("Seeds", "pdf-reader", "xref-stream-predictor.pdf", xref_stream_predictor_pdf())
    write("Seeds", "pdf-reader", "hybrid.pdf", hybrid_pdf())

    # Hostile PDFs: the numbers the security review named.
    write("Corpus", "pdf-reader", "hostile-xref-subsection-max.pdf", classic(PAGE_OBJECTS, xref_header=b"%d 5\n" % MAX))
    write("Corpus", "pdf-reader", "hostile-xref-subsection-count-max.pdf", classic(PAGE_OBJECTS, xref_header=b"1 %d\n" % MAX))
    write("Corpus", "pdf-reader", "hostile-startxref-max-junk-prefix.pdf",
          classic(PAGE_OBJECTS, prefix=b"JUNK\n", startxref=MAX))
    write("Corpus", "pdf-reader", "hostile-startxref-negative.pdf", classic(PAGE_OBJECTS, startxref=-MAX - 1))
    write("Corpus", "pdf-reader", "hostile-prev-max.pdf", classic(PAGE_OBJECTS, trailer_extra=b"/Prev %d " % MAX))
    write("Corpus", "pdf-reader", "hostile-size-max.pdf", classic(PAGE_OBJECTS).replace(b"/Size 5", b"/Size %d" % MAX))
    for name, br in [("max", b"[0 %d %d %d]" % (MAX, MAX, MAX)),
                     ("end-overflow", b"[0 10 %d %d]" % (MAX - 5, 100)),
                     ("negative", b"[0 -1 %d -%d]" % (MAX, MAX))]:
        write("Corpus", "pdf-reader", "hostile-byterange-%s.pdf" % name, signed_update(base, br))
    write("Corpus", "pdf-reader", "hostile-index-max.pdf", xref_stream_pdf(False, xref_extra=b" /Index [%d 6]" % (MAX - 2)))
    write("Corpus", "pdf-reader", "hostile-w-huge.pdf", xref_stream_pdf(False, w=b"[1 %d 1]" % MAX))
    write("Corpus", "pdf-reader", "hostile-objstm-first-max.pdf", xref_stream_pdf(False, first=MAX))
    long_stream = dict(PAGE_OBJECTS)
    long_stream[4] = long_stream[4].replace(b"/Length 35", b"/Length %d" % MAX)
    write("Corpus", "pdf-reader", "hostile-length-max.pdf", classic(long_stream))

    # Hostile DER.
    write("Corpus", "cms-tsp", "hostile-length-4-bytes.der", bytes([0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0x01]))
    write("Corpus", "cms-tsp", "hostile-length-8-bytes.der", bytes([0x30, 0x88]) + b"\xff" * 8 + bytes([0x02, 0x01, 0x01]))
    write("Corpus", "cms-tsp", "hostile-nested-sequences.der", deep_der(3000))
    write("Corpus", "cms-tsp", "hostile-long-tag.der", bytes([0x1F]) + b"\xff" * 12 + bytes([0x01, 0x00]))

    # Hostile JSON.
    write("Corpus", "manifest", "hostile-deep-arrays.json", '{"version": 1, "type": "sign", "x": ' + "[" * 10000 + "]" * 10000 + "}")
    write("Corpus", "manifest", "hostile-deep-objects.json", '{"version": 1, "type": "sign", "x": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}")
    write("Corpus", "manifest", "hostile-version-huge.json", '{"version": 1e400, "type": "sign"}')
    write("Corpus", "manifest", "hostile-version-int-overflow.json", '{"version": 92233720368547758070, "type": "sign"}')
    write("Corpus", "manifest", "hostile-version-negative-max.json", '{"version": -9223372036854775808, "type": "enroll"}')


def deep_der(depth):
    """`depth` nested SEQUENCEs, each with a definite length."""
    inner = b"\x05\x00"
    for _ in range(depth):
        n = len(inner)
        if n < 0x80:
            inner = b"\x30" + bytes([n]) + inner
        else:
            length = n.to_bytes((n.bit_length() + 7) // 8, "big")
            inner = b"\x30" + bytes([0x80 | len(length)]) + length + inner
    return inner


if __name__ == "__main__":
    main()
