#!/usr/bin/env python3
"""make_corpus.py OUTDIR --pki PKIDIR

Builds the interop input corpus, each file named by what it is. Files come
from tools we did not write (pikepdf, qpdf, pyHanko) except the few whose
structure no tool writes on request (hybrid.pdf, crlf.pdf), which are written
byte by byte here with computed offsets. Every file except encrypted.pdf and
truncated.pdf is checked with `qpdf --check` before the script exits.

PKIDIR is the output of make_pki.sh (ec256.key.pem, ec256.cert.pem, chain.pem
are used to pre-sign presigned.pdf).

Needs: qpdf, python packages pikepdf and pyhanko (scripts/test-deps.sh).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, String

# ----------------------------------------------------------------- helpers --


def qpdf(*args: str) -> None:
    """Run qpdf; exit code 3 (warnings only) is accepted."""
    r = subprocess.run(["qpdf", *args], capture_output=True, text=True)
    if r.returncode not in (0, 3):
        sys.exit(f"qpdf {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")


def qpdf_check(path: Path, *extra: str) -> str:
    r = subprocess.run(["qpdf", "--check", *extra, str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"qpdf --check {path.name} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def helvetica(pdf: pikepdf.Pdf, base: str = "Helvetica") -> pikepdf.Object:
    return pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name("/" + base), Encoding=Name.WinAnsiEncoding)
    )


def text_content(*lines: str, size: int = 18) -> bytes:
    out = [b"BT", f"/F1 {size} Tf".encode(), b"72 770 Td", f"{size + 6} TL".encode()]
    for line in lines:
        esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        out.append(f"({esc}) Tj T*".encode("latin-1"))
    out.append(b"ET")
    return b"\n".join(out) + b"\n"


def new_doc(title: str, pages: list[list[str]]) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    font = helvetica(pdf)
    for lines in pages:
        page = pdf.add_blank_page(page_size=(595, 842))
        page.obj.Resources = Dictionary(Font=Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(text_content(*lines))
    pdf.docinfo = pdf.make_indirect(Dictionary(Title=String(title), Producer=String("signd make_corpus.py (pikepdf)")))
    return pdf


def save(pdf: pikepdf.Pdf, path: Path, **kw) -> None:
    kw.setdefault("deterministic_id", True)
    pdf.save(path, **kw)


# ------------------------------------------------ hand-written PDF writer --


class HandPdf:
    """Minimal byte-level PDF writer for files no tool produces on request.

    Offsets in xref tables are relative to the start of the header, which is
    what readers expect; `eol` is used for every line, including the 20-byte
    xref entries (which then end in "\\r\\n" or " \\n").
    """

    def __init__(self, eol: bytes = b"\n", data: bytes = b""):
        self.eol = eol
        self.buf = bytearray(data)
        self.offsets: dict[int, int] = {}

    def line(self, s: bytes | str = b"") -> None:
        if isinstance(s, str):
            s = s.encode("latin-1")
        self.buf += s + self.eol

    def header(self, version: str) -> None:
        self.line(f"%PDF-{version}")
        self.line(b"%\xe2\xe3\xcf\xd3")

    def obj(self, num: int, body: bytes | str) -> None:
        if isinstance(body, str):
            body = body.encode("latin-1")
        self.offsets[num] = len(self.buf)
        self.line(f"{num} 0 obj")
        self.line(body)
        self.line(b"endobj")

    def stream(self, num: int, dict_entries: str, data: bytes) -> None:
        self.offsets[num] = len(self.buf)
        self.line(f"{num} 0 obj")
        self.line(f"<< {dict_entries} /Length {len(data)} >>")
        self.line(b"stream")
        self.buf += data
        self.line(b"")  # EOL before endstream (not counted in /Length)
        self.line(b"endstream")
        self.line(b"endobj")

    def entry(self, offset: int, gen: int, kind: str) -> bytes:
        tail = self.eol if len(self.eol) == 2 else b" " + self.eol
        e = f"{offset:010d} {gen:05d} {kind}".encode() + tail
        assert len(e) == 20, e
        return e

    def xref_table(self, nums: list[int], with_free_head: bool = True) -> int:
        """Writes an `xref` section for object 0 (free head) + `nums`.
        Returns its offset."""
        start = len(self.buf)
        self.line(b"xref")
        entries: list[tuple[int, bytes]] = []
        if with_free_head:
            entries.append((0, self.entry(0, 65535, "f")))
        for n in sorted(nums):
            entries.append((n, self.entry(self.offsets[n], 0, "n")))
        # group into contiguous subsections
        i = 0
        while i < len(entries):
            j = i
            while j + 1 < len(entries) and entries[j + 1][0] == entries[j][0] + 1:
                j += 1
            self.line(f"{entries[i][0]} {j - i + 1}")
            for _, e in entries[i : j + 1]:
                self.buf += e
            i = j + 1
        return start

    def trailer(self, entries: str, xref_offset: int) -> None:
        self.line(b"trailer")
        self.line(f"<< {entries} >>")
        self.line(b"startxref")
        self.line(str(xref_offset))
        self.line(b"%%EOF")

    def bytes(self) -> bytes:
        return bytes(self.buf)


def page_objects(w: HandPdf, text: str, eol: bytes) -> None:
    """Objects 1-5: catalog, pages, page, content, font."""
    w.obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
    w.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    w.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
             "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>")
    w.stream(4, "", eol.join([b"BT", b"/F1 24 Tf", b"72 720 Td", f"({text}) Tj".encode(), b"ET"]) + eol)
    w.obj(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")


def make_crlf(path: Path) -> None:
    eol = b"\r\n"
    w = HandPdf(eol)
    w.header("1.7")
    page_objects(w, "CRLF line endings throughout", eol)
    xref = w.xref_table([1, 2, 3, 4, 5])
    w.trailer("/Size 6 /Root 1 0 R", xref)
    data = w.bytes()
    # Every line ends in CRLF: no bare LF or bare CR anywhere.
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF in crlf.pdf"
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR in crlf.pdf"
    path.write_bytes(data)


def make_hybrid(path: Path) -> None:
    """Base revision with a classic xref table, then an incremental update in
    the style of Word's "hybrid-reference" files: the update's classic table
    lists the uncompressed objects and its trailer's /XRefStm points to an
    xref stream indexing objects that live in an object stream (here a new
    version of the page, object 3, and a new font, object 7). A PDF 1.4
    reader that ignores /XRefStm still sees the base revision's page."""
    eol = b"\n"
    w = HandPdf(eol)
    w.header("1.7")
    page_objects(w, "Hybrid file, base revision (seen by PDF 1.4 readers)", eol)
    base_xref = w.xref_table([1, 2, 3, 4, 5])
    w.trailer("/Size 6 /Root 1 0 R", base_xref)

    # --- update: object stream 6 holding objects 3 (page) and 7 (font)
    obj3 = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 5 0 R /F2 7 0 R >> >> /Contents 8 0 R >>")
    obj7 = b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"
    first_part = b""
    body = b""
    for num, o in ((3, obj3), (7, obj7)):
        first_part += f"{num} {len(body)} ".encode()
        body += o + b"\n"
    first_part = first_part.rstrip() + b"\n"
    objstm_data = first_part + body
    packed = zlib.compress(objstm_data)
    w.stream(6, f"/Type /ObjStm /N 2 /First {len(first_part)} /Filter /FlateDecode", packed)
    content = b"BT\n/F2 20 Tf\n72 720 Td\n(Hybrid file, updated revision) Tj\n0 -30 Td\n" \
              b"(page object lives in an object stream) Tj\nET\n"
    w.stream(8, "", content)
    # xref stream 9: /W [1 4 2]; entries for 3 and 7 (type 2: objstm 6, index)
    rows = bytes([2]) + (6).to_bytes(4, "big") + (0).to_bytes(2, "big")
    rows += bytes([2]) + (6).to_bytes(4, "big") + (1).to_bytes(2, "big")
    w.stream(9, "/Type /XRef /Size 10 /W [1 4 2] /Index [3 1 7 1]", rows)
    xrefstm_off = w.offsets[9]
    upd_xref = w.xref_table([6, 8, 9])
    w.trailer(f"/Size 10 /Root 1 0 R /Prev {base_xref} /XRefStm {xrefstm_off}", upd_xref)
    path.write_bytes(w.bytes())


# ------------------------------------------------------------ pyHanko bits --


def pyhanko_sign(src: Path, dst: Path, pki: Path, field: str) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load(
        str(pki / "ec256.key.pem"), str(pki / "ec256.cert.pem"), ca_chain_files=(str(pki / "chain.pem"),)
    )
    if signer is None:
        sys.exit(f"pyHanko could not load the ec256 key/cert from {pki}")
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        subfilter=fields.SigSeedSubFilter.PADES,  # ETSI.CAdES.detached, PAdES B-B
        md_algorithm="sha256",
        reason="Pre-signed corpus document",
        location="signd tests",
    )
    with src.open("rb") as inf:
        w = IncrementalPdfFileWriter(inf)
        out = io.BytesIO()
        signers.sign_pdf(
            w, meta, signer=signer, output=out,
            new_field_spec=fields.SigFieldSpec(sig_field_name=field, on_page=0, box=(72, 560, 272, 610)),
        )
    dst.write_bytes(out.getvalue())


def pyhanko_empty_field(src: Path, dst: Path, name: str) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    with src.open("rb") as inf:
        w = IncrementalPdfFileWriter(inf)
        fields.append_signature_field(w, fields.SigFieldSpec(sig_field_name=name, on_page=0, box=(72, 480, 272, 530)))
        out = io.BytesIO()
        w.write(out)
    dst.write_bytes(out.getvalue())


def pyhanko_replace_content(src: Path, dst: Path, text: str) -> None:
    """Incremental update (pyHanko's writer) giving page 1 a new content stream."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    with src.open("rb") as inf:
        w = IncrementalPdfFileWriter(inf)
        page_ref = w.root["/Pages"].raw_get("/Kids")[0]
        page = page_ref.get_object()
        stream = generic.StreamObject(stream_data=text_content(text, size=24))
        page["/Contents"] = w.add_object(stream)
        w.update_container(page)
        out = io.BytesIO()
        w.write(out)
    dst.write_bytes(out.getvalue())


# -------------------------------------------------------------- form doc --


def make_forms(path: Path) -> None:
    pdf = new_doc("50 pages with an AcroForm",
                  [[f"Page {i} of 50", "Multi-page document with form fields"] for i in range(1, 51)])
    helv = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica,
                                        Encoding=Name.WinAnsiEncoding))
    fields = []

    def text_field(page_idx: int, name: str, value: str, rect: list[int]) -> None:
        page = pdf.pages[page_idx]
        w, h = rect[2] - rect[0], rect[3] - rect[1]
        esc = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ap = pdf.make_stream(
            f"/Tx BMC q BT /Helv 12 Tf 0 g 2 {h / 2 - 4:.1f} Td ({esc}) Tj ET Q EMC\n".encode("latin-1"),
            Type=Name.XObject, Subtype=Name.Form, BBox=Array([0, 0, w, h]),
            Resources=Dictionary(Font=Dictionary(Helv=helv)),
        )
        field = pdf.make_indirect(Dictionary(
            Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=String(name), V=String(value),
            DA=String("/Helv 12 Tf 0 g"), Rect=Array(rect), F=4, P=page.obj,
            AP=Dictionary(N=ap), MK=Dictionary(BC=Array([0, 0, 0])),
        ))
        if Name.Annots not in page.obj:
            page.obj.Annots = pdf.make_indirect(Array())
        page.obj.Annots.append(field)
        fields.append(field)

    text_field(0, "name", "Jan Novak", [72, 600, 372, 624])
    text_field(0, "city", "Praha", [72, 560, 372, 584])
    text_field(1, "notes", "Second page field", [72, 600, 472, 624])
    pdf.Root.AcroForm = pdf.make_indirect(Dictionary(
        Fields=Array(fields), DA=String("/Helv 0 Tf 0 g"), DR=Dictionary(Font=Dictionary(Helv=helv)),
    ))
    save(pdf, path)


# -------------------------------------------------------------------- main --

_JUNK = b"X-Junk: bytes that mail gateways and scanners prepend before the header"
JUNK_PREFIX = _JUNK + b"." * (98 - len(_JUNK)) + b"\r\n"
assert len(JUNK_PREFIX) == 100 and b"%PDF" not in JUNK_PREFIX


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--pki", type=Path, required=True, help="directory written by make_pki.sh")
    args = ap.parse_args()
    out: Path = args.outdir
    pki: Path = args.pki
    for f in ("ec256.key.pem", "ec256.cert.pem", "chain.pem"):
        if not (pki / f).is_file():
            sys.exit(f"missing {pki / f}: run make_pki.sh {pki} first")
    if shutil.which("qpdf") is None:
        sys.exit("qpdf not found: run scripts/test-deps.sh")
    out.mkdir(parents=True, exist_ok=True)

    made: list[str] = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)

        # classic.pdf: pikepdf, then qpdf rewrites it with a classic xref table
        # (uncompressed content so tests can find the page text).
        base = tmp / "base.pdf"
        save(new_doc("classic xref table", [["signd interop corpus: classic.pdf",
                                             "One page, classic cross-reference table."]]),
             base, compress_streams=False)
        qpdf("--object-streams=disable", "--compress-streams=n", "--deterministic-id",
             str(base), str(out / "classic.pdf"))
        made.append("classic.pdf")

        # objstm.pdf: object streams + cross-reference stream
        base_o = tmp / "base-objstm.pdf"
        save(new_doc("object streams", [["signd interop corpus: objstm.pdf",
                                         "Object streams and a cross-reference stream."]]), base_o)
        qpdf("--object-streams=generate", "--deterministic-id", str(base_o), str(out / "objstm.pdf"))
        made.append("objstm.pdf")

        # linearized.pdf (3 pages so the hint tables mean something)
        base_l = tmp / "base-lin.pdf"
        save(new_doc("linearized", [[f"signd interop corpus: linearized.pdf, page {i}"] for i in (1, 2, 3)]), base_l)
        qpdf("--linearize", "--deterministic-id", str(base_l), str(out / "linearized.pdf"))
        made.append("linearized.pdf")

        # multipage-forms.pdf
        make_forms(out / "multipage-forms.pdf")
        made.append("multipage-forms.pdf")

        # presigned.pdf: pyHanko PAdES B-B signature in field "Existing"
        pyhanko_sign(out / "classic.pdf", out / "presigned.pdf", pki, "Existing")
        made.append("presigned.pdf")

        # empty-field.pdf: empty signature field "Sig1" (pyHanko)
        pyhanko_empty_field(out / "classic.pdf", out / "empty-field.pdf", "Sig1")
        made.append("empty-field.pdf")

        # hybrid.pdf: classic table + /XRefStm (hand-written)
        make_hybrid(out / "hybrid.pdf")
        made.append("hybrid.pdf")

        # prefixed.pdf: 100 junk bytes before %PDF-, offsets relative to header
        (out / "prefixed.pdf").write_bytes(JUNK_PREFIX + (out / "classic.pdf").read_bytes())
        made.append("prefixed.pdf")

        # crlf.pdf: hand-written, CRLF everywhere, 20-byte xref entries
        make_crlf(out / "crlf.pdf")
        made.append("crlf.pdf")

        # incremental.pdf: classic.pdf + two incremental updates (classic
        # tables chained by /Prev) that each replace page 1's content
        step1 = tmp / "inc1.pdf"
        pyhanko_replace_content(out / "classic.pdf", step1, "incremental.pdf: revision 2")
        pyhanko_replace_content(step1, out / "incremental.pdf", "incremental.pdf: revision 3")
        made.append("incremental.pdf")

        # pdf20.pdf: header %PDF-2.0
        base_20 = tmp / "base-20.pdf"
        save(new_doc("PDF 2.0", [["signd interop corpus: pdf20.pdf", "Header %PDF-2.0."]]), base_20)
        qpdf("--force-version=2.0", "--object-streams=disable", "--deterministic-id", str(base_20), str(out / "pdf20.pdf"))
        made.append("pdf20.pdf")

        # encrypted.pdf: AES-256, user password "user", owner password "owner"
        qpdf("--encrypt", "user", "owner", "256", "--", str(out / "classic.pdf"), str(out / "encrypted.pdf"))
        made.append("encrypted.pdf")

        # truncated.pdf: first half of classic.pdf (must be rejected)
        c = (out / "classic.pdf").read_bytes()
        (out / "truncated.pdf").write_bytes(c[: len(c) // 2])
        made.append("truncated.pdf")

    # ---------------------------------------------------------- self-checks --
    for name in made:
        p = out / name
        if name == "truncated.pdf":
            continue
        if name == "encrypted.pdf":
            qpdf_check(p, "--password=user")
            continue
        qpdf_check(p)

    def data(n: str) -> bytes:
        return (out / n).read_bytes()

    assert re.search(rb"\nxref\s", data("classic.pdf")) and b"/ObjStm" not in data("classic.pdf")
    assert b"/ObjStm" in data("objstm.pdf") and b"/XRef" in data("objstm.pdf")
    assert b"/Linearized" in data("linearized.pdf")[:1024]
    assert data("pdf20.pdf").startswith(b"%PDF-2.0")
    assert data("prefixed.pdf")[100:105] == b"%PDF-"
    assert b"/XRefStm" in data("hybrid.pdf")
    assert data("incremental.pdf").count(b"%%EOF") == 3
    assert b"/Encrypt" in data("encrypted.pdf")
    with pikepdf.open(out / "multipage-forms.pdf") as pdf:
        assert len(pdf.pages) == 50 and len(pdf.Root.AcroForm.Fields) == 3
    with pikepdf.open(out / "hybrid.pdf") as pdf:
        assert "/F2" in pdf.pages[0].Resources.Font, "hybrid: updated page not resolved via /XRefStm"

    for name in made:
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
