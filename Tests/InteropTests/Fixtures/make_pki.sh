#!/usr/bin/env bash
# make_pki.sh OUTDIR — builds a throw-away test PKI with openssl.
#
#   root.pem / root.key.pem                  Test Root CA (P-256, self-signed)
#   intermediate.pem / intermediate.key.pem  Test Intermediate CA (P-256, under root)
#   chain.pem                                intermediate then root
#   <name>.key.pem (PKCS#8) + <name>.cert.pem for signers issued by the
#       intermediate: ec256 ec384 rsa2048 rsa3072 rsa4096
#       (keyUsage critical digitalSignature,nonRepudiation)
#   ec256.sec1.pem       SEC1 copy of ec256's key ("BEGIN EC PRIVATE KEY")
#   rsa2048.pkcs1.pem    PKCS#1 copy of rsa2048's key ("BEGIN RSA PRIVATE KEY")
#   nokeyusage.key.pem / nokeyusage.cert.pem   signer with keyUsage keyEncipherment only
#   untrusted-root.pem / untrusted-root.key.pem  a second, unrelated root CA
#   untrusted.key.pem / untrusted.cert.pem     EC signer issued by untrusted-root
#   <name>.p12   PKCS#12 bundle (key + cert + chain, password "test") for each signer
#   nssdb/       NSS database trusting root.pem, for `pdfsig -nssdir sql:OUTDIR/nssdb`
#                (only when certutil from libnss3-tools is installed)
#
# File names are fixed; re-running regenerates every file (new keys, new
# serials). Validity: notBefore one day ago, two years.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT="$1"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export CADIR="$WORK" # referenced by openssl.cnf; overridden per issuing CA

# Dates: ASN.1 GeneralizedTime-ish strings accepted by `openssl x509 -not_before`
# (OpenSSL >= 3.4) are not available on OpenSSL 3.0, so use `openssl ca`, which
# accepts -startdate/-enddate on every 3.x version.
START="$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)"
END="$(date -u -d '1 day ago + 2 years' +%Y%m%d%H%M%SZ)"

# --------------------------------------------------------------- helpers ---
genkey() { # genkey SPEC OUT.key.pem  (PKCS#8, unencrypted)
    local spec="$1" out="$2"
    case "$spec" in
        ec256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out "$out" ;;
        ec384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:named_curve -out "$out" ;;
        rsa*)  openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${spec#rsa}" -out "$out" ;;
        *) echo "unknown key spec $spec" >&2; exit 1 ;;
    esac 2>/dev/null
}

# ca_db NAME: a minimal `openssl ca` database for one issuing CA
ca_db() {
    local d="$WORK/$1"
    mkdir -p "$d/new"
    : >"$d/index.txt"
    echo "unique_subject = no" >"$d/index.txt.attr"
    # random 16-byte serial, first bit cleared so it is positive
    openssl rand -hex 16 | sed 's/^./1/' >"$d/serial"
}

cat >"$WORK/openssl.cnf" <<'EOF'
[ ca ]
default_ca = CA_default

[ CA_default ]
dir              = $ENV::CADIR
database         = $dir/index.txt
new_certs_dir    = $dir/new
serial           = $dir/serial
default_md       = sha256
policy           = policy_any
copy_extensions  = none
email_in_dn      = no
unique_subject   = no
preserve         = yes

[ policy_any ]
countryName            = optional
stateOrProvinceName    = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied
emailAddress           = optional

[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_intermediate ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_signer ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_nokeyusage ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, keyEncipherment
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF
CNF="$WORK/openssl.cnf"

# issue CA_NAME CA_CERT CA_KEY KEY SUBJECT EXT OUTCERT [selfsign]
issue() {
    local ca="$1" cacert="$2" cakey="$3" key="$4" subj="$5" ext="$6" out="$7" self="${8:-}"
    local csr="$WORK/req.csr"
    openssl req -new -config "$CNF" -key "$key" -subj "$subj" -out "$csr"
    local args=(-batch -config "$CNF" -notext -in "$csr" -out "$out"
        -startdate "$START" -enddate "$END" -extensions "$ext" -md sha256)
    if [ -n "$self" ]; then
        args+=(-selfsign -keyfile "$key")
    else
        args+=(-cert "$cacert" -keyfile "$cakey")
    fi
    CADIR="$WORK/$ca" openssl ca "${args[@]}" 2>"$WORK/ca.log" || { cat "$WORK/ca.log" >&2; exit 1; }
}

# ---------------------------------------------------------------- CAs ---
ca_db root
genkey ec256 "$OUT/root.key.pem"
issue root "" "" "$OUT/root.key.pem" "/C=CZ/O=signd tests/CN=signd Test Root CA" v3_root "$OUT/root.pem" selfsign

ca_db intermediate
genkey ec256 "$OUT/intermediate.key.pem"
issue root "$OUT/root.pem" "$OUT/root.key.pem" "$OUT/intermediate.key.pem" \
    "/C=CZ/O=signd tests/CN=signd Test Intermediate CA" v3_intermediate "$OUT/intermediate.pem"

cat "$OUT/intermediate.pem" "$OUT/root.pem" >"$OUT/chain.pem"

# ------------------------------------------------------------- signers ---
signer() { # signer NAME KEYSPEC CN EXT
    local name="$1" spec="$2" cn="$3" ext="$4"
    genkey "$spec" "$OUT/$name.key.pem"
    issue intermediate "$OUT/intermediate.pem" "$OUT/intermediate.key.pem" "$OUT/$name.key.pem" \
        "/C=CZ/O=signd tests/CN=$cn" "$ext" "$OUT/$name.cert.pem"
}
signer ec256   ec256   "Test Signer EC256"   v3_signer
signer ec384   ec384   "Test Signer EC384"   v3_signer
signer rsa2048 rsa2048 "Test Signer RSA2048" v3_signer
signer rsa3072 rsa3072 "Test Signer RSA3072" v3_signer
signer rsa4096 rsa4096 "Test Signer RSA4096" v3_signer
signer nokeyusage ec256 "Test Signer No KeyUsage" v3_nokeyusage

# Alternate encodings of the same keys.
openssl pkey -in "$OUT/ec256.key.pem" -traditional -out "$OUT/ec256.sec1.pem"
openssl pkey -in "$OUT/rsa2048.key.pem" -traditional -out "$OUT/rsa2048.pkcs1.pem"
grep -q -- '-----BEGIN EC PRIVATE KEY-----' "$OUT/ec256.sec1.pem"
grep -q -- '-----BEGIN RSA PRIVATE KEY-----' "$OUT/rsa2048.pkcs1.pem"

# ------------------------------------------------------------ untrusted ---
ca_db untrusted-root
genkey ec256 "$OUT/untrusted-root.key.pem"
issue untrusted-root "" "" "$OUT/untrusted-root.key.pem" \
    "/C=CZ/O=signd tests untrusted/CN=Untrusted Root CA" v3_root "$OUT/untrusted-root.pem" selfsign
genkey ec256 "$OUT/untrusted.key.pem"
issue untrusted-root "$OUT/untrusted-root.pem" "$OUT/untrusted-root.key.pem" "$OUT/untrusted.key.pem" \
    "/C=CZ/O=signd tests untrusted/CN=Untrusted Signer EC256" v3_signer "$OUT/untrusted.cert.pem"

# --------------------------------------------------------------- PKCS#12 ---
for n in ec256 ec384 rsa2048 rsa3072 rsa4096 nokeyusage; do
    openssl pkcs12 -export -passout pass:test -inkey "$OUT/$n.key.pem" -in "$OUT/$n.cert.pem" \
        -certfile "$OUT/chain.pem" -name "$n" -out "$OUT/$n.p12"
done
openssl pkcs12 -export -passout pass:test -inkey "$OUT/untrusted.key.pem" -in "$OUT/untrusted.cert.pem" \
    -certfile "$OUT/untrusted-root.pem" -name untrusted -out "$OUT/untrusted.p12"

# ---------------------------------------------------------------- checks ---
for n in ec256 ec384 rsa2048 rsa3072 rsa4096 nokeyusage; do
    openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/chain.pem" "$OUT/$n.cert.pem" >/dev/null
    # key matches certificate
    [ "$(openssl pkey -in "$OUT/$n.key.pem" -pubout)" = "$(openssl x509 -in "$OUT/$n.cert.pem" -noout -pubkey)" ]
done
openssl verify -CAfile "$OUT/untrusted-root.pem" "$OUT/untrusted.cert.pem" >/dev/null
if openssl verify -CAfile "$OUT/root.pem" "$OUT/untrusted.cert.pem" >/dev/null 2>&1; then
    echo "untrusted signer unexpectedly verifies against root.pem" >&2
    exit 1
fi

# ------------------------------------------------------------ NSS trust ---
# pdfsig (poppler) trusts what is in an NSS database: nssdb/ trusts root.pem
# only (so a signature must carry the intermediate itself).
#   pdfsig -nssdir sql:OUTDIR/nssdb signed.pdf  -> "Certificate is Trusted."
rm -rf "$OUT/nssdb"
if command -v certutil >/dev/null 2>&1; then
    mkdir -p "$OUT/nssdb"
    certutil -N -d "sql:$OUT/nssdb" --empty-password
    certutil -A -d "sql:$OUT/nssdb" -n "signd Test Root CA" -t "C,C,C" -i "$OUT/root.pem"
else
    echo "note: certutil (libnss3-tools) not found; no nssdb/ for pdfsig" >&2
fi

rm -f "$OUT"/*.srl
echo "PKI written to $OUT"
