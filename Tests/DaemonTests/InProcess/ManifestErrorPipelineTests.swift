#if canImport(Glibc)
import Glibc
#endif
import Audit
import Daemon
import Foundation
import Jobs
import TestSupport
import XCTest

/// Every error a manifest (or the files it names) can cause lands in failed/ with its code, the
/// original files beside the report, and nothing in done/. SCA refusals show only `sca.denied`;
/// the precise reason is in the audit log. In-process (was ManifestErrorTests through the daemon).
final class ManifestErrorPipelineTests: PipelineTestCase {
    override func makeHarness() async throws -> PipelineHarness? { try await PipelineHarness.make { $0.documentTimeout = 2 } }

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

    static func code(of record: AuditEventRecord) -> String? { PipelineHarness.details(record)["code"] }

    func testEveryManifestErrorLandsInFailedWithItsCode() async throws {
        // A delivered job: the source of the replayed authorization and of the duplicate id.
        let firstIntake = try await h.submit("first")
        XCTAssertEqual(firstIntake, .processed(jobId: "first"))
        XCTAssertEqual(h.outcome(of: "first"), .done, h.spoolListing())
        let firstOutputDigest = try PipelineHarness.sha256(h.done + "/first.pdf")

        // A second device of the same user, registered but never enrolled (certificate.none).
        try h.registerDevice("phone2")

        var cases: [Case] = []
        func manifestOnly(_ name: String, _ code: String, jobId: String?, _ mutate: (inout [String: Any]) -> Void) throws {
            var m = try PipelineHarness.object(try h.manifest(pdf: try h.samplePDFCopy(named: "\(name).pdf"), job: name))
            mutate(&m)
            try h.drop(object: m, as: "\(name).json")
            cases.append(Case(name: name, code: code, report: name, jobId: jobId, originals: ["\(name).json"]))
        }

        // Malformed manifests (nothing is claimed; only the manifest moves to failed/).
        try h.drop(Data(#"{"version": 1, "type": "sign", "jobId": "#.utf8), as: "badjson.json")
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
        let decoy = h.layout.root + "/x.pdf"
        try FileManager.default.copyItem(atPath: PipelineHarness.samplePDF, toPath: decoy)
        try manifestOnly("traversal", "manifest.unsafePath", jobId: nil) {
            var d = $0["document"] as! [String: Any]
            d["file"] = "../x.pdf"
            $0["document"] = d
        }

        // The PDF is a symbolic link (to a file that does hash right): never followed.
        let linkTarget = try h.samplePDFCopy(named: "link-target.pdf")
        let linkManifest = try h.manifest(pdf: try h.samplePDFCopy(named: "symlinkpdf.pdf"), job: "symlinkpdf")
        try FileManager.default.createSymbolicLink(atPath: h.root + "/symlinkpdf.link", withDestinationPath: linkTarget)
        XCTAssertEqual(rename(h.root + "/symlinkpdf.link", h.incoming + "/symlinkpdf.pdf"), 0)
        try h.drop(manifest: linkManifest, as: "symlinkpdf.json")
        cases.append(Case(name: "symlinkpdf", code: "spool.notRegularFile", report: "symlinkpdf", jobId: "symlinkpdf",
                          originals: ["symlinkpdf.json", "symlinkpdf.pdf"]))

        // The manifest itself is a symbolic link (to a valid manifest outside the spool).
        let outsideManifest = h.root + "/outside-manifest.json"
        try PipelineHarness.encode(try h.manifest(pdf: try h.samplePDFCopy(named: "symlinkmanifest.pdf"), job: "symlinkmanifest"))
            .write(to: URL(fileURLWithPath: outsideManifest))
        try FileManager.default.createSymbolicLink(atPath: h.root + "/symlinkmanifest.link", withDestinationPath: outsideManifest)
        XCTAssertEqual(rename(h.root + "/symlinkmanifest.link", h.incoming + "/symlinkmanifest.json"), 0)
        cases.append(Case(name: "symlinkmanifest", code: "spool.notRegularFile", report: "symlinkmanifest", jobId: nil,
                          originals: ["symlinkmanifest.json"]))

        // The PDF never hashes to the manifest's digest (2 s document timeout).
        let digestManifest = try h.manifest(pdf: try h.samplePDFCopy(named: "digest.pdf"), job: "digest")
        try h.drop(try Data(contentsOf: URL(fileURLWithPath: PipelineHarness.samplePDF)) + Data("% not the approved bytes\n".utf8), as: "digest.pdf")
        try h.drop(manifest: digestManifest, as: "digest.json")
        cases.append(Case(name: "digest", code: "document.digestMismatch", report: "digest", jobId: "digest", originals: ["digest.json", "digest.pdf"]))

        // The PDF never arrives.
        try h.drop(manifest: try h.manifest(pdf: try h.samplePDFCopy(named: "missingdoc.pdf"), job: "missingdoc"), as: "missingdoc.json")
        cases.append(Case(name: "missingdoc", code: "document.missing", report: "missingdoc", jobId: "missingdoc", originals: ["missingdoc.json"]))

        // Replayed authorization: the delivered job's manifest (same authorization, same nonce)
        // under a new job id, with the same PDF. Its nonce is used up, and a used nonce is looked
        // at before the bindings (an approval is refused, and counted, at most once), so the
        // precise reason is sca.replayed (a replay under the same job id is job.duplicate, below).
        var replay = try h.jsonObject(h.archive + "/first.json")
        replay["jobId"] = "replay"
        var replayDocument = replay["document"] as! [String: Any]
        replayDocument["file"] = "replay.pdf"
        replay["document"] = replayDocument
        try h.drop(file: PipelineHarness.samplePDF, as: "replay.pdf")
        try h.drop(object: replay, as: "replay.json")
        cases.append(Case(name: "replay", code: "sca.denied", report: "replay", jobId: "replay", originals: ["replay.json", "replay.pdf"],
                          preciseSCACode: "sca.replayed"))

        // The same job id again (fresh authorization): job.duplicate naming the first result.
        try h.dropJob("first")
        cases.append(Case(name: "duplicate", code: "job.duplicate", report: "first.duplicate", jobId: "first",
                          originals: ["first.duplicate.json", "first.duplicate.pdf"]))

        // An unknown device.
        func dropJob(_ job: String, source: String = PipelineHarness.samplePDF, device: String? = nil, mode: SigningMode = .cloud) throws {
            let pdf = h.root + "/\(job).pdf"
            try? FileManager.default.removeItem(atPath: pdf)
            try FileManager.default.copyItem(atPath: source, toPath: pdf)
            let manifest = try h.manifest(pdf: pdf, job: job, mode: mode, deviceId: device)
            try h.drop(file: pdf, as: "\(job).pdf")
            try h.drop(manifest: manifest, as: "\(job).json")
        }
        try dropJob("unknowndevice", device: "ghost")
        cases.append(Case(name: "unknowndevice", code: "sca.denied", report: "unknowndevice", jobId: "unknowndevice",
                          originals: ["unknowndevice.json", "unknowndevice.pdf"], preciseSCACode: "sca.unknownDevice"))

        // A registered device without a certificate.
        try dropJob("nocert", device: "phone2")
        cases.append(Case(name: "nocert", code: "certificate.none", report: "nocert", jobId: "nocert", originals: ["nocert.json", "nocert.pdf"]))

        // External mode with a cloud-enrolled device: its certificate does not certify the
        // phone's own key, so the phone's signature could never verify.
        try dropJob("external", mode: .external)
        cases.append(Case(name: "external", code: "certificate.notDeviceKey", report: "external", jobId: "external", originals: ["external.json", "external.pdf"]))

        // Encrypted and truncated PDFs whose digests match their manifests.
        let encrypted = h.root + "/encrypted-source.pdf"
        let qpdf = try ProcessRunner.run("qpdf", ["--encrypt", "user", "owner", "256", "--", PipelineHarness.samplePDF, encrypted], timeout: 60)
        XCTAssertEqual(qpdf.status, 0, ProcessRunner.describe(qpdf, "qpdf --encrypt"))
        try dropJob("encrypted", source: encrypted)
        cases.append(Case(name: "encrypted", code: "pdf.encrypted", report: "encrypted", jobId: "encrypted", originals: ["encrypted.json", "encrypted.pdf"]))
        let truncated = h.root + "/truncated-source.pdf"
        try Data(try Data(contentsOf: URL(fileURLWithPath: PipelineHarness.samplePDF)).prefix(500)).write(to: URL(fileURLWithPath: truncated))
        try dropJob("truncated", source: truncated)
        cases.append(Case(name: "truncated", code: "pdf.truncated", report: "truncated", jobId: "truncated", originals: ["truncated.json", "truncated.pdf"]))

        // The scan, then the rescans after the 2 s document timeout (document.missing, digestMismatch).
        await h.scan()
        XCTAssertNil(h.outcome(of: "missingdoc"), "within the document timeout the job waits")
        await h.advance(by: 1)
        await h.advance(by: 2)
        let missing = cases.filter { !h.exists(h.failed + "/\($0.report).error.json") }.map(\.name)
        XCTAssertEqual(missing, [], "missing reports\n\(h.spoolListing())")

        let denied = try h.auditEvents(type: "job.denied")
        let failedEvents = try h.auditEvents(type: "job.failed")
        let rejectedEvents = try h.auditEvents(type: "input.rejected")
        let iso = ISO8601DateFormatter()
        for c in cases {
            let path = h.failed + "/\(c.report).error.json"
            guard let report = try? h.jsonObject(path) else {
                XCTFail("\(c.name): no readable \(path)")
                continue
            }
            XCTAssertEqual(report["code"] as? String, c.code, "\(c.name): \(report)")
            XCTAssertEqual(report["jobId"] as? String, c.jobId, "\(c.name): \(report)")
            XCTAssertEqual(report["retryable"] as? Bool, false, "\(c.name): \(report)")
            XCTAssertFalse((report["message"] as? String ?? "").isEmpty, "\(c.name): \(report)")
            XCTAssertNotNil((report["at"] as? String).flatMap(iso.date(from:)), "\(c.name): at \(String(describing: report["at"]))")
            for original in c.originals {
                XCTAssertTrue(h.exists(h.failed + "/" + original), "\(c.name): \(original) should be beside the report; failed/: \(h.entries(h.failed))")
            }
            if let jobId = c.jobId, c.code != "job.duplicate" {
                XCTAssertFalse(h.exists(h.done + "/\(jobId).pdf"), "\(c.name): a failed job has no output")
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
        let duplicate = try h.jsonObject(h.failed + "/first.duplicate.error.json")
        XCTAssertTrue((duplicate["message"] as? String ?? "").contains("done/first.pdf"), "job.duplicate names the first result: \(duplicate)")
        XCTAssertEqual(try PipelineHarness.sha256(h.done + "/first.pdf"), firstOutputDigest, "the first result is untouched")
        XCTAssertTrue(isSymlink(h.failed + "/symlinkpdf.pdf"), "the link itself is moved, not its target")
        XCTAssertTrue(isSymlink(h.failed + "/symlinkmanifest.json"), "the link itself is moved, not its target")
        XCTAssertEqual(try PipelineHarness.sha256(linkTarget), try PipelineHarness.sha256(PipelineHarness.samplePDF), "link target untouched")
        XCTAssertTrue(h.exists(outsideManifest), "manifest link target untouched")
        XCTAssertTrue(h.exists(decoy), "the file outside incoming/ named by ../x.pdf is untouched")
        XCTAssertEqual(try PipelineHarness.sha256(decoy), try PipelineHarness.sha256(PipelineHarness.samplePDF))
        XCTAssertEqual(h.entries(h.done), ["first.pdf", "first.result.json"], "no failed case produced output")
        XCTAssertEqual(h.entries(h.incoming), [], "every input left incoming/")
        XCTAssertEqual(h.entries(h.work), [])
        // What `signd audit verify` checks: the chain is intact.
        let chain = try h.audit.verify()
        XCTAssertNil(chain.firstBad.map { "\($0.seq): \($0.reason)" }, "the audit chain is intact")
    }

    /// docs/errors.md: `manifest.tooLarge` — manifest over 64 KiB.
    func testOversizedManifestFailsWithManifestTooLarge() async throws {
        var m = try PipelineHarness.object(try h.manifest(pdf: try h.samplePDFCopy(named: "huge.pdf"), job: "huge"))
        m["appearance"] = ["reason": String(repeating: "x", count: 70 * 1024)]
        let data = try JSONSerialization.data(withJSONObject: m)
        XCTAssertGreaterThan(data.count, 64 * 1024)
        try h.drop(data, as: "huge.json")
        let intake = await h.intake("huge.json")
        XCTAssertEqual(intake, .rejected(code: "manifest.tooLarge"))
        let report = try h.errorReport(of: "huge")
        XCTAssertEqual(report["code"] as? String, "manifest.tooLarge", "docs/errors.md promises manifest.tooLarge: \(report)")
        XCTAssertTrue(h.exists(h.failed + "/huge.json"), "the manifest is beside its report")
        XCTAssertFalse(h.exists(h.done + "/huge.pdf"))
    }

    func isSymlink(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeSymbolicLink
    }
}
