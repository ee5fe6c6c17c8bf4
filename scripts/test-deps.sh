#!/usr/bin/env bash
# Installs the external tools the interop tests need. Idempotent and fast when
# everything is already present: it checks first and installs only what is
# missing ('apt-get update' runs only when a Debian package must be installed).
#
#   Debian: poppler-utils (pdfsig), qpdf, openssl, libnss3-tools (certutil),
#           zlib1g-dev, libsqlite3-dev,
#           python3-pip (only when python3 has no working pip)
#   PyPI:   pyhanko, pyhanko-cli, pikepdf
#
# Tests should call pyHanko as `python3 -m pyhanko ...` (works regardless of
# whether the `pyhanko` entry point is on PATH); the script still makes sure
# the `pyhanko` command resolves (pyenv shims are rehashed) and reports where
# it is otherwise.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
log() { printf 'test-deps: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- Debian ---
missing_deb=()
deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
need_deb() { # need_deb PACKAGE [COMMAND-THAT-MUST-EXIST]
    local pkg="$1" cmd="${2:-}"
    if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then return 0; fi
    deb_installed "$pkg" || missing_deb+=("$pkg")
}
need_deb poppler-utils pdfsig
need_deb qpdf qpdf
need_deb openssl openssl
need_deb libnss3-tools certutil   # NSS trust db so pdfsig reports "Certificate is Trusted."
need_deb zlib1g-dev
need_deb libsqlite3-dev
need_deb sqlite3 sqlite3             # sqlite3 shell: DaemonTests tamper with the audit database
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    need_deb python3-pip
fi

if [ "${#missing_deb[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing_deb[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_deb[@]}" >/dev/null
fi

# ------------------------------------------------------------------ PyPI ---
py_ok() {
    # pyhanko.cli is what `python3 -m pyhanko` runs (pyhanko/__main__.py).
    "$PYTHON" -c 'import pikepdf, pyhanko.sign, pyhanko_certvalidator, pyhanko.cli' >/dev/null 2>&1
}
if ! py_ok; then
    log "installing PyPI packages: pyhanko pyhanko-cli pikepdf"
    # --break-system-packages is only understood (and only needed) by a pip
    # that refuses to touch an "externally managed" system python.
    extra=()
    if "$PYTHON" -c 'import sys, sysconfig, os; p=os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"); sys.exit(0 if os.path.exists(p) else 1)'; then
        extra+=(--break-system-packages)
    fi
    "$PYTHON" -m pip install -q --disable-pip-version-check "${extra[@]}" pyhanko pyhanko-cli pikepdf
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
    hash -r
    if ! py_ok || ! "$PYTHON" -m pyhanko --help >/dev/null 2>&1; then
        log "ERROR: pyhanko/pikepdf still not importable or 'python3 -m pyhanko' fails"
        exit 1
    fi
fi

# The `pyhanko` console script (from pyhanko-cli). Not required by the tests
# (they use `python3 -m pyhanko`), but report where it is if not on PATH.
if ! command -v pyhanko >/dev/null 2>&1; then
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; hash -r; fi
fi
if ! command -v pyhanko >/dev/null 2>&1; then
    bindir="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    if [ -x "$bindir/pyhanko" ]; then
        log "note: 'pyhanko' is not on PATH; it is at $bindir/pyhanko (use 'python3 -m pyhanko')"
    else
        log "note: no 'pyhanko' command found; use 'python3 -m pyhanko'"
    fi
fi

if [ "${1:-}" = "-v" ] || [ "${1:-}" = "--verbose" ]; then
    log "qpdf: $(qpdf --version | head -n1)"
    log "pdfsig: $(pdfsig -v 2>&1 | head -n1)"
    log "openssl: $(openssl version)"
    log "python: $("$PYTHON" --version 2>&1)"
    log "$("$PYTHON" -c 'import pikepdf, pyhanko.version as v; print("pikepdf", pikepdf.__version__, "/ pyhanko", v.__version__)')"
fi
exit 0
