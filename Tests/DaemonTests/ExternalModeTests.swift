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
/// key `signd device-sim sign-dtbs` signs with. The happy paths (InProcess/ExternalHappyPathPipelineTests.swift),
/// the deadline, wrong signatures, a device blocked between the phases, TSA outages in phase two
/// and the crash windows run in-process (InProcess/ExternalModePipelineTests.swift); the restart
/// after SIGTERM stays here, and the removal test for `signd device remove`.
final class ExternalModeTests: DaemonTestCase {
    override class var enrollment: DaemonFixture.Enrollment { .external }

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

    /// The CMS in the PDF's last /Contents holds `signedAttributes` (as [0] IMPLICIT: the DTBS
    /// with its first byte 0x31 replaced by 0xA0) and the signature value `signature` (DER).
    func assertCMS(in pdf: String, containsSignedAttributes dtbs: [UInt8], signatureValue signature: [UInt8],
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let cms = try lastContents(ofPDF: pdf)
        XCTAssertTrue(cms.contains(subsequence: [0xA0] + dtbs.dropFirst()), "the CMS signs exactly the DTBS signd issued", file: file, line: line)
        XCTAssertTrue(cms.contains(subsequence: signature), "the CMS signature value is the device's signature (DER)", file: file, line: line)
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
