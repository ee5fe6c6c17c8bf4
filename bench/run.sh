#!/usr/bin/env bash
# bench/run.sh — signd benchmarks (`make bench`). See docs/performance.md.
#
# Builds release, makes a throw-away PKI and inputs under bench/out/ (gitignored), then measures:
#   many   in-process signing of BENCH_DOCS small one-page PDFs (docs/s, per-doc p50/p95, peak RSS)
#   large  in-process signing of one BENCH_LARGE_MB MiB PDF under /usr/bin/time -v
#          (seconds, MB/s, peak RSS), against `sha256sum` of the same file
#          and the baselines openssl dgst -sha256, signd-bench hash (read + hash only) and
#          dd conv=fsync (copy + fsync only)
#   cli    `signd sign` of one small doc, process start included (hyperfine, or a loop of 20)
#   pyhanko  the same workloads through pyHanko's API, for context (skipped if not installed)
#
# Environment:
#   BENCH_DOCS=1000             small documents to sign
#   BENCH_LARGE_MB=1024         size of the large document, MiB
#   BENCH_KEY=ec256             signer from make_pki.sh (ec256 ec384 rsa2048 rsa3072 rsa4096)
#   BENCH_PYHANKO=auto          1 = require pyHanko, 0 = skip, auto = run if importable
#   BENCH_PYHANKO_DOCS=$BENCH_DOCS, BENCH_PYHANKO_LARGE_MB=$BENCH_LARGE_MB
#   BENCH_SKIP_BUILD=1          use the existing release build
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/bench/out"
DOCS="${BENCH_DOCS:-1000}"
LARGE_MB="${BENCH_LARGE_MB:-1024}"
KEY_NAME="${BENCH_KEY:-ec256}"
PYHANKO="${BENCH_PYHANKO:-auto}"
PYHANKO_DOCS="${BENCH_PYHANKO_DOCS:-$DOCS}"
PYHANKO_LARGE_MB="${BENCH_PYHANKO_LARGE_MB:-$LARGE_MB}"
PY="${PYTHON:-python3}"

log() { printf '\n== %s\n' "$*" >&2; }
now() { date +%s.%N; }
# jget FILE KEY: one field of a JSON object
jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# calc EXPR: float arithmetic
calc() { "$PY" -c "print(round($1, 3))"; }
# time_v LOG CMD...: runs CMD under /usr/bin/time -v (report in LOG), stdout passes through
time_v() { local logf="$1"; shift; /usr/bin/time -v -o "$logf" "$@"; }
# maxrss_mib LOG: "Maximum resident set size" of a /usr/bin/time -v report, MiB
maxrss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' "$1"; }

cd "$ROOT"
mkdir -p "$OUT"

# ------------------------------------------------------------------ tools ---
apt_install() {
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }) || true
    fi
}
[ -x /usr/bin/time ] || { log "installing GNU time"; apt_install time; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time (GNU time) is required" >&2; exit 1; }
command -v hyperfine >/dev/null 2>&1 || { log "installing hyperfine (optional)"; apt_install hyperfine; }

# ------------------------------------------------------------------ build ---
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "building release (signd-bench, signd)"
    swift build -c release --product signd-bench
    swift build -c release --product signd
fi
BIN="$(swift build -c release --show-bin-path)"
BENCH="$BIN/signd-bench"
SIGND="$BIN/signd"
[ -x "$BENCH" ] && [ -x "$SIGND" ] || { echo "bench: release binaries missing in $BIN" >&2; exit 1; }

# -------------------------------------------------------------------- PKI ---
PKI="$OUT/pki"
if [ ! -f "$PKI/$KEY_NAME.key.pem" ]; then
    log "generating test PKI in $PKI"
    bash "$ROOT/Tests/InteropTests/Fixtures/make_pki.sh" "$PKI" >/dev/null
fi
KEY="$PKI/$KEY_NAME.key.pem"
CERT="$PKI/$KEY_NAME.cert.pem"
CHAIN="$PKI/chain.pem"
SIGNARGS=(--key "$KEY" --cert "$CERT" --chain "$CHAIN")

# ------------------------------------------------------------ small docs ---
MANY="$OUT/many"
log "generating $DOCS small documents in $MANY"
rm -rf "$MANY"
"$PY" "$ROOT/bench/make_inputs.py" many "$MANY" "$DOCS"
sync # do not make the first fsyncs of the run pay for the generator's dirty pages

log "signd: signing $DOCS documents in-process"
"$BENCH" many --dir "$MANY" "${SIGNARGS[@]}" | tee "$OUT/signd-many.json"

log "signd: signing $DOCS documents in-process at B-T (embedded TSA, in-process)"
rm -rf "$OUT/bt-data"
"$BENCH" many --dir "$MANY" "${SIGNARGS[@]}" --bt "$OUT/bt-data" | tee "$OUT/signd-many-bt.json"

# ----------------------------------------------------------------- CLI ---
SMALL="$MANY/doc-00000.pdf"
SMALL_OUT="$OUT/cli-signed.pdf"
CLI_RUNS=20
CLI_CMD="$SIGND sign $SMALL -o $SMALL_OUT --key $KEY --cert $CERT --chain $CHAIN"
log "signd CLI: one small document, process start included"
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 3 --runs "$CLI_RUNS" --export-json "$OUT/cli.json" "$CLI_CMD" >&2
    CLI_MS="$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f ± %.1f" % (r["mean"]*1000, r["stddev"]*1000))' "$OUT/cli.json")"
    CLI_HOW="hyperfine, $CLI_RUNS runs"
else
    $CLI_CMD >/dev/null # warm-up
    t0="$(now)"
    for _ in $(seq "$CLI_RUNS"); do $CLI_CMD >/dev/null; done
    t1="$(now)"
    CLI_MS="$(calc "($t1 - $t0) * 1000 / $CLI_RUNS")"
    CLI_HOW="shell loop, mean of $CLI_RUNS runs"
fi
echo "signd sign (CLI): $CLI_MS ms ($CLI_HOW)" >&2

# ------------------------------------------------------------ large doc ---
# make_large MB: path of a cached large input of MB MiB (generated once)
make_large() {
    local f="$OUT/large-$1MiB.pdf"
    if [ ! -f "$f" ]; then
        log "generating $1 MiB document $f"
        "$PY" "$ROOT/bench/make_inputs.py" large "$f" "$1"
        sync
    fi
    echo "$f"
}
LARGE="$(make_large "$LARGE_MB")"
LARGE_OUT="$OUT/large-signed.pdf"
rm -f "$LARGE_OUT"

log "warming the page cache (cat > /dev/null)"
cat "$LARGE" >/dev/null

log "sha256sum of the large document"
t0="$(now)"
time_v "$OUT/sha256sum.time" sha256sum "$LARGE" >&2
t1="$(now)"
SHA_S="$(calc "$t1 - $t0")"
SHA_RSS="$(maxrss_mib "$OUT/sha256sum.time")"

log "openssl dgst -sha256 of the large document (SHA-NI accelerated, like signd's BoringSSL)"
t0="$(now)"; openssl dgst -sha256 "$LARGE" >&2; t1="$(now)"
OSSL_S="$(calc "$t1 - $t0")"

log "copy + fsync of the large document (dd conv=fsync): the I/O signd does besides hashing"
t0="$(now)"; dd if="$LARGE" of="$OUT/copy.tmp" bs=1M conv=fsync status=none; t1="$(now)"
COPY_S="$(calc "$t1 - $t0")"
rm -f "$OUT/copy.tmp"

log "signd-bench hash: read + SHA-256 as the signer does, no parsing or writing"
"$BENCH" hash --input "$LARGE" | tee "$OUT/signd-hash.json"

log "signd: signing the large document in-process"
time_v "$OUT/signd-one.time" "$BENCH" one --input "$LARGE" --output "$LARGE_OUT" "${SIGNARGS[@]}" | tee "$OUT/signd-one.json"
ONE_S="$(jget "$OUT/signd-one.json" seconds)"
ONE_MBS="$(jget "$OUT/signd-one.json" MBperSecond)"
ONE_RSS="$(maxrss_mib "$OUT/signd-one.time")"
HASH_S="$(jget "$OUT/signd-hash.json" seconds)"
RATIO="$(calc "$ONE_S / $SHA_S")"
LARGE_BYTES="$(stat -c %s "$LARGE")"
rm -f "$LARGE_OUT"

# -------------------------------------------------------------- pyHanko ---
PH_ROWS=""
if [ "$PYHANKO" = auto ]; then
    if "$PY" -c 'import pyhanko' 2>/dev/null; then PYHANKO=1; else PYHANKO=0; echo "pyHanko not installed; skipping" >&2; fi
fi
if [ "$PYHANKO" = 1 ]; then
    log "pyHanko: signing $PYHANKO_DOCS documents in-process (fsync like signd)"
    "$PY" "$ROOT/bench/pyhanko_bench.py" many --dir "$MANY" --count "$PYHANKO_DOCS" --fsync "${SIGNARGS[@]}" | tee "$OUT/pyhanko-many.json"
    PH_LARGE="$(make_large "$PYHANKO_LARGE_MB")"
    PH_OUT="$OUT/large-signed-pyhanko.pdf"
    rm -f "$PH_OUT"
    cat "$PH_LARGE" >/dev/null
    log "pyHanko: signing the $PYHANKO_LARGE_MB MiB document in-process (fsync like signd)"
    time_v "$OUT/pyhanko-one.time" "$PY" "$ROOT/bench/pyhanko_bench.py" one --input "$PH_LARGE" --output "$PH_OUT" --fsync "${SIGNARGS[@]}" | tee "$OUT/pyhanko-one.json"
    rm -f "$PH_OUT"
    PH_VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("pyHanko"))')"
    PH_CLI_CMD="$PY -m pyhanko sign addsig --field Signature1 --use-pades pemder --key $KEY --cert $CERT --chain $CHAIN --no-pass $SMALL $OUT/cli-signed-pyhanko.pdf"
    log "pyHanko CLI: one small document, process start included"
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine -N --warmup 1 --runs 10 --export-json "$OUT/pyhanko-cli.json" "$PH_CLI_CMD" >&2
        PH_CLI_MS="$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f ± %.1f" % (r["mean"]*1000, r["stddev"]*1000))' "$OUT/pyhanko-cli.json")"
        PH_CLI_HOW="hyperfine, 10 runs"
    else
        t0="$(now)"; for _ in $(seq 5); do $PH_CLI_CMD >/dev/null; done; t1="$(now)"
        PH_CLI_MS="$(calc "($t1 - $t0) * 1000 / 5")"
        PH_CLI_HOW="shell loop, mean of 5 runs"
    fi
    PH_ROWS="$(cat <<EOF
| pyHanko $PH_VERSION API: small docs/s ($(jget "$OUT/pyhanko-many.json" docs) docs) | $(jget "$OUT/pyhanko-many.json" docsPerSecond) |
| pyHanko API: per-doc ms p50 / p95 | $(jget "$OUT/pyhanko-many.json" msPerDocP50) / $(jget "$OUT/pyhanko-many.json" msPerDocP95) |
| pyHanko API: peak RSS, small docs (MiB) | $(jget "$OUT/pyhanko-many.json" peakRSSMiB) |
| pyHanko CLI: one small doc, ms ($PH_CLI_HOW) | $PH_CLI_MS |
| pyHanko API: ${PYHANKO_LARGE_MB} MiB doc, seconds | $(jget "$OUT/pyhanko-one.json" seconds) |
| pyHanko API: ${PYHANKO_LARGE_MB} MiB doc, MB/s | $(jget "$OUT/pyhanko-one.json" MBperSecond) |
| pyHanko API: ${PYHANKO_LARGE_MB} MiB doc, peak RSS (MiB, time -v) | $(maxrss_mib "$OUT/pyhanko-one.time") |
EOF
)"
fi

# ---------------------------------------------------------------- table ---
{
    echo "signd benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), key $KEY_NAME + chain, SHA-256"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| measure | value |"
    echo "|---|---|"
    echo "| signd API: small docs/s ($(jget "$OUT/signd-many.json" docs) docs) | $(jget "$OUT/signd-many.json" docsPerSecond) |"
    echo "| signd API: per-doc ms p50 / p95 | $(jget "$OUT/signd-many.json" msPerDocP50) / $(jget "$OUT/signd-many.json" msPerDocP95) |"
    echo "| signd API, B-T (embedded TSA): small docs/s | $(jget "$OUT/signd-many-bt.json" docsPerSecond) |"
    echo "| signd API, B-T: per-doc ms p50 / p95 | $(jget "$OUT/signd-many-bt.json" msPerDocP50) / $(jget "$OUT/signd-many-bt.json" msPerDocP95) |"
    echo "| signd API: peak RSS, small docs (MiB) | $(jget "$OUT/signd-many.json" peakRSSMiB) |"
    echo "| signd CLI: one small doc, ms ($CLI_HOW) | $CLI_MS |"
    echo "| large doc size (bytes) | $LARGE_BYTES |"
    echo "| signd API: ${LARGE_MB} MiB doc, seconds | $ONE_S |"
    echo "| signd API: ${LARGE_MB} MiB doc, MB/s | $ONE_MBS |"
    echo "| signd API: ${LARGE_MB} MiB doc, peak RSS (MiB, time -v) | $ONE_RSS |"
    echo "| sha256sum: ${LARGE_MB} MiB doc, seconds (peak RSS MiB) | $SHA_S ($SHA_RSS) |"
    echo "| ratio signd seconds / sha256sum seconds | $RATIO |"
    echo "| openssl dgst -sha256: ${LARGE_MB} MiB doc, seconds | $OSSL_S |"
    echo "| signd-bench hash (FileByteSource read + SHA-256 only), seconds | $HASH_S |"
    echo "| dd copy + fsync: ${LARGE_MB} MiB doc, seconds | $COPY_S |"
    [ -z "$PH_ROWS" ] || echo "$PH_ROWS"
} | tee "$OUT/results.md"
