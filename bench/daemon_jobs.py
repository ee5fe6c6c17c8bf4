#!/usr/bin/env python3
"""Helper for bench/daemon_bench.sh: makes spool jobs in-process and measures daemon runs.

    daemon_jobs.py prepare --device-dir D --user U --device V --pdfs DIR --count N --level B-B|B-T
                           --out STAGE [--expires-in S] [--template MANIFEST.json] [--prefix P]
        For each of the first N PDFs of DIR (sorted), writes STAGE/<job>.pdf and STAGE/<job>.json:
        a v1 cloud-mode manifest with a device-signature authorization signed with the simulated
        device's P-256 key (device-key.pem), exactly as `signd device-sim manifest` makes it
        (SignManifest.swift canonicalBytes, DER ECDSA/SHA-256), but without a process per job.
        --template is a manifest printed by `signd device-sim manifest`: its shape is reused, so
        the helper fails loudly if the format drifts.

    daemon_jobs.py drop --stage STAGE --incoming DIR --rate R --log LOG
        Moves the staged jobs into incoming/ in a steady stream of R jobs/s: PDF first, then the
        manifest, each via rename (same file system). Logs "<job> <unix time of manifest rename>".

    daemon_jobs.py queue --stage STAGE --incoming DIR
        Moves all staged jobs into incoming/ at once (daemon not running).

    daemon_jobs.py wait --done DIR --failed DIR --count N --pid P --timeout S --out JSON
        Polls until N results (done/*.result.json + failed/*.error.json) exist, sampling the
        daemon's VmHWM/VmRSS and CPU time from /proc/P meanwhile; writes a JSON summary.

    daemon_jobs.py report --drop-log LOG --done DIR --failed DIR --wait JSON [--label L]
        Drop-to-result latency per job (mtime of done/<job>.result.json − drop time), p50/p95/p99,
        throughput over the whole batch (first drop → last result), peak RSS.
"""
import argparse
import base64
import copy
import hashlib
import json
import math
import os
import secrets
import sys
import time

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def appearance_canonical(app):
    """SIGND-APPEARANCE-V1 (docs/sca.md): '-' for an absent field, '+<n>:<utf-8 bytes>' else."""
    out = b"SIGND-APPEARANCE-V1\n"
    for label, key in (("field-name", "fieldName"), ("name", "name"), ("reason", "reason"),
                       ("location", "location"), ("contact-info", "contactInfo")):
        value = (app or {}).get(key)
        if value is None:
            out += label.encode() + b"=-\n"
        else:
            raw = value.encode("utf-8")
            out += label.encode() + b"=+" + str(len(raw)).encode() + b":" + raw + b"\n"
    return out


def canonical(st):
    return ("SIGND-SCA-STATEMENT-V2\n"
            f"job={st['jobId']}\n"
            f"doc-sha256={st['documentSha256']}\n"
            f"device={st['deviceId']}\n"
            f"user={st['userId']}\n"
            f"level={st['level']}\n"
            f"mode={st['mode']}\n"
            f"appearance-sha256={st['appearanceSha256']}\n"
            f"not-before={st['notBefore']}\n"
            f"expires={st['expiresAt']}\n"
            f"nonce={st['nonce']}\n").encode()


def prepare(a):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with open(os.path.join(a.device_dir, "device-key.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    template = json.load(open(a.template)) if a.template else None
    names = sorted(n for n in os.listdir(a.pdfs) if n.endswith(".pdf"))[: a.count]
    if len(names) < a.count:
        sys.exit(f"only {len(names)} PDFs in {a.pdfs}")
    os.makedirs(a.out, exist_ok=True)
    now = int(time.time())
    for i, name in enumerate(names):
        job = f"{a.prefix}-{i:05d}"
        data = open(os.path.join(a.pdfs, name), "rb").read()
        digest = hashlib.sha256(data).hexdigest()
        st = {"version": 2, "jobId": job, "documentSha256": digest, "deviceId": a.device, "userId": a.user,
              "level": a.level, "mode": "cloud",
              "appearanceSha256": hashlib.sha256(appearance_canonical(None)).hexdigest(),
              "notBefore": now, "expiresAt": now + a.expires_in,
              "nonce": "".join(secrets.choice(ALPHABET) for _ in range(24))}
        sig = key.sign(canonical(st), ec.ECDSA(hashes.SHA256()))
        auth = {"kind": "device-signature", "statement": st,
                "signature": base64.b64encode(sig).decode(), "signatureFormat": "DER"}
        m = {"version": 1, "type": "sign", "jobId": job, "document": {"file": f"{job}.pdf", "sha256": digest},
             "signer": {"userId": a.user, "deviceId": a.device}, "mode": "cloud",
             "level": a.level, "authorization": auth}
        if template is not None:
            m = fill_template(template, m)
        with open(os.path.join(a.out, f"{job}.pdf"), "wb") as f:
            f.write(data)
        with open(os.path.join(a.out, f"{job}.json"), "w") as f:
            json.dump(m, f, indent=2, sort_keys=True)
    print(json.dumps({"prepared": len(names), "notBefore": now, "expiresAt": now + a.expires_in}))


def fill_template(t, m):
    """Checks that our manifest has exactly the keys of the template (recursively)."""
    def keys(d, p=""):
        out = set()
        for k, v in d.items():
            out.add(p + k)
            if isinstance(v, dict):
                out |= keys(v, p + k + ".")
        return out
    kt, km = keys(t), keys(m)
    if kt != km:
        sys.exit(f"manifest shape drifted from `signd device-sim manifest`: template-only {sorted(kt - km)}, ours-only {sorted(km - kt)}")
    return m


def staged_jobs(stage):
    return sorted(n[:-5] for n in os.listdir(stage) if n.endswith(".json"))


def drop(a):
    jobs = staged_jobs(a.stage)
    interval = 1.0 / a.rate
    start = time.time()
    with open(a.log, "w") as log:
        for i, job in enumerate(jobs):
            target = start + i * interval
            d = target - time.time()
            if d > 0:
                time.sleep(d)
            os.rename(os.path.join(a.stage, job + ".pdf"), os.path.join(a.incoming, job + ".pdf"))
            os.rename(os.path.join(a.stage, job + ".json"), os.path.join(a.incoming, job + ".json"))
            log.write(f"{job} {time.time():.6f}\n")
    el = time.time() - start
    print(json.dumps({"dropped": len(jobs), "dropSeconds": round(el, 3), "dropRate": round(len(jobs) / el, 1)}))


def queue(a):
    jobs = staged_jobs(a.stage)
    for job in jobs:
        os.rename(os.path.join(a.stage, job + ".pdf"), os.path.join(a.incoming, job + ".pdf"))
        os.rename(os.path.join(a.stage, job + ".json"), os.path.join(a.incoming, job + ".json"))
    print(json.dumps({"queued": len(jobs)}))


def proc_status(pid):
    vals = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:", "Threads:")):
                    k, v = line.split(":", 1)
                    vals[k] = int(v.split()[0])
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            tck = os.sysconf("SC_CLK_TCK")
            vals["utime"] = int(fields[11]) / tck
            vals["stime"] = int(fields[12]) / tck
    except FileNotFoundError:
        pass
    return vals


def count_results(done, failed):
    """Jobs with a result in done/, and jobs with an error in failed/ but no result in done/
    (a job can end up in both: see docs/performance.md, "Daemon throughput")."""
    ok = {n[: -len(".result.json")] for n in os.listdir(done) if n.endswith(".result.json")} if os.path.isdir(done) else set()
    bad = {n[: -len(".error.json")] for n in os.listdir(failed) if n.endswith(".error.json")} if os.path.isdir(failed) else set()
    return len(ok), len(bad - ok)


def wait(a):
    start = time.time()
    samples = []
    last = {}
    while True:
        nd, nf = count_results(a.done, a.failed)
        st = proc_status(a.pid)
        if st:
            last = st
        samples.append((round(time.time() - start, 2), nd + nf, st.get("VmRSS", 0)))
        if nd + nf >= a.count or time.time() - start > a.timeout or not st:
            break
        time.sleep(a.interval)
    out = {"done": nd, "failed": nf, "waitSeconds": round(time.time() - start, 3),
           "timedOut": nd + nf < a.count,
           "peakRSSMiB": round(last.get("VmHWM", 0) / 1024, 1),
           "finalRSSMiB": round(last.get("VmRSS", 0) / 1024, 1),
           "threads": last.get("Threads"),
           "cpuUserSeconds": last.get("utime"), "cpuSystemSeconds": last.get("stime"),
           "samples": samples[:: max(1, len(samples) // 60)]}
    json.dump(out, open(a.out, "w"))
    print(json.dumps({k: v for k, v in out.items() if k != "samples"}))


def pct(sorted_values, p):
    if not sorted_values:
        return None
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def report(a):
    drops = {}
    if a.drop_log:
        for line in open(a.drop_log):
            job, t = line.split()
            drops[job] = float(t)
    results = {}
    for n in os.listdir(a.done):
        if n.endswith(".result.json"):
            results[n[: -len(".result.json")]] = os.stat(os.path.join(a.done, n)).st_mtime
    failed = [n for n in os.listdir(a.failed) if n.endswith(".error.json")] if os.path.isdir(a.failed) else []
    codes = {}
    for n in failed[:200]:
        try:
            c = json.load(open(os.path.join(a.failed, n))).get("code")
        except Exception:
            c = "?"
        codes[c] = codes.get(c, 0) + 1
    w = json.load(open(a.wait))
    out = {"label": a.label, "jobs": a.count, "done": len(results), "failed": len(failed), "failedCodes": codes,
           "peakRSSMiB": w["peakRSSMiB"], "cpuUserSeconds": w["cpuUserSeconds"], "cpuSystemSeconds": w["cpuSystemSeconds"]}
    if drops:
        lat = sorted((results[j] - t) * 1000 for j, t in drops.items() if j in results)
        first, last = min(drops.values()), max(results.values()) if results else None
        out.update({"msLatencyP50": round(pct(lat, 50), 1), "msLatencyP95": round(pct(lat, 95), 1),
                    "msLatencyP99": round(pct(lat, 99), 1), "msLatencyMax": round(lat[-1], 1),
                    "firstDropToLastResultSeconds": round(last - first, 3),
                    "jobsPerSecond": round(len(results) / (last - first), 1),
                    "dropSeconds": round(max(drops.values()) - first, 3)})
    else:
        # Queued before start: from daemon start (a.start) to the last result.
        last = max(results.values())
        out.update({"startToLastResultSeconds": round(last - a.start, 3),
                    "jobsPerSecond": round(len(results) / (last - a.start), 1),
                    "startToFirstResultSeconds": round(min(results.values()) - a.start, 3)})
    json.dump(out, open(a.out, "w"))
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    s = p.add_subparsers(dest="cmd", required=True)
    q = s.add_parser("prepare")
    for k in ("--device-dir", "--user", "--device", "--pdfs", "--level", "--out"):
        q.add_argument(k, required=True)
    q.add_argument("--count", type=int, required=True)
    q.add_argument("--expires-in", type=int, default=300)
    q.add_argument("--template")
    q.add_argument("--prefix", default="job")
    q = s.add_parser("drop")
    q.add_argument("--stage", required=True); q.add_argument("--incoming", required=True)
    q.add_argument("--rate", type=float, required=True); q.add_argument("--log", required=True)
    q = s.add_parser("queue")
    q.add_argument("--stage", required=True); q.add_argument("--incoming", required=True)
    q = s.add_parser("wait")
    q.add_argument("--done", required=True); q.add_argument("--failed", required=True)
    q.add_argument("--count", type=int, required=True); q.add_argument("--pid", type=int, required=True)
    q.add_argument("--timeout", type=float, default=600); q.add_argument("--interval", type=float, default=0.1)
    q.add_argument("--out", required=True)
    q = s.add_parser("report")
    q.add_argument("--drop-log"); q.add_argument("--done", required=True); q.add_argument("--failed", required=True)
    q.add_argument("--wait", required=True); q.add_argument("--count", type=int, required=True)
    q.add_argument("--start", type=float); q.add_argument("--label", default="")
    q.add_argument("--out", required=True)
    a = p.parse_args()
    {"prepare": prepare, "drop": drop, "queue": queue, "wait": wait, "report": report}[a.cmd](a)


if __name__ == "__main__":
    main()
