#!/usr/bin/env bash
# bench/daemon_bench.sh — end-to-end throughput of the signd daemon (`signd run`) through the spool.
# See docs/performance.md, "Daemon throughput".
#
# Makes a throw-away data dir (signd init: KEK, embedded CA + TSA), a simulated device registered
# and enrolled for a cloud certificate (as scripts/demo.sh does), then:
#   stream-bb   DAEMON_STREAM_JOBS small jobs at B-B dropped into incoming/ while the daemon runs,
#               in a steady stream of DAEMON_DROP_RATE jobs/s
#   stream-bt   the same at B-T (embedded TSA, in-process)
#   slow-bb     DAEMON_SLOW_JOBS B-B jobs at DAEMON_SLOW_RATE jobs/s (below capacity: latency without queueing)
#   queued-bb   DAEMON_QUEUED_JOBS B-B jobs put into incoming/ before the daemon starts
#   queued-bt   the same at B-T (embedded TSA, in-process)
#   pyhanko     bench/pyhanko_bench.py over the same DAEMON_STREAM_JOBS PDFs (ECDSA P-256 + chain,
#               fsync), for the ratio daemon jobs/s ÷ pyHanko docs/s
# Jobs (PDF + v1 manifest with a device-signature authorization) are made in-process by
# bench/daemon_jobs.py with the device simulator's key, checked against the shape of one manifest
# printed by `signd device-sim manifest`; a few jobs also go through `signd submit` as a check.
#
# Per stream run: drop-to-result latency (mtime of done/<job>.result.json − the drop time) p50/p95/p99,
# jobs/s from the first drop to the last result, daemon peak RSS (VmHWM from /proc/<pid>/status,
# sampled until the last result) and daemon CPU seconds. Queued run: daemon start → last result.
#
# Environment:
#   DAEMON_STREAM_JOBS=1000  DAEMON_QUEUED_JOBS=10000  DAEMON_DROP_RATE=200 (jobs/s)
#   DAEMON_SLOW_JOBS=200  DAEMON_SLOW_RATE=10
#   DAEMON_EXPIRES_IN=3600   authorization lifetime for the queued run (sca.maxLifetimeSeconds is
#                            raised to match in the bench's config file; the default is 300 s)
#   SIGND_BIN=path/to/release/signd (skips the build)
#   DAEMON_PYHANKO=auto (1/0)  DAEMON_SKIP_BUILD=1  DAEMON_RUNS="stream-bb stream-bt slow-bb queued-bb queued-bt pyhanko"
#   DAEMON_OUT=bench/out/daemon
#   DAEMON_METRICS_PORT=   a loopback port: the daemon listens there and its /metrics (the
#                          per-stage histograms) are saved as $OUT/metrics-<n>.txt before each stop
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${DAEMON_OUT:-$ROOT/bench/out/daemon}"
STREAM_JOBS="${DAEMON_STREAM_JOBS:-1000}"
QUEUED_JOBS="${DAEMON_QUEUED_JOBS:-10000}"
RATE="${DAEMON_DROP_RATE:-200}"
SLOW_JOBS="${DAEMON_SLOW_JOBS:-200}"
SLOW_RATE="${DAEMON_SLOW_RATE:-10}"
EXPIRES_IN="${DAEMON_EXPIRES_IN:-3600}"
PYHANKO="${DAEMON_PYHANKO:-auto}"
RUNS="${DAEMON_RUNS:-stream-bb stream-bt slow-bb queued-bb queued-bt pyhanko}"
PY="${PYTHON:-python3}"
HELPER="$ROOT/bench/daemon_jobs.py"
USER_ID=bench-user
DEVICE_ID=bench-phone

log() { printf '\n== %s\n' "$*" >&2; }
jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
want() { case " $RUNS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

cd "$ROOT"
if [ -n "${SIGND_BIN:-}" ]; then
    SIGND="$SIGND_BIN"
else
    if [ "${DAEMON_SKIP_BUILD:-0}" != 1 ]; then
        log "building release signd"
        swift build -c release --product signd
    fi
    SIGND="$(swift build -c release --show-bin-path)/signd"
fi
[ -x "$SIGND" ] || { echo "daemon_bench: $SIGND missing" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
LISTEN=off
[ -n "${DAEMON_METRICS_PORT:-}" ] && LISTEN="127.0.0.1:$DAEMON_METRICS_PORT"
DATA="$OUT/data"
DEV="$OUT/device"
CONFIG="$OUT/signd.json"
# Defaults (docs/configuration.md) except the authorization lifetime, so that 10,000 queued jobs
# made before the daemon starts are still valid when their turn comes. No HTTP listener.
cat >"$CONFIG" <<EOF
{
  "spools": [{"name": "default", "documentTimeoutSeconds": 600}],
  "sca": {"maxLifetimeSeconds": $EXPIRES_IN, "clockSkewSeconds": 30, "maxFailures": 5},
  "http": {"listen": "$LISTEN"}
}
EOF

log "signd init, device-sim create, device register, enroll --cloud (data dir $DATA)"
"$SIGND" init --data-dir "$DATA" --config "$CONFIG" >/dev/null
"$SIGND" device-sim create --dir "$DEV" >/dev/null
"$SIGND" device register --device "$DEVICE_ID" --user "$USER_ID" --public-key "$DEV/device-public.pem" --data-dir "$DATA" >/dev/null
"$SIGND" enroll --cloud --user "$USER_ID" --device "$DEVICE_ID" --subject "CN=Bench User,serialNumber=$DEVICE_ID,C=CZ" --data-dir "$DATA" --config "$CONFIG" >/dev/null

log "generating $QUEUED_JOBS small PDFs (bench/make_inputs.py many)"
PDFS="$OUT/pdfs"
MAX_JOBS=$(( QUEUED_JOBS > STREAM_JOBS ? QUEUED_JOBS : STREAM_JOBS ))
"$PY" "$ROOT/bench/make_inputs.py" many "$PDFS" "$MAX_JOBS"
"$SIGND" device-sim manifest --dir "$DEV" --pdf "$PDFS/doc-00000.pdf" --job template --user "$USER_ID" --device "$DEVICE_ID" --level B-B >"$OUT/template.json"

# prepare LEVEL COUNT PREFIX STAGE [EXPIRES]
prepare() {
    "$PY" "$HELPER" prepare --device-dir "$DEV" --user "$USER_ID" --device "$DEVICE_ID" --pdfs "$PDFS" \
        --count "$2" --level "$1" --prefix "$3" --out "$4" --template "$OUT/template.json" --expires-in "${5:-300}" >&2
}

DAEMON=""
METRICS_N=0
stop_daemon() {
    if [ -n "$DAEMON" ]; then
        if [ -n "${DAEMON_METRICS_PORT:-}" ]; then
            METRICS_N=$((METRICS_N + 1))
            curl -fsS "http://127.0.0.1:$DAEMON_METRICS_PORT/metrics" >"$OUT/metrics-$METRICS_N.txt" 2>/dev/null || true
        fi
        kill -TERM "$DAEMON" 2>/dev/null || true
        wait "$DAEMON" 2>/dev/null || true
        DAEMON=""
    fi
}
trap stop_daemon EXIT

# start_daemon SPOOLROOT LOG: starts `signd run`, sets DAEMON and DAEMON_START (unix s)
start_daemon() {
    DAEMON_START="$(date +%s.%N)"
    "$SIGND" run --data-dir "$DATA" --config "$CONFIG" --spool-root "$1" --listen "$LISTEN" >"$2" 2>&1 &
    DAEMON=$!
}

# ------------------------------------------------ sanity: signd submit ---
log "sanity: 3 jobs through signd submit (B-T) and one through the helper, daemon running"
SANITY="$OUT/spool-sanity"
mkdir -p "$SANITY/default/incoming"
start_daemon "$SANITY" "$OUT/daemon-sanity.log"
for i in 0 1 2; do "$SIGND" submit "$PDFS/doc-0000$i.pdf" --device-dir "$DEV" --user "$USER_ID" --device "$DEVICE_ID" --spool-root "$SANITY" --level B-T >/dev/null; done
prepare B-T 1 sanity "$OUT/stage-sanity"
"$PY" "$HELPER" queue --stage "$OUT/stage-sanity" --incoming "$SANITY/default/incoming" >/dev/null
"$PY" "$HELPER" wait --done "$SANITY/default/done" --failed "$SANITY/default/failed" --count 4 --pid "$DAEMON" --timeout 60 --out "$OUT/sanity-wait.json" >&2
stop_daemon
if [ "$(jget "$OUT/sanity-wait.json" done)" != 4 ]; then
    echo "daemon_bench: sanity jobs did not all succeed:" >&2; cat "$SANITY"/default/failed/*.error.json >&2 || true; exit 1
fi
"$SIGND" ca certificate --data-dir "$DATA" --config "$CONFIG" | awk '/BEGIN/{n++} n==2' >"$OUT/ca-root.pem"
"$SIGND" verify "$SANITY/default/done/sanity-00000.pdf" --trust "$OUT/ca-root.pem" --data-dir "$DATA" >"$OUT/sanity-verify.txt" 2>&1 \
    || { echo "daemon_bench: verify of a helper-made job failed" >&2; cat "$OUT/sanity-verify.txt" >&2; exit 1; }

# ------------------------------------------------------- stream runs ---
# stream LEVEL NAME [JOBS RATE]
stream() {
    local level="$1" name="$2" spool="$OUT/spool-$2"
    local STREAM_JOBS="${3:-$STREAM_JOBS}" RATE="${4:-$RATE}"
    log "$name: $STREAM_JOBS jobs at $level dropped at $RATE jobs/s into a running daemon"
    mkdir -p "$spool/default/incoming"
    prepare "$level" "$STREAM_JOBS" "$name" "$OUT/stage-$name"
    sync
    start_daemon "$spool" "$OUT/daemon-$name.log"
    sleep 2 # start-up (databases, keys, TSA) is not part of the stream
    "$PY" "$HELPER" wait --done "$spool/default/done" --failed "$spool/default/failed" --count "$STREAM_JOBS" \
        --pid "$DAEMON" --timeout 900 --out "$OUT/$name-wait.json" >&2 &
    local waiter=$!
    "$PY" "$HELPER" drop --stage "$OUT/stage-$name" --incoming "$spool/default/incoming" --rate "$RATE" --log "$OUT/$name-drops.log" >&2
    wait "$waiter"
    cat /proc/loadavg >"$OUT/$name-loadavg.txt"
    stop_daemon
    "$PY" "$HELPER" report --drop-log "$OUT/$name-drops.log" --done "$spool/default/done" --failed "$spool/default/failed" \
        --wait "$OUT/$name-wait.json" --count "$STREAM_JOBS" --label "$name" --out "$OUT/$name.json" >&2
}
want stream-bb && stream B-B stream-bb
want stream-bt && stream B-T stream-bt
# Below capacity: latency without queueing.
want slow-bb && stream B-B slow-bb "$SLOW_JOBS" "$SLOW_RATE"

# -------------------------------------------------------- queued runs ---
# queued LEVEL NAME: QUEUED_JOBS jobs in incoming/ before the daemon starts
queued() {
    local level="$1" name="$2" spool="$OUT/spool-$2"
    log "$name: $QUEUED_JOBS $level jobs queued in incoming/ before the daemon starts (authorizations valid $EXPIRES_IN s)"
    mkdir -p "$spool/default/incoming"
    prepare "$level" "$QUEUED_JOBS" "$name" "$OUT/stage-$name" "$EXPIRES_IN"
    "$PY" "$HELPER" queue --stage "$OUT/stage-$name" --incoming "$spool/default/incoming" >&2
    sync
    start_daemon "$spool" "$OUT/daemon-$name.log"
    "$PY" "$HELPER" wait --done "$spool/default/done" --failed "$spool/default/failed" --count "$QUEUED_JOBS" \
        --pid "$DAEMON" --timeout "$EXPIRES_IN" --interval 0.5 --out "$OUT/$name-wait.json" >&2
    cat /proc/loadavg >"$OUT/$name-loadavg.txt"
    stop_daemon
    "$PY" "$HELPER" report --done "$spool/default/done" --failed "$spool/default/failed" --start "$DAEMON_START" \
        --wait "$OUT/$name-wait.json" --count "$QUEUED_JOBS" --label "$name" --out "$OUT/$name.json" >&2
}
want queued-bb && queued B-B queued-bb
want queued-bt && queued B-T queued-bt

# ----------------------------------------------------------- pyHanko ---
if want pyhanko; then
    if [ "$PYHANKO" = auto ]; then
        if "$PY" -c 'import pyhanko' 2>/dev/null; then PYHANKO=1; else PYHANKO=0; echo "pyHanko not installed; skipping" >&2; fi
    fi
    if [ "$PYHANKO" = 1 ]; then
        PKI="$ROOT/bench/out/pki"
        [ -f "$PKI/ec256.key.pem" ] || bash "$ROOT/Tests/InteropTests/Fixtures/make_pki.sh" "$PKI" >/dev/null
        PHDIR="$OUT/pyhanko-docs"
        mkdir -p "$PHDIR"
        for f in $(ls "$PDFS" | sort | head -n "$STREAM_JOBS"); do ln -f "$PDFS/$f" "$PHDIR/$f"; done
        log "pyHanko: signing the same $STREAM_JOBS PDFs in-process (ECDSA P-256 + chain, fsync)"
        "$PY" "$ROOT/bench/pyhanko_bench.py" many --dir "$PHDIR" --count "$STREAM_JOBS" --fsync \
            --key "$PKI/ec256.key.pem" --cert "$PKI/ec256.cert.pem" --chain "$PKI/chain.pem" | tee "$OUT/pyhanko.json" >&2
        cat /proc/loadavg >"$OUT/pyhanko-loadavg.txt"
    fi
fi

# ------------------------------------------------------------- table ---
{
    echo "signd daemon benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| run | jobs | done / failed | jobs/s | latency ms p50 / p95 / p99 (max) | daemon peak RSS MiB | daemon CPU s (user+sys) | load avg after |"
    echo "|---|---|---|---|---|---|---|---|"
    for name in stream-bb stream-bt slow-bb queued-bb queued-bt; do
        [ -f "$OUT/$name.json" ] || continue
        "$PY" - "$OUT/$name.json" "$OUT/$name-loadavg.txt" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1])); la = " ".join(open(sys.argv[2]).read().split()[:3])
lat = ("%s / %s / %s (%s)" % (r["msLatencyP50"], r["msLatencyP95"], r["msLatencyP99"], r["msLatencyMax"])
       if "msLatencyP50" in r else "start → last result %s s" % r["startToLastResultSeconds"])
cpu = "%.1f" % ((r["cpuUserSeconds"] or 0) + (r["cpuSystemSeconds"] or 0))
print(f"| {r['label']} | {r['jobs']} | {r['done']} / {r['failed']} | {r['jobsPerSecond']} | {lat} | {r['peakRSSMiB']} | {cpu} | {la} |")
PYEOF
    done
    if [ -f "$OUT/pyhanko.json" ]; then
        PH="$(jget "$OUT/pyhanko.json" docsPerSecond)"
        echo
        echo "pyHanko API, same $STREAM_JOBS PDFs: $PH docs/s (p50 $(jget "$OUT/pyhanko.json" msPerDocP50) ms, peak RSS $(jget "$OUT/pyhanko.json" peakRSSMiB) MiB)"
        for name in stream-bb stream-bt queued-bb queued-bt; do
            [ -f "$OUT/$name.json" ] || continue
            echo "ratio $name jobs/s ÷ pyHanko docs/s: $("$PY" -c "print(round($(jget "$OUT/$name.json" jobsPerSecond) / $PH, 1))")"
        done
    fi
} | tee "$OUT/results.md"
