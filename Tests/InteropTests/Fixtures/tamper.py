#!/usr/bin/env python3
"""tamper.py — make damaged copies of a signed PDF for negative tests.

  tamper.py flip IN OUT [OFFSET_FRACTION]
      Flips one byte inside the signed range of the LAST signature's
      /ByteRange, always in the first segment [a, a+b), never inside /Contents.
      The byte is taken from stream data (page content, fonts, ...) lying in
      that segment, OFFSET_FRACTION (0..1, default 0.5) of the way through it;
      if the segment holds no stream data, the regular (non-delimiter) byte
      nearest OFFSET_FRACTION of the way through the segment. The /ByteRange
      array and the header line are never touched.
      Prints the offset flipped and the old/new byte.
  tamper.py append IN OUT
      Appends junk bytes after the final %%EOF (not a valid update).
  tamper.py change-content IN OUT
      Appends a proper incremental update (pyHanko's IncrementalPdfFileWriter;
      pikepdf cannot save incrementally) giving page 1 a new content stream,
      i.e. a later revision that changes visible content after signing. The
      update uses an xref stream if the file's last section does, else a
      classic table.

Exit status 0 on success, 2 on usage errors, 1 if IN has no signature.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

BYTERANGE_RE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
DELIMS = set(b"()<>[]{}/%") | set(b" \t\r\n\f\x00")


def last_byterange(data: bytes) -> tuple[int, int, int, int, tuple[int, int]]:
    matches = list(BYTERANGE_RE.finditer(data))
    if not matches:
        sys.stderr.write("tamper.py: no /ByteRange found\n")
        sys.exit(1)
    m = matches[-1]
    a, b, c, d = (int(x) for x in m.groups())
    return a, b, c, d, (m.start(), m.end())


def stream_spans(data: bytes, lo: int, hi: int) -> list[tuple[int, int]]:
    """(start, end) of stream data regions lying within [lo, hi)."""
    spans = []
    for m in re.finditer(rb"(?<!end)stream(\r\n|\n)", data):
        s = m.end()
        e = data.find(b"endstream", s)
        if e < 0:
            break
        s, e = max(s, lo), min(e, hi)
        if s < e:
            spans.append((s, e))
    return spans


def pick_flip_offset(data: bytes, fraction: float) -> int:
    """Offset of the byte to flip: the byte at `fraction` of the way through
    the stream data lying in the first signed segment; without stream data
    there, the regular (non-delimiter, non-whitespace) byte nearest to
    `fraction` of the way through the segment."""
    a, b, c, d, (br_s, br_e) = last_byterange(data)
    fraction = min(max(fraction, 0.0), 1.0)
    # first segment [a, a+b), minus the header line and the 2 bytes before
    # the /Contents hex string that starts at a+b
    lo = max(a, data.find(b"\n", a) + 1)
    hi = a + b - 2
    if hi <= lo:
        sys.exit("tamper.py: signed range too small")

    def ok(i: int) -> bool:
        return lo <= i < hi and not (br_s <= i < br_e)

    cands = [i for s, e in stream_spans(data, lo, hi) for i in range(s, e) if ok(i) and data[i] not in DELIMS]
    if cands:
        return cands[min(int(len(cands) * fraction), len(cands) - 1)]
    target = lo + int((hi - lo - 1) * fraction)
    for dist in range(0, hi - lo):
        for i in (target + dist, target - dist):
            if ok(i) and data[i] not in DELIMS:
                return i
    sys.exit("tamper.py: found no byte to flip")


def flip(src: Path, dst: Path, fraction: float) -> None:
    data = bytearray(src.read_bytes())
    off = pick_flip_offset(bytes(data), fraction)
    old = data[off]
    new = old ^ 0x01
    if new in DELIMS:  # keep it a regular character
        new = old ^ 0x02
    data[off] = new
    dst.write_bytes(bytes(data))
    print(f"flipped offset {off}: {old:#04x} -> {new:#04x}")


def append(src: Path, dst: Path) -> None:
    data = src.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    data += b"% junk appended after %%EOF by tamper.py\nJUNKJUNKJUNK\n"
    dst.write_bytes(data)
    print(f"appended junk after offset {len(src.read_bytes())}")


def change_content(src: Path, dst: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    with src.open("rb") as inf:
        w = IncrementalPdfFileWriter(inf, strict=False)
        page_ref = w.root["/Pages"].raw_get("/Kids")[0]
        page = page_ref.get_object()
        content = (b"BT /F_tamper 28 Tf 72 400 Td (CONTENT CHANGED AFTER SIGNING) Tj ET\n")
        res = page.get("/Resources")
        if isinstance(res, generic.IndirectObject):
            res = res.get_object()
        new_res = generic.DictionaryObject(dict(res) if res is not None else {})
        fonts = new_res.get("/Font")
        if isinstance(fonts, generic.IndirectObject):
            fonts = fonts.get_object()
        fonts = generic.DictionaryObject(dict(fonts) if fonts is not None else {})
        fonts[generic.NameObject("/F_tamper")] = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        })
        new_res[generic.NameObject("/Font")] = fonts
        page[generic.NameObject("/Resources")] = new_res
        page[generic.NameObject("/Contents")] = w.add_object(generic.StreamObject(stream_data=content))
        w.update_container(page)
        out = io.BytesIO()
        w.write(out)
    dst.write_bytes(out.getvalue())
    print(f"appended incremental update replacing page 1 content ({len(out.getvalue()) - src.stat().st_size} bytes)")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("flip", "append", "change-content"):
        sys.stderr.write(__doc__)
        return 2
    cmd, src, dst = argv[0], Path(argv[1]), Path(argv[2])
    if cmd == "flip":
        fraction = float(argv[3]) if len(argv) > 3 else 0.5
        flip(src, dst, fraction)
    elif cmd == "append":
        append(src, dst)
    else:
        change_content(src, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
