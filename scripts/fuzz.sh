#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets (Fuzz/, Sources/FuzzTargets) with the fuzzer and address
# sanitizers, runs each for FUZZ_SECONDS and copies every crash, timeout or out-of-memory input into
# the regression corpus Tests/FuzzRegressionTests/Corpus/<target>/ (as base64 text, *.b64), which `make test` replays
# (FuzzRegressionTests). docs/testing.md, "Fuzzing", has the numbers of the long runs.
#
#   FUZZ_SECONDS=60          time budget per target
#   FUZZ_TARGETS="pdf-reader cms-tsp manifest"
#   FUZZ_RSS_MB=2048         libFuzzer -rss_limit_mb (and -malloc_limit_mb): a "memory blow-up"
#   FUZZ_TIMEOUT=10          libFuzzer -timeout, seconds for one input: a "hang"
#   FUZZ_ARGS=...            more libFuzzer flags (e.g. -jobs, -seed=1)
#   FUZZ_NO_BUILD=1          reuse the binaries in .build-fuzz
#
# Exit status 1 when a target found something (the new files are listed and already in the corpus).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SWIFT=${SWIFT:-swift}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-pdf-reader cms-tsp manifest}
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}
SCRATCH=$ROOT/.build-fuzz
WORK=$SCRATCH/fuzz
REGRESSION=$ROOT/Tests/FuzzRegressionTests/Corpus
SEEDS=$ROOT/Tests/FuzzRegressionTests/Seeds

product() {
    case $1 in
        pdf-reader) echo PDFReaderFuzzer ;;
        cms-tsp) echo CMSTSPFuzzer ;;
        manifest) echo ManifestFuzzer ;;
        *) echo "unknown fuzz target '$1' (pdf-reader, cms-tsp, manifest)" >&2; exit 2 ;;
    esac
}

build() {
    # SwiftPM links executables with their own entry point, so the targets keep a @main that hands
    # over to libFuzzer's LLVMFuzzerRunDriver when built with -DFUZZING (Fuzz/*/ *.swift).
    "$SWIFT" build -c debug --scratch-path "$SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product "$1"
}

# CMS and RFC 3161 vectors made by openssl (the committed *.b64 seeds were made the same way).
openssl_seeds() {
    local out=$1 tmp
    command -v openssl >/dev/null || return 0
    tmp=$(mktemp -d)
    (
        set -e
        cd "$tmp"
        printf 'fuzz seed content\n' > data.txt
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.pem \
            -subj "/CN=fuzz signer" -days 3650 -addext "extendedKeyUsage=critical,timeStamping" 2>/dev/null
        openssl cms -sign -binary -in data.txt -signer ec.pem -inkey ec.key -md sha256 -outform DER -out "$out/cms-signed-attrs.der"
        openssl cms -sign -binary -in data.txt -signer ec.pem -inkey ec.key -md sha256 -noattr -nocerts -outform DER -out "$out/cms-noattr-nocerts.der"
        openssl cms -sign -binary -nodetach -in data.txt -signer ec.pem -inkey ec.key -md sha384 -outform DER -out "$out/cms-attached.der"
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key 2>/dev/null
        openssl req -x509 -key rsa.key -out rsa.pem -subj "/CN=fuzz rsa" -days 3650 2>/dev/null
        openssl cms -sign -binary -in data.txt -signer rsa.pem -inkey rsa.key -md sha256 -keyopt rsa_padding_mode:pss -outform DER -out "$out/cms-rsa-pss.der"
        openssl ts -query -data data.txt -sha256 -cert -out "$out/tsp-request.der" 2>/dev/null
        printf '%s\n' '[ tsa ]' 'default_tsa = tsa_config' '[ tsa_config ]' 'serial = ./serial' \
            'signer_cert = ./ec.pem' 'signer_key = ./ec.key' 'signer_digest = sha256' 'default_policy = 1.2.3.4.1' \
            'digests = sha256, sha384' 'accuracy = secs:1, millisecs:500, microsecs:100' 'ordering = yes' \
            'tsa_name = yes' 'ess_cert_id_alg = sha256' > tsa.cnf
        echo 01 > serial
        openssl ts -reply -config tsa.cnf -queryfile "$out/tsp-request.der" -out "$out/tsp-response.der" 2>/dev/null
        openssl ts -reply -config tsa.cnf -queryfile "$out/tsp-request.der" -token_out -out "$out/tsp-token.der" 2>/dev/null
        openssl cms -verify -noverify -binary -inform DER -in "$out/tsp-token.der" -out "$out/tsp-tstinfo.der" 2>/dev/null
        openssl ts -query -data data.txt -sha1 -no_nonce -out sha1.tsq 2>/dev/null
        openssl ts -reply -config tsa.cnf -queryfile sha1.tsq -out "$out/tsp-response-rejected.der" 2>/dev/null
    ) || echo "warning: openssl could not make all CMS/TSP seeds; the committed ones are used" >&2
    rm -rf "$tmp"
}

# Copies the inputs in committed directory $1 into $2, decoding the base64 ones (*.b64).
decode_dir() {
    local f
    mkdir -p "$2"
    for f in "$1"/*; do
        [ -f "$f" ] || continue
        case $f in
            */README.md) ;;
            *.b64) base64 -d "$f" > "$2/$(basename "${f%.b64}")" ;;
            *) cp "$f" "$2/" ;;
        esac
    done
}

# Committed seeds and regression inputs plus, for cms-tsp, fresh openssl vectors.
prepare_seeds() {
    local target=$1 out=$2
    rm -rf "$out"; mkdir -p "$out"
    decode_dir "$SEEDS/$target" "$out/seeds"
    decode_dir "$REGRESSION/$target" "$out/regression"
    if [ "$target" = cms-tsp ]; then
        mkdir -p "$out/openssl"
        openssl_seeds "$out/openssl"
    fi
}

status=0
for target in $TARGETS; do
    prod=$(product "$target")
    if [ -z "${FUZZ_NO_BUILD:-}" ]; then
        echo "== building $prod (.build-fuzz, -sanitize=fuzzer,address)"
        build "$prod" 2>&1 | grep -v "Cannot export local symbol"
        [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "error: building $prod failed" >&2; exit 2; }
    fi
    bin=$SCRATCH/debug/$prod
    [ -x "$bin" ] || { echo "error: $bin was not built" >&2; exit 2; }

    dir=$WORK/$target
    mkdir -p "$dir/corpus" "$dir/artifacts" "$REGRESSION/$target"
    prepare_seeds "$target" "$dir/seeds"
    dict=()
    [ "$target" = pdf-reader ] && dict=(-dict="$ROOT/Fuzz/pdf.dict")
    log=$dir/fuzz-$(date -u +%Y%m%dT%H%M%SZ).log
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s (log: $log)"
    before=$(ls "$dir/artifacts" | sort)
    # Swift traps (overflow, bounds) are SIGILL/SIGTRAP; without the Swift backtracer libFuzzer's own
    # handler reports them and saves the input. Leak checking is off: the Swift runtime's caches
    # look like leaks; unbounded memory is caught by the RSS and malloc limits instead.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1} \
        "$bin" "$dir/corpus" "$dir"/seeds/*/ "${dict[@]}" \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" \
        -timeout="$TIMEOUT" -max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
        ${FUZZ_ARGS:-} > "$log" 2>&1
    rc=$?
    grep -E "^#[0-9]+:?[[:space:]]+(DONE|INITED|cov:)|^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added|INFO: fuzzed for" "$log" | tail -n 6
    new=$(comm -13 <(echo "$before") <(ls "$dir/artifacts" | sort) | grep -E '^(crash|timeout|oom|leak)-' || true)
    if [ -n "$new" ]; then
        status=1
        echo "!! $target found:"
        for f in $new; do
            # Committed as base64 text (nothing binary is committed); the replay decodes it.
            base64 -w 76 "$dir/artifacts/$f" > "$REGRESSION/$target/$f.b64"
            echo "   Tests/FuzzRegressionTests/Corpus/$target/$f.b64"
        done
        grep -m1 -E "Swift runtime failure|Fatal error|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY" "$log" || true
    elif [ $rc -ne 0 ]; then
        status=1
        echo "!! $target: libFuzzer exited with $rc without an artifact; see $log"
    fi
done
exit $status
