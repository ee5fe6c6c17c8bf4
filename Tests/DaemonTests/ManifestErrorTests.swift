#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import TestSupport
import XCTest

/// Every error a manifest (or the files it names) can cause lands in failed/ with its code, the
/// original files beside the report, and nothing in done/. SCA refusals show only `sca.denied`;
/// the precise reason is in the audit log.
final class ManifestErrorTests: DaemonTestCase {
    /// One error case: what is dropped, where the report and the originals must end up.
    struct Case {
        var name: String
        var code: String
        /// failed/<report>.error.json
        var report: String
        /// The report's jobId (nil: the manifest could not be read).
        var jobId: String?
        /// Files expected in failed/ beside the report.
        var originals: [String]
        /// For sca.denied: the precise code in the job.denied audit event.
        var preciseSCACode: String?
    }

    func testEveryManifestErrorLandsInFailedWithItsCode() throws {
        let f = fixture!
        let daemon = try f.startDaemon(configuration: Self.shortTimeoutConfiguration(2))

        // A delivered job: the source of the replayed authorization and of the duplicate id.
        let first = try f.submit(job: "first")
        XCTAssertEqual(try f.waitForOutcome(of: first), .done, f.logs)
        let firstOutputDigest = try DaemonFixture.sha256(f.done + "/first.pdf")

        // A second device of the same user, registered but never enrolled (certificate.none).
        try f.signdOK(["device", "register", "--device", "phone2", "--user", f.user, "--public-key", f.deviceDir + "/device-public.pem",
                       "--data-dir", f.dataDir])

        var cases: [Case] = []
        func manifestOnly(_ name: String, _ code: String, jobId: String?, _ mutate: (inout [String: Any]) -> Void) throws {
            var m = try f.manifest(pdf: try f.samplePDFCopy(named: "\(name).pdf"), job: name)
            mutate(&m)
            try f.drop(manifest: m, as: "\(name).json")
            cases.append(Case(name: name, code: code, report: name, jobId: jobId, originals: ["\(name).json"]))
        }

        // Malformed manifests (nothing is claimed; only the manifest moves to failed/).
        try f.drop(Data(#"{"version": 1, "type": "sign", "jobId": "#.utf8), as: "badjson.json")
        cases.append(Case(name: "badjson", code: "manifest.invalidJSON", report: "badjson", jobId: nil, originals: ["badjson.json"]))
        try manifestOnly("badversion", "manifest.unsupportedVersion", jobId: nil) { $0["version"] = 2 }
        try manifestOnly("badtype", "manifest.unsupportedType", jobId: nil) { $0["type"] = "archive" }  // "enroll" is a job type now
        try manifestOnly("missingfield", "manifest.missingField", jobId: nil) { $0["signer"] = nil }
        try manifestOnly("wrongtype", "manifest.wrongType", jobId: nil) { $0["jobId"] = 123 }
        try manifestOnly("badvalue", "manifest.invalidValue", jobId: nil) {
            var d = $0["document"] as! [String: Any]
            d["sha256"] = (d["sha256"] as! String).uppercased()
            $0["document"] = d
        }
        try manifestOnly("badkind", "authorization.unsupportedKind", jobId: nil) {
            var a = $0["authorization"] as! [String: Any]
            a["kind"] = "password"
            $0["authorization"] = a
        }

        // Path traversal: document.file "../x.pdf" would be spool/default/x.pdf; a decoy sits there.
        let decoy = f.spool + "/x.pdf"
        try FileManager.default.copyItem(atPath: DaemonFixture.samplePDF, toPath: decoy)
        try manifestOnly("traversal", "manifest.unsafePath", jobId: nil) {
            var d = $0["document"] as! [String: Any]
            d["file"] = "../x.pdf"
            $0["document"] = d
        }

        // The PDF is a symbolic link (to a file that does hash right): never followed.
        let linkTarget = try f.samplePDFCopy(named: "link-target.pdf")
        let linkManifest = try f.manifest(pdf: try f.samplePDFCopy(named: "symlinkpdf.pdf"), job: "symlinkpdf")
        try FileManager.default.createSymbolicLink(atPath: f.root + "/symlinkpdf.link", withDestinationPath: linkTarget)
        XCTAssertEqual(rename(f.root + "/symlinkpdf.link", f.incoming + "/symlinkpdf.pdf"), 0)
        try f.drop(manifest: linkManifest, as: "symlinkpdf.json")
        cases.append(Case(name: "symlinkpdf", code: "spool.notRegularFile", report: "symlinkpdf", jobId: "symlinkpdf",
                          originals: ["symlinkpdf.json", "symlinkpdf.pdf"]))

        // The manifest itself is a symbolic link (to a valid manifest outside the spool).
        let outsideManifest = f.root + "/outside-manifest.json"
        try JSONSerialization.data(withJSONObject: try f.manifest(pdf: try f.samplePDFCopy(named: "symlinkmanifest.pdf"), job: "symlinkmanifest"))
            .write(to: URL(fileURLWithPath: outsideManifest))
        try FileManager.default.createSymbolicLink(atPath: f.root + "/symlinkmanifest.link", withDestinationPath: outsideManifest)
        XCTAssertEqual(rename(f.root + "/symlinkmanifest.link", f.incoming + "/symlinkmanifest.json"), 0)
        cases.append(Case(name: "symlinkmanifest", code: "spool.notRegularFile", report: "symlinkmanifest", jobId: nil,
                          originals: ["symlinkmanifest.json"]))

        // The PDF never hashes to the manifest's digest (2 s document timeout).
        let digestManifest = try f.manifest(pdf: try f.samplePDFCopy(named: "digest.pdf"), job: "digest")
        try f.drop(try Data(contentsOf: URL(fileURLWithPath: DaemonFixture.samplePDF)) + Data("% not the approved bytes\n".utf8), as: "digest.pdf")
        try f.drop(manifest: digestManifest, as: "digest.json")
        cases.append(Case(name: "digest", code: "document.digestMismatch", report: "digest", jobId: "digest", originals: ["digest.json", "digest.pdf"]))

        // The PDF never arrives.
        try f.drop(manifest: try f.manifest(pdf: try f.samplePDFCopy(named: "missingdoc.pdf"), job: "missingdoc"), as: "missingdoc.json")
        cases.append(Case(name: "missingdoc", code: "document.missing", report: "missingdoc", jobId: "missingdoc", originals: ["missingdoc.json"]))

        // Replayed authorization: the delivered job's manifest (same authorization, same nonce)
        // under a new job id, with the same PDF. Its nonce is used up, and a used nonce is looked
        // at before the bindings (an approval is refused, and counted, at most once), so the
        // precise reason is sca.replayed (a replay under the same job id is job.duplicate, below).
        var replay = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.archive + "/first.json"))) as! [String: Any]
        replay["jobId"] = "replay"
        var replayDocument = replay["document"] as! [String: Any]
        replayDocument["file"] = "replay.pdf"
        replay["document"] = replayDocument
        try f.drop(file: DaemonFixture.samplePDF, as: "replay.pdf")
        try f.drop(manifest: replay, as: "replay.json")
        cases.append(Case(name: "replay", code: "sca.denied", report: "replay", jobId: "replay", originals: ["replay.json", "replay.pdf"],
                          preciseSCACode: "sca.replayed"))

        // The same job id again (fresh authorization): job.duplicate naming the first result.
        try f.submit(job: "first")
        cases.append(Case(name: "duplicate", code: "job.duplicate", report: "first.duplicate", jobId: "first",
                          originals: ["first.duplicate.json", "first.duplicate.pdf"]))

        // An unknown device.
        try f.submit(job: "unknowndevice", device: "ghost")
        cases.append(Case(name: "unknowndevice", code: "sca.denied", report: "unknowndevice", jobId: "unknowndevice",
                          originals: ["unknowndevice.json", "unknowndevice.pdf"], preciseSCACode: "sca.unknownDevice"))

        // A registered device without a certificate.
        try f.submit(job: "nocert", device: "phone2")
        cases.append(Case(name: "nocert", code: "certificate.none", report: "nocert", jobId: "nocert", originals: ["nocert.json", "nocert.pdf"]))

        // External mode with a cloud-enrolled device: its certificate does not certify the
        // phone's own key, so the phone's signature could never verify.
        try f.drop(file: try f.samplePDFCopy(named: "external.pdf"), as: "external.pdf")
        try f.drop(manifest: try f.manifest(pdf: f.root + "/external.pdf", job: "external", mode: "external"), as: "external.json")
        cases.append(Case(name: "external", code: "certificate.notDeviceKey", report: "external", jobId: "external", originals: ["external.json", "external.pdf"]))

        // Encrypted and truncated PDFs whose digests match their manifests.
        let encrypted = f.root + "/encrypted-source.pdf"
        let qpdf = try ProcessRunner.run("qpdf", ["--encrypt", "user", "owner", "256", "--", DaemonFixture.samplePDF, encrypted], timeout: 60)
        XCTAssertEqual(qpdf.status, 0, ProcessRunner.describe(qpdf, "qpdf --encrypt"))
        try f.submit(encrypted, job: "encrypted")
        cases.append(Case(name: "encrypted", code: "pdf.encrypted", report: "encrypted", jobId: "encrypted", originals: ["encrypted.json", "encrypted.pdf"]))
        let truncated = f.root + "/truncated-source.pdf"
        try Data(try Data(contentsOf: URL(fileURLWithPath: DaemonFixture.samplePDF)).prefix(500)).write(to: URL(fileURLWithPath: truncated))
        try f.submit(truncated, job: "truncated")
        cases.append(Case(name: "truncated", code: "pdf.truncated", report: "truncated", jobId: "truncated", originals: ["truncated.json", "truncated.pdf"]))

        // Wait for every report (document.missing/digestMismatch need the timeout plus a rescan).
        let allThere = f.waitUntil(timeout: 30) { cases.allSatisfy { f.exists(f.failed + "/\($0.report).error.json") } }
        XCTAssertTrue(allThere, "missing reports: \(cases.filter { !f.exists(f.failed + "/\($0.report).error.json") }.map(\.name))\n\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)

        let denied = try f.auditEvents(type: "job.denied")
        let failedEvents = try f.auditEvents(type: "job.failed")
        let rejectedEvents = try f.auditEvents(type: "input.rejected")
        let iso = ISO8601DateFormatter()
        for c in cases {
            let path = f.failed + "/\(c.report).error.json"
            guard let report = try? f.errorReport(path) else {
                XCTFail("\(c.name): no readable \(path)")
                continue
            }
            XCTAssertEqual(report["code"] as? String, c.code, "\(c.name): \(report)")
            XCTAssertEqual(report["jobId"] as? String, c.jobId, "\(c.name): \(report)")
            XCTAssertEqual(report["retryable"] as? Bool, false, "\(c.name): \(report)")
            XCTAssertFalse((report["message"] as? String ?? "").isEmpty, "\(c.name): \(report)")
            XCTAssertNotNil((report["at"] as? String).flatMap(iso.date(from:)), "\(c.name): at \(String(describing: report["at"]))")
            for original in c.originals {
                XCTAssertTrue(f.exists(f.failed + "/" + original), "\(c.name): \(original) should be beside the report; failed/: \(f.entries(f.failed))")
            }
            if let jobId = c.jobId, c.code != "job.duplicate" {
                XCTAssertFalse(f.exists(f.done + "/\(jobId).pdf"), "\(c.name): a failed job has no output")
            }
            // A duplicate names another job's id: audited as a rejected input, not as that job failing.
            let expectedType = c.code == "job.duplicate" ? "input.rejected" : "job.failed"
            let events = c.code == "job.duplicate" ? rejectedEvents : failedEvents
            XCTAssertTrue(events.contains { Self.code(of: $0) == c.code && ($0.jobId == c.jobId || c.jobId == nil) },
                          "\(c.name): no \(expectedType) audit event with code \(c.code)")
            if let precise = c.preciseSCACode {
                let events = denied.filter { $0.jobId == c.jobId }
                XCTAssertEqual(events.count, 1, "\(c.name): one job.denied event")
                XCTAssertEqual(events.first.map(Self.code(of:)), precise, "\(c.name): precise reason in the audit log")
                XCTAssertFalse((report["message"] as? String ?? "").contains(precise), "\(c.name): the public report must not name the precise reason")
            }
        }

        // Specific checks.
        let duplicate = try f.errorReport(f.failed + "/first.duplicate.error.json")
        XCTAssertTrue((duplicate["message"] as? String ?? "").contains("done/first.pdf"), "job.duplicate names the first result: \(duplicate)")
        XCTAssertEqual(try DaemonFixture.sha256(f.done + "/first.pdf"), firstOutputDigest, "the first result is untouched")
        XCTAssertTrue(f.isSymlink(f.failed + "/symlinkpdf.pdf"), "the link itself is moved, not its target")
        XCTAssertTrue(f.isSymlink(f.failed + "/symlinkmanifest.json"), "the link itself is moved, not its target")
        XCTAssertEqual(try DaemonFixture.sha256(linkTarget), try DaemonFixture.sha256(DaemonFixture.samplePDF), "link target untouched")
        XCTAssertTrue(f.exists(outsideManifest), "manifest link target untouched")
        XCTAssertTrue(f.exists(decoy), "the file outside incoming/ named by ../x.pdf is untouched")
        XCTAssertEqual(try DaemonFixture.sha256(decoy), try DaemonFixture.sha256(DaemonFixture.samplePDF))
        XCTAssertEqual(f.entries(f.done), ["first.pdf", "first.result.json"], "no failed case produced output")
        XCTAssertEqual(f.entries(f.incoming), [], "every input left incoming/")
        XCTAssertEqual(f.entries(f.work), [])
        let auditVerify = try f.signd(["audit", "verify", "--data-dir", f.dataDir])
        XCTAssertEqual(auditVerify.status, 0, ProcessRunner.describe(auditVerify))
    }

    /// docs/errors.md: `manifest.tooLarge` — manifest over 64 KiB.
    func testOversizedManifestFailsWithManifestTooLarge() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        var m = try f.manifest(pdf: try f.samplePDFCopy(named: "huge.pdf"), job: "huge")
        m["appearance"] = ["reason": String(repeating: "x", count: 70 * 1024)]
        let data = try JSONSerialization.data(withJSONObject: m)
        XCTAssertGreaterThan(data.count, 64 * 1024)
        try f.drop(data, as: "huge.json")
        XCTAssertTrue(f.waitUntil(timeout: 15) { f.exists(f.failed + "/huge.error.json") }, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        let report = try f.errorReport(f.failed + "/huge.error.json")
        XCTAssertEqual(report["code"] as? String, "manifest.tooLarge", "docs/errors.md promises manifest.tooLarge: \(report)")
        XCTAssertTrue(f.exists(f.failed + "/huge.json"), "the manifest is beside its report")
        XCTAssertFalse(f.exists(f.done + "/huge.pdf"))
    }

    static func code(of record: AuditEventRecord) -> String? {
        DaemonFixture.details(record)["code"]
    }
}
