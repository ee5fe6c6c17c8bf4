#!/usr/bin/env bash
# The README's quick start, end to end on embedded defaults (./var, ./spool):
#  1. signd init: KEK, embedded CA and TSA, databases;
#  2. a simulated phone (device-sim) is registered, and a cloud-mode signing certificate is
#     enrolled for it from the embedded CA;
#  3. the daemon runs; `signd submit` plays the orchestrator (PDF + manifest with an SCA
#     authorization signed by the phone); the daemon signs at PAdES B-T;
#  4. the result is verified, the audit chain checked; the daemon is stopped with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product signd
BIN=.build/debug/signd
DATA=${SIGND_DATA_DIR:-./var}
SPOOL=${SIGND_SPOOL_ROOT:-./spool}
DEV="$DATA/demo-device"

"$BIN" init --data-dir "$DATA"
if [ ! -f "$DEV/device-public.pem" ]; then
  "$BIN" device-sim create --dir "$DEV"
  "$BIN" device register --device demo-phone --user demo-user --public-key "$DEV/device-public.pem" --data-dir "$DATA"
  "$BIN" enroll --cloud --user demo-user --device demo-phone --subject "CN=Demo User,serialNumber=demo-phone,C=CZ" --data-dir "$DATA" >/dev/null
fi

"$BIN" run --data-dir "$DATA" --spool-root "$SPOOL" --listen 127.0.0.1:0 &
DAEMON=$!
trap 'kill -TERM $DAEMON 2>/dev/null || true' EXIT
JOB=$("$BIN" submit samples/contract.pdf --device-dir "$DEV" --user demo-user --device demo-phone --spool-root "$SPOOL" --level B-T)
echo "submitted job $JOB"
for _ in $(seq 1 100); do
  [ -f "$SPOOL/default/done/$JOB.result.json" ] || [ -f "$SPOOL/default/failed/$JOB.error.json" ] && break
  sleep 0.2
done
if [ -f "$SPOOL/default/failed/$JOB.error.json" ]; then cat "$SPOOL/default/failed/$JOB.error.json"; exit 1; fi
cat "$SPOOL/default/done/$JOB.result.json"; echo
"$BIN" ca certificate --data-dir "$DATA" | awk '/BEGIN/{n++} n==2' > "$DATA/ca-root.pem"
"$BIN" verify "$SPOOL/default/done/$JOB.pdf" --trust "$DATA/ca-root.pem" --data-dir "$DATA"
"$BIN" audit verify --data-dir "$DATA"
