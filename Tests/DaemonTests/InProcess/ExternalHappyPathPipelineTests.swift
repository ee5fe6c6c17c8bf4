import Audit
import Daemon
import Foundation
import JobEngine
import Jobs
import StateStore
import SwiftASN1
import TestSupport
import X509
import XCTest

/// External signing mode's happy paths in-process (were ExternalModeTests through the daemon):
/// the device's own key signs the DTBS signd writes to pending/, the test hands the signature to
/// the pipeline, signd completes the PDF, which signd's verifier and pyHanko accept. The restart
/// between the phases (SIGTERM) and the removal by `signd device remove` stay in ExternalModeTests.
final class ExternalHappyPathPipelineTests: PipelineTestCase {
    override func makeHarness() async throws -> PipelineHarness? { try await PipelineHarness.make(enrollment: .external) }

    func testBBJobSignedByTheDeviceIsDeliveredAndValidates() async throws {
        try await runHappyPath(level: .bb)
    }

    func testBTJobSignedByTheDeviceIsDeliveredTimestampedAndValidates() async throws {
        try await runHappyPath(level: .bt)
    }

    func runHappyPath(level: SignatureLevel) async throws {
        let job = "ext-\(level.rawValue)"
        let intake = try await h.submit(job, level: level, mode: .external)
        XCTAssertEqual(intake, .processed(jobId: job))

        // Phase one: the DTBS request, and the job waits.
        let pending = try h.pendingFile(job)
        try checkPendingFile(pending, job: job, level: level.rawValue)
        await h.advance(by: 5)
        XCTAssertNil(h.outcome(of: job), "an external job must wait for the device's signature\n\(h.spoolListing())")
        XCTAssertEqual(h.entries(h.done), [], "nothing is delivered before the signature arrives")

        // Phase two: the phone signs, the orchestrator drops the answer.
        let answerBytes = try h.signPending(job)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: answerBytes) as? [String: Any])
        XCTAssertEqual(answer["jobId"] as? String, job, "sign-dtbs answers for the job it was given: \(answer)")
        try await h.deliverSignature(answerBytes, job: job)
        let outcome = h.outcome(of: job)
        XCTAssertEqual(outcome, .done, h.spoolListing())
        guard outcome == .done else { return }

        let signed = h.done + "/\(job).pdf"
        XCTAssertEqual(h.entries(h.done), ["\(job).pdf", "\(job).result.json"])
        let result = try h.resultJSON(of: job)
        assertSignedResult(result, job: job, level: level.rawValue, signedSha256: try PipelineHarness.sha256(signed), originalSha256: try PipelineHarness.sha256(PipelineHarness.samplePDF))

        // The PDF carries exactly the device's signature over exactly the DTBS signd issued.
        let dtbs = try XCTUnwrap(Data(base64Encoded: pending["dtbs"] as? String ?? ""))
        let signatureDER = try XCTUnwrap(Data(base64Encoded: answer["signature"] as? String ?? ""))
        let cms = try lastContents(ofPDF: signed)
        XCTAssertTrue(cms.contains(subsequence: [0xA0] + Array(dtbs).dropFirst()), "the CMS signs exactly the DTBS signd issued")
        XCTAssertTrue(cms.contains(subsequence: Array(signatureDER)), "the CMS signature value is the device's signature (DER)")

        // Files: pending request removed, signature archived, nothing left in the spool.
        XCTAssertFalse(h.exists(h.pending + "/\(job).dtbs.json"), "the pending request is removed once the job is done\n\(h.spoolListing())")
        XCTAssertEqual(h.entries(h.signatures), [], "signatures/ is empty after the signature was used")
        let archived = h.entries(h.archive)
        XCTAssertTrue(archived.contains("\(job).pdf") && archived.contains("\(job).json"), "inputs archived: \(archived)")
        XCTAssertTrue(archived.contains { $0.hasPrefix(job) && $0.contains("signature") }, "the signature file is archived: \(archived)")
        XCTAssertEqual(h.entries(h.incoming), [])
        XCTAssertEqual(h.entries(h.work), [])
        XCTAssertEqual(h.entries(h.failed), [])

        // signd's verifier and pyHanko, trusting the CA root and the TSA root.
        try await h.assertVerifies(signed, level: level.rawValue)
        let roots = h.root + "/pyhanko-roots.pem"
        try Data((try XCTUnwrap(h.caChain.last).serializeAsPEM().pemString + "\n" + h.tsaRoot.serializeAsPEM().pemString + "\n").utf8)
            .write(to: URL(fileURLWithPath: roots))
        let out = try ProcessRunner.run("python3", ["-m", "pyhanko", "sign", "validate", "--trust-replace", "--trust", roots, signed],
                                        cwd: h.root, timeout: 120)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "pyhanko sign validate"))
        XCTAssertTrue(out.stdout.contains("INTACT:TRUSTED"), out.stdout)
        if level == .bt {
            XCTAssertTrue(out.stdout.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), out.stdout)
        } else {
            XCTAssertFalse(out.stdout.contains("TIMESTAMP_TOKEN"), out.stdout)
        }
        XCTAssertEqual(try h.database.device(h.deviceId)?.failedAttempts, 0)

        // Audit: received, signed, delivered, in order, chain intact, no failure.
        let types = try h.auditTypes(job: job)
        for step in ["job.received", "job.signed", "job.delivered"] {
            XCTAssertEqual(types.filter { $0 == step }.count, 1, "\(step) once in \(types)")
        }
        let order = ["job.received", "job.signed", "job.delivered"].compactMap { types.firstIndex(of: $0) }
        XCTAssertEqual(order, order.sorted(), "steps out of order: \(types)")
        XCTAssertFalse(types.contains("job.failed") || types.contains("job.denied"), "\(types)")
        if level == .bt { XCTAssertTrue(types.contains("job.timestamped"), "\(types)") }
        XCTAssertNil(try h.audit.verify().firstBad.map { "\($0.seq): \($0.reason)" }, "the audit chain is intact")
    }

    /// The pending file as the brief describes it.
    func checkPendingFile(_ p: [String: Any], job: String, level: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(p["version"] as? Int, 1, file: file, line: line)
        XCTAssertEqual(p["jobId"] as? String, job, file: file, line: line)
        XCTAssertEqual(p["deviceId"] as? String, h.deviceId, file: file, line: line)
        XCTAssertEqual(p["userId"] as? String, h.user, file: file, line: line)
        XCTAssertEqual(p["algorithm"] as? String, "ECDSA-P256-SHA256", file: file, line: line)
        XCTAssertEqual(p["level"] as? String, level, file: file, line: line)
        let dtbs = try XCTUnwrap(Data(base64Encoded: p["dtbs"] as? String ?? ""), "dtbs is base64: \(p)", file: file, line: line)
        XCTAssertEqual(dtbs.first, 0x31, "the DTBS is the DER SET of the signed attributes", file: file, line: line)
        let dtbsPath = h.root + "/dtbs-\(job).bin"
        try dtbs.write(to: URL(fileURLWithPath: dtbsPath))
        XCTAssertEqual((p["dtbsSha256"] as? String)?.lowercased(), try PipelineHarness.sha256(dtbsPath), "dtbsSha256", file: file, line: line)
        let expires = ExternalModeTests.parseISO8601(p["expiresAt"] as? String)
        XCTAssertNotNil(expires, "expiresAt is ISO 8601: \(String(describing: p["expiresAt"]))", file: file, line: line)
        if let expires { XCTAssertGreaterThan(expires, h.clock.now, "expiresAt is in the future", file: file, line: line) }
        let document = p["document"] as? [String: Any]
        XCTAssertFalse((document?["name"] as? String ?? "").isEmpty, "document.name: \(p)", file: file, line: line)
        XCTAssertEqual(document?["sha256"] as? String, try PipelineHarness.sha256(PipelineHarness.samplePDF), "document.sha256", file: file, line: line)
    }

}
