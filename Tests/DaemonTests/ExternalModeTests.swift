#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import TestSupport
import XCTest

/// External signing mode (issue 7) through the real daemon: the device's own key signs the DTBS
/// signd writes to pending/, the orchestrator drops the signature into signatures/, signd completes
/// the PDF. The fixture's certificate is enrolled from the device simulator's CSR, so it holds the
/// key `signd device-sim sign-dtbs` signs with. The deadline, wrong signatures, a device blocked
/// between the phases, TSA outages in phase two and the crash windows run in-process
/// (InProcess/ExternalModePipelineTests.swift); the removal test stays here for `signd device remove`.
final class ExternalModeTests: DaemonTestCase {
    override class var enrollment: DaemonFixture.Enrollment { .external }

    // MARK: - Happy paths

    func testBBJobSignedByTheDeviceIsDeliveredAndValidates() throws {
        try runHappyPath(level: "B-B")
    }

    func testBTJobSignedByTheDeviceIsDeliveredTimestampedAndValidates() throws {
        try runHappyPath(level: "B-T")
    }

    func runHappyPath(level: String) throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let job = try f.submitExternal(level: level)

        // Phase one: the DTBS request, and the job waits.
        let pending = try f.waitForPending(job)
        try checkPendingFile(pending.object, job: job, level: level)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertNil(f.outcome(of: job), "an external job must wait for the device's signature\n\(f.spoolListing())")
        XCTAssertEqual(f.entries(f.done), [], "nothing is delivered before the signature arrives")

        // Phase two: the phone signs, the orchestrator drops the answer.
        let answer = try f.signPending(job)
        XCTAssertEqual(answer.object["jobId"] as? String, job, "sign-dtbs answers for the job it was given: \(answer.text)")
        try f.dropSignature(Data(answer.text.utf8), job: job)
        let outcome = try f.waitForOutcome(of: job)
        XCTAssertEqual(outcome, .done, "\(f.spoolListing())\n\(f.logs)")
        guard outcome == .done else { return }

        let signed = f.done + "/\(job).pdf"
        XCTAssertEqual(f.entries(f.done), ["\(job).pdf", "\(job).result.json"])
        let result = try f.resultJSON(of: job)
        XCTAssertEqual(result["jobId"] as? String, job)
        XCTAssertEqual(result["status"] as? String, "signed")
        XCTAssertEqual(result["level"] as? String, level)
        XCTAssertEqual(result["documentSha256"] as? String, try DaemonFixture.sha256(signed))
        XCTAssertEqual(result["originalSha256"] as? String, try DaemonFixture.sha256(DaemonFixture.samplePDF))

        // The PDF carries exactly the device's signature over exactly the DTBS signd issued.
        let dtbs = try XCTUnwrap(Data(base64Encoded: pending.object["dtbs"] as? String ?? ""))
        let signatureDER = try XCTUnwrap(Data(base64Encoded: answer.object["signature"] as? String ?? ""))
        try assertCMS(in: signed, containsSignedAttributes: Array(dtbs), signatureValue: Array(signatureDER))

        // Files: pending request removed, signature archived, nothing left in the spool.
        XCTAssertFalse(f.exists(f.pending + "/\(job).dtbs.json"), "the pending request is removed once the job is done\n\(f.spoolListing())")
        XCTAssertEqual(f.entries(f.signatures), [], "signatures/ is empty after the signature was used")
        let archived = f.entries(f.archive)
        XCTAssertTrue(archived.contains("\(job).pdf") && archived.contains("\(job).json"), "inputs archived: \(archived)")
        XCTAssertTrue(archived.contains { $0.hasPrefix(job) && $0.contains("signature") }, "the signature file is archived: \(archived)")
        XCTAssertEqual(f.entries(f.incoming), [])
        XCTAssertEqual(f.entries(f.work), [])
        XCTAssertEqual(f.entries(f.failed), [])

        try assertValidates(signed, level: level)
        XCTAssertEqual(try f.deviceRecord()["failedAttempts"] as? Int, 0)
        XCTAssertEqual(f.stop(daemon), 0, "SIGTERM must end the daemon with status 0\n\(f.logs)")

        // Audit: received, signed, delivered, in order, chain intact, no failure.
        let types = try f.auditEvents(job: job).map(\.type)
        for step in ["job.received", "job.signed", "job.delivered"] {
            XCTAssertEqual(types.filter { $0 == step }.count, 1, "\(step) once in \(types)")
        }
        let order = ["job.received", "job.signed", "job.delivered"].compactMap { types.firstIndex(of: $0) }
        XCTAssertEqual(order, order.sorted(), "steps out of order: \(types)")
        XCTAssertFalse(types.contains("job.failed") || types.contains("job.denied"), "\(types)")
        if level == "B-T" { XCTAssertTrue(types.contains("job.timestamped"), "\(types)") }
        let auditVerify = try f.signd(["audit", "verify", "--data-dir", f.dataDir])
        XCTAssertEqual(auditVerify.status, 0, ProcessRunner.describe(auditVerify, "audit verify"))
    }

    // MARK: - Restart between the phases

    /// SIGTERM while the job waits; the phone signs the DTBS it was shown before the restart; the
    /// restarted daemon accepts it and completes the same signature.
    func testRestartBetweenPhasesLosesNothing() throws {
        let f = fixture!
        let first = try f.startDaemon()
        let job = try f.submitExternal(level: "B-T")
        let before = try f.waitForPending(job)
        // The phone answers now; the answer reaches the spool only after the restart.
        let answer = try f.signPending(job)
        XCTAssertEqual(f.stop(first), 0, "SIGTERM must stop a daemon whose job waits for a signature\n\(f.logs)")
        XCTAssertNil(f.outcome(of: job), "the waiting job must not end because the daemon stopped\n\(f.spoolListing())")

        _ = try f.startDaemon()
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertNil(f.outcome(of: job), "the restarted daemon must keep waiting\n\(f.spoolListing())\n\(f.logs)")
        let after = try f.waitForPending(job, timeout: 5)
        XCTAssertEqual(after.object["dtbs"] as? String, before.object["dtbs"] as? String,
                       "the DTBS the phone already signed must survive the restart byte for byte")
        if after.object["expiresAt"] as? String != before.object["expiresAt"] as? String {
            print("NOTE: the restart changed expiresAt from \(before.object["expiresAt"] ?? "-") to \(after.object["expiresAt"] ?? "-")")
        }

        try f.dropSignature(Data(answer.text.utf8), job: job)
        XCTAssertEqual(try f.waitForOutcome(of: job), .done, "\(f.spoolListing())\n\(f.logs)")
        let signed = f.done + "/\(job).pdf"
        try assertCMS(in: signed, containsSignedAttributes: Array(try XCTUnwrap(Data(base64Encoded: before.object["dtbs"] as? String ?? ""))),
                      signatureValue: Array(try XCTUnwrap(Data(base64Encoded: answer.object["signature"] as? String ?? ""))))
        try assertValidates(signed, level: "B-T")
        XCTAssertFalse(f.exists(f.pending + "/\(job).dtbs.json"), f.spoolListing())
        XCTAssertEqual(f.entries(f.work), [])
    }

    // MARK: - The device and its certificate between the phases

    /// The device is removed (its certificate revoked) after the DTBS was handed out: no PDF may
    /// be delivered with the revoked certificate.
    func testDeviceRemovedBetweenPhasesIsRefused() throws {
        let f = fixture!
        _ = try f.startDaemon()
        let job = try f.submitExternal(level: "B-B", job: "removed-between")
        _ = try f.waitForPending(job)
        let answer = try f.signPending(job)
        let removal = try f.signdOK(["device", "remove", "--device", f.device, "--data-dir", f.dataDir])
        XCTAssertTrue(removal.stdout.contains("revoked certificate"), removal.stdout)
        try f.dropSignature(Data(answer.text.utf8), job: job)
        let outcome = try f.waitForOutcome(of: job)
        XCTAssertNotEqual(outcome, .done,
                          "a PDF was delivered signed with the certificate of a device removed (certificate revoked) between the phases: \(removal.stdout)")
        print("signature of a device removed between the phases: \(outcome)")
    }

    // MARK: - Checks

    /// The pending file as the brief describes it.
    func checkPendingFile(_ p: [String: Any], job: String, level: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let f = fixture!
        XCTAssertEqual(p["version"] as? Int, 1, file: file, line: line)
        XCTAssertEqual(p["jobId"] as? String, job, file: file, line: line)
        XCTAssertEqual(p["deviceId"] as? String, f.device, file: file, line: line)
        XCTAssertEqual(p["userId"] as? String, f.user, file: file, line: line)
        XCTAssertEqual(p["algorithm"] as? String, "ECDSA-P256-SHA256", file: file, line: line)
        XCTAssertEqual(p["level"] as? String, level, file: file, line: line)
        let dtbs = try XCTUnwrap(Data(base64Encoded: p["dtbs"] as? String ?? ""), "dtbs is base64: \(p)", file: file, line: line)
        XCTAssertEqual(dtbs.first, 0x31, "the DTBS is the DER SET of the signed attributes", file: file, line: line)
        let dtbsPath = f.root + "/dtbs-\(job).bin"
        try dtbs.write(to: URL(fileURLWithPath: dtbsPath))
        XCTAssertEqual((p["dtbsSha256"] as? String)?.lowercased(), try DaemonFixture.sha256(dtbsPath), "dtbsSha256", file: file, line: line)
        let expires = Self.parseISO8601(p["expiresAt"] as? String)
        XCTAssertNotNil(expires, "expiresAt is ISO 8601: \(String(describing: p["expiresAt"]))", file: file, line: line)
        if let expires { XCTAssertGreaterThan(expires, Date(), "expiresAt is in the future", file: file, line: line) }
        let document = p["document"] as? [String: Any]
        XCTAssertFalse((document?["name"] as? String ?? "").isEmpty, "document.name: \(p)", file: file, line: line)
        XCTAssertEqual(document?["sha256"] as? String, try DaemonFixture.sha256(DaemonFixture.samplePDF), "document.sha256", file: file, line: line)
    }

    /// The CMS in the PDF's last /Contents holds `signedAttributes` (as [0] IMPLICIT: the DTBS
    /// with its first byte 0x31 replaced by 0xA0) and the signature value `signature` (DER).
    func assertCMS(in pdf: String, containsSignedAttributes dtbs: [UInt8], signatureValue signature: [UInt8],
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let cms = try lastContents(of: pdf)
        XCTAssertTrue(cms.contains(subsequence: [0xA0] + dtbs.dropFirst()), "the CMS signs exactly the DTBS signd issued", file: file, line: line)
        XCTAssertTrue(cms.contains(subsequence: signature), "the CMS signature value is the device's signature (DER)", file: file, line: line)
    }

    func lastContents(of pdf: String) throws -> [UInt8] {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: pdf)), as: UTF8.self)
        let regex = try NSRegularExpression(pattern: "/Contents\\s*<([0-9A-Fa-f]+)>")
        let matches = regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
        guard let last = matches.last, let range = Range(last.range(at: 1), in: text) else { throw HarnessError("no /Contents <hex> in \(pdf)") }
        let hex = Array(text[range].utf8)
        func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57 }
        return stride(from: 0, to: hex.count - 1, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) }
    }

    /// `signd verify --trust` and (unless `pyHanko` is false) pyHanko, trusting the CA root and the TSA root.
    func assertValidates(_ signed: String, level: String, pyHanko: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        let f = fixture!
        let verify = try f.verify(signed)
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify, "signd verify"), file: file, line: line)
        XCTAssertTrue(verify.stdout.contains("1 signature(s)"), verify.stdout, file: file, line: line)
        XCTAssertTrue(verify.stdout.contains("INTACT, TRUSTED, level \(level)"), verify.stdout, file: file, line: line)
        guard pyHanko else { return }
        let out = try ProcessRunner.run("python3", ["-m", "pyhanko", "sign", "validate", "--trust-replace", "--trust",
                                                    try f.trustRootsForPyHanko(), signed], cwd: f.root, timeout: 120)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "pyhanko sign validate"), file: file, line: line)
        XCTAssertTrue(out.stdout.contains("INTACT:TRUSTED"), out.stdout, file: file, line: line)
        if level == "B-T" {
            XCTAssertTrue(out.stdout.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), out.stdout, file: file, line: line)
        } else {
            XCTAssertFalse(out.stdout.contains("TIMESTAMP_TOKEN"), out.stdout, file: file, line: line)
        }
    }

    static func parseISO8601(_ text: String?) -> Date? {
        guard let text else { return nil }
        let plain = ISO8601DateFormatter()
        if let d = plain.date(from: text) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}

// MARK: - External-mode helpers

extension DaemonFixture {
    /// `signd submit --mode external`; the job id.
    @discardableResult
    func submitExternal(_ pdf: String = DaemonFixture.samplePDF, level: String = "B-B", job: String? = nil) throws -> String {
        var args = ["submit", pdf, "--device-dir", deviceDir, "--user", user, "--device", device, "--spool-root", spoolRoot,
                    "--level", level, "--mode", "external"]
        if let job { args += ["--job", job] }
        return try signdOK(args).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits for pending/<job>.dtbs.json; its text and JSON object. Fails early when the job ends first.
    func waitForPending(_ job: String, timeout: TimeInterval = 20) throws -> (text: String, object: [String: Any]) {
        let path = pending + "/\(job).dtbs.json"
        var parsed: (String, [String: Any])?
        waitUntil(timeout: timeout) {
            if let data = FileManager.default.contents(atPath: path),
               let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
                parsed = (String(decoding: data, as: UTF8.self), object)
                return true
            }
            return outcome(of: job) != nil
        }
        guard let parsed else {
            throw HarnessError("no pending/\(job).dtbs.json after \(Int(timeout)) s (outcome \(outcome(of: job).map(\.description) ?? "none"))\n\(spoolListing())\n\(logs)")
        }
        return parsed
    }

    /// `signd device-sim sign-dtbs` on the job's pending file (or `pendingPath`), by this
    /// fixture's device (or the simulator in `deviceDir`): its output and JSON object.
    func signPending(_ job: String, deviceDir: String? = nil, pendingPath: String? = nil) throws -> (text: String, object: [String: Any]) {
        let out = try signdOK(["device-sim", "sign-dtbs", "--dir", deviceDir ?? self.deviceDir, pendingPath ?? (pending + "/\(job).dtbs.json")])
        guard let object = (try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any] else {
            throw HarnessError("sign-dtbs did not print a JSON object: \(out.stdout)")
        }
        return (out.stdout, object)
    }

    /// Writes signatures/<job>.signature.json as the orchestrator must: hidden temporary name, then rename.
    func dropSignature(_ bytes: Data, job: String) throws {
        try FileManager.default.createDirectory(atPath: signatures, withIntermediateDirectories: true)
        let temporary = signatures + "/.sig-\(UUID().uuidString).tmp"
        try bytes.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, signatures + "/\(job).signature.json") == 0 else {
            throw HarnessError("rename into signatures/\(job).signature.json failed: errno \(errno)")
        }
    }

    /// The fixture's device from `signd device list --json`.
    func deviceRecord() throws -> [String: Any] {
        let out = try signdOK(["device", "list", "--json", "--data-dir", dataDir])
        guard let list = (try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [[String: Any]],
              let entry = list.first(where: { $0["deviceId"] as? String == device }) else {
            throw HarnessError("device list --json has no \(device): \(out.stdout)")
        }
        return entry
    }

    /// Every error report in failed/: file name and code.
    func failedReports() -> [(name: String, code: String)] {
        entries(failed).filter { $0.hasSuffix(".error.json") }.map { name in
            (name, (try? errorReport(failed + "/" + name))?["code"] as? String ?? "?")
        }
    }
}

/// ECDSA signature encodings: DER `SEQUENCE { INTEGER r, INTEGER s }` and raw r||s (JOSE, P-256: 64 bytes).
enum ECDSASignatureEncoding {
    static func rawFromDER(_ der: [UInt8]) throws -> [UInt8] {
        var i = 0
        func byte() throws -> UInt8 {
            guard i < der.count else { throw HarnessError("truncated ECDSA DER signature") }
            defer { i += 1 }
            return der[i]
        }
        func length() throws -> Int {
            let first = try byte()
            if first < 0x80 { return Int(first) }
            guard first == 0x81 else { throw HarnessError("unexpected DER length form") }
            return Int(try byte())
        }
        guard try byte() == 0x30 else { throw HarnessError("not a DER SEQUENCE") }
        guard try length() == der.count - i else { throw HarnessError("bad SEQUENCE length") }
        var raw: [UInt8] = []
        for _ in 0..<2 {
            guard try byte() == 0x02 else { throw HarnessError("not a DER INTEGER") }
            let n = try length()
            guard i + n <= der.count else { throw HarnessError("bad INTEGER length") }
            var value = Array(der[i..<(i + n)])
            i += n
            while value.count > 32, value.first == 0 { value.removeFirst() }
            guard value.count <= 32 else { throw HarnessError("INTEGER longer than 32 bytes") }
            raw += [UInt8](repeating: 0, count: 32 - value.count) + value
        }
        return raw
    }

    static func derFromRaw(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var v = Array(bytes.drop { $0 == 0 })
            if v.isEmpty { v = [0] }
            if v[0] & 0x80 != 0 { v.insert(0, at: 0) }
            return [0x02, UInt8(v.count)] + v
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        while i <= count - needle.count {
            if self[i] == first, Array(self[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}
