#!/usr/bin/env python3
"""openssl_tsa.py WORKDIR — an RFC 3161 TSA that signd did not write, for interop tests.

On start it creates, with the openssl CLI, in WORKDIR:

  tsaroot.pem / tsaroot.key     "OpenSSL Test TSA Root" (P-256, self-signed CA)
  tsa.pem / tsa.key             P-256 TSA certificate, EKU critical timeStamping
  tsa-rsa.key                   RSA-2048 key for the pyHanko modes below
  tsa-rsa.pem                   its certificate, EKU critical timeStamping
  tsa-rsa-noncritical.pem       its certificate, EKU timeStamping NOT critical
  tsa.cnf                       the OpenSSL TSA configuration (section tsa_default)

then serves HTTP on 127.0.0.1 (an ephemeral port) and prints "PORT <n>" on one line.

Every POST (any path) with Content-Type application/timestamp-query is answered with
Content-Type application/timestamp-reply. Query parameters:

  mode=openssl (default)  `openssl ts -reply -config tsa.cnf -section tsa_default`
                          (ECDSA, ESS signing-certificate v1, accuracy, ordering, tsa name)
  mode=pyhanko            pyHanko's DummyTimeStamper with tsa-rsa.pem (critical EKU)
  mode=noncritical        pyHanko's DummyTimeStamper with tsa-rsa-noncritical.pem: OpenSSL
                          refuses to sign with a TSA certificate whose EKU is not critical
                          (TS_RESP_CTX_set_signer_cert: invalid signer certificate purpose),
                          so this mode uses pyHanko's independent TSA implementation.
  delay=SECONDS           sleep before answering (timeouts)

The server exits when its parent process (or $OPENSSL_TSA_PARENT_PID) goes away, so a crashed
test run leaves nothing behind.
"""
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

WORK = os.path.abspath(sys.argv[1])
os.makedirs(WORK, exist_ok=True)
LOCK = threading.Lock()


def p(name):
    return os.path.join(WORK, name)


def run(*args, stdin=None):
    res = subprocess.run(list(args), input=stdin, capture_output=True)
    if res.returncode != 0:
        sys.stderr.write("command failed: %s\n%s\n" % (" ".join(args), res.stderr.decode(errors="replace")))
        raise SystemExit(1)
    return res.stdout


def make_pki():
    with open(p("ext.cnf"), "w") as f:
        f.write("""[ tsa_critical ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ tsa_noncritical ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
""")
    run("openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", p("tsaroot.key"), "-out", p("tsaroot.pem"), "-subj", "/O=OpenSSL interop/CN=OpenSSL Test TSA Root",
        "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash")

    def leaf(keyfile, keyspec, cn, ext, out, serial):
        if not os.path.exists(p(keyfile)):
            run("openssl", "genpkey", "-algorithm", keyspec[0], "-pkeyopt", keyspec[1], "-out", p(keyfile))
        run("openssl", "req", "-new", "-key", p(keyfile), "-subj", "/O=OpenSSL interop/CN=" + cn, "-out", p(out + ".csr"))
        run("openssl", "x509", "-req", "-in", p(out + ".csr"), "-CA", p("tsaroot.pem"), "-CAkey", p("tsaroot.key"),
            "-set_serial", str(serial), "-days", "30", "-sha256", "-extfile", p("ext.cnf"), "-extensions", ext,
            "-out", p(out))

    leaf("tsa.key", ("EC", "ec_paramgen_curve:P-256"), "OpenSSL Test TSA", "tsa_critical", "tsa.pem", 2)
    leaf("tsa-rsa.key", ("RSA", "rsa_keygen_bits:2048"), "pyHanko Test TSA", "tsa_critical", "tsa-rsa.pem", 3)
    leaf("tsa-rsa.key", ("RSA", "rsa_keygen_bits:2048"), "pyHanko Test TSA non-critical EKU", "tsa_noncritical",
         "tsa-rsa-noncritical.pem", 4)

    with open(p("tsa.cnf"), "w") as f:
        f.write("""[ tsa ]
default_tsa = tsa_default

[ tsa_default ]
serial                 = {serial}
crypto_device          = builtin
signer_cert            = {cert}
certs                  = {root}
signer_key             = {key}
signer_digest          = sha256
default_policy         = 1.3.6.1.4.1.99999.77.1
other_policies         = 1.3.6.1.4.1.99999.77.2
digests                = sha256, sha384, sha512
accuracy               = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 0
ordering               = yes
tsa_name               = yes
ess_cert_id_chain      = no
ess_cert_id_alg        = sha1
""".format(serial=p("serial"), cert=p("tsa.pem"), root=p("tsaroot.pem"), key=p("tsa.key")))
    with open(p("serial"), "w") as f:
        f.write("01\n")


def pyhanko_reply(query, cert_file):
    from asn1crypto import keys, pem, tsp, x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    def load(path):
        data = open(path, "rb").read()
        return pem.unarmor(data)[2] if pem.detect(data) else data

    cert = x509.Certificate.load(load(cert_file))
    root = x509.Certificate.load(load(p("tsaroot.pem")))
    key = keys.PrivateKeyInfo.load(load(p("tsa-rsa.key")))
    stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key, certs_to_embed=[root])
    return stamper.request_tsa_response(tsp.TimeStampReq.load(query)).dump()


def openssl_reply(query):
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        q, r = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
        with open(q, "wb") as f:
            f.write(query)
        with LOCK:  # the serial file
            res = subprocess.run(["openssl", "ts", "-reply", "-config", p("tsa.cnf"), "-section", "tsa_default",
                                  "-queryfile", q, "-out", r], capture_output=True)
        if res.returncode != 0 or not os.path.exists(r):
            raise RuntimeError(res.stderr.decode(errors="replace"))
        with open(r, "rb") as f:
            return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send(200, "text/plain", b"ok\n")

    def do_POST(self):
        params = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        delay = float(params.get("delay", ["0"])[0])
        if delay > 0:
            time.sleep(delay)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/timestamp-query":
            self.send(415, "text/plain", b"expected application/timestamp-query\n")
            return
        mode = params.get("mode", ["openssl"])[0]
        try:
            if mode == "openssl":
                reply = openssl_reply(query)
            elif mode == "pyhanko":
                reply = pyhanko_reply(query, p("tsa-rsa.pem"))
            elif mode == "noncritical":
                reply = pyhanko_reply(query, p("tsa-rsa-noncritical.pem"))
            else:
                self.send(400, "text/plain", b"unknown mode\n")
                return
        except Exception as e:  # noqa: BLE001 - report to the client
            sys.stderr.write("reply failed: %s\n" % e)
            self.send(500, "text/plain", str(e).encode())
            return
        self.send(200, "application/timestamp-reply", reply)


def watch_parent(parent):
    while True:
        try:
            os.kill(parent, 0)
        except OSError:
            os._exit(0)
        if os.getppid() == 1:
            os._exit(0)
        time.sleep(0.5)


def main():
    parent = int(os.environ.get("OPENSSL_TSA_PARENT_PID", os.getppid()))
    make_pki()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=watch_parent, args=(parent,), daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
