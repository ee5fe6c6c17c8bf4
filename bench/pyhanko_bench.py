#!/usr/bin/env python3
"""pyHanko counterpart of signd-bench, for context in docs/performance.md (in-process API).

    pyhanko_bench.py many --dir DIR --key K --cert C [--chain CH] [--count N] [--fsync]
    pyhanko_bench.py one --input F --output O --key K --cert C [--chain CH] [--fsync]

Same JSON as signd-bench. Signs PAdES (ETSI.CAdES.detached, SHA-256) as an incremental update
with pyhanko.sign.signers.sign_pdf, writing to a real file opened w+b (pyHanko then hashes the
byte range by reading the output back instead of buffering the document in memory). The key,
certificate and chain are loaded once, outside the timed region. signd fsyncs every output
before renaming it; pass --fsync to make pyHanko do the same (os.fsync before close).
"""
import argparse
import json
import math
import os
import sys
import time

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers


def peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1.0


def percentile(sorted_values, p):
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def load_signer(args):
    chain = (args.chain,) if args.chain else None
    return signers.SimpleSigner.load(args.key, args.cert, ca_chain_files=chain)


META = signers.PdfSignatureMetadata(
    field_name="Signature1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES)


def sign_file(signer, inp, out, fsync):
    with open(inp, "rb") as inf, open(out, "w+b") as outf:
        writer = IncrementalPdfFileWriter(inf)
        signers.sign_pdf(writer, META, signer=signer, output=outf)
        if fsync:
            outf.flush()
            os.fsync(outf.fileno())


def many(args):
    signer = load_signer(args)
    names = sorted(n for n in os.listdir(args.dir) if n.lower().endswith(".pdf"))
    if args.count:
        names = names[: args.count]
    out_dir = os.path.join(args.dir, "out-pyhanko")
    os.makedirs(out_dir, exist_ok=True)
    per_doc = []
    start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        sign_file(signer, os.path.join(args.dir, name), os.path.join(out_dir, name), args.fsync)
        per_doc.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - start
    per_doc.sort()
    return {
        "docs": len(names),
        "seconds": round(total, 3),
        "docsPerSecond": round(len(names) / total, 1),
        "msPerDocP50": round(percentile(per_doc, 50), 3),
        "msPerDocP95": round(percentile(per_doc, 95), 3),
        "peakRSSMiB": round(peak_rss_mib(), 1),
    }


def one(args):
    signer = load_signer(args)
    size = os.path.getsize(args.input)
    start = time.perf_counter()
    sign_file(signer, args.input, args.output, args.fsync)
    total = time.perf_counter() - start
    return {
        "seconds": round(total, 3),
        "bytes": size,
        "MBperSecond": round(size / 1e6 / total, 1),
        "peakRSSMiB": round(peak_rss_mib(), 1),
    }


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("many", "one"):
        s = sub.add_parser(name)
        s.add_argument("--key", required=True)
        s.add_argument("--cert", required=True)
        s.add_argument("--chain")
        s.add_argument("--fsync", action="store_true")
        if name == "many":
            s.add_argument("--dir", required=True)
            s.add_argument("--count", type=int)
        else:
            s.add_argument("--input", required=True)
            s.add_argument("--output", required=True)
    args = p.parse_args()
    print(json.dumps(many(args) if args.cmd == "many" else one(args)))


if __name__ == "__main__":
    sys.exit(main())
