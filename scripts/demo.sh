#!/usr/bin/env bash
# The README's quick start: build signd, create a data directory with the embedded TSA, make a demo
# signer certificate (openssl), sign the sample contract at PAdES B-T and verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "demo needs openssl (apt-get install openssl)"; exit 1; }
swift build --product signd
BIN=.build/debug/signd
DATA=${SIGND_DATA_DIR:-./var}
DEMO="$DATA/demo"
mkdir -p "$DEMO"
if [ ! -f "$DEMO/signer.pem" ]; then
  umask 077
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=signd demo root" -keyout "$DEMO/root.key" -out "$DEMO/root.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Demo Signer/O=signd demo/C=CZ" \
    -keyout "$DEMO/signer.key" -out "$DEMO/signer.csr" 2>/dev/null
  printf 'keyUsage=critical,digitalSignature,nonRepudiation\n' > "$DEMO/ext.cnf"
  openssl x509 -req -in "$DEMO/signer.csr" -CA "$DEMO/root.pem" -CAkey "$DEMO/root.key" -CAcreateserial \
    -days 30 -extfile "$DEMO/ext.cnf" -out "$DEMO/signer.pem" 2>/dev/null
fi
"$BIN" init --data-dir "$DATA"
"$BIN" sign samples/contract.pdf -o "$DEMO/contract-signed.pdf" --key "$DEMO/signer.key" --cert "$DEMO/signer.pem" \
  --reason "Demo approval" --location "Prague" --level B-T --data-dir "$DATA"
"$BIN" verify "$DEMO/contract-signed.pdf" --trust "$DEMO/root.pem" --data-dir "$DATA"
