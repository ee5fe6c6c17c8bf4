#if canImport(Glibc)
import Glibc
#endif
import Daemon
import Foundation
import JobEngine
import Jobs
import StateStore
import XCTest

/// What is signed is what was approved (issue 11), in-process (was IntegrityTests through the
/// daemon): odd inputs are reported once without ever replacing another job's report, and a
/// producer still holding a descriptor of the PDF it handed over cannot change what is signed.
/// The resumed-job re-checks, the hard-link refusal and the poison-job guard are in
/// JobEnginePipelineTests, the digest cache in IntakePipelineTests.
final class IntegrityPipelineTests: PipelineTestCase {
    /// Each test makes its own harness.
    override func makeHarness() async throws -> PipelineHarness? { nil }

    /// A FIFO named like a manifest is reported once and moved out of incoming/ (never opened,
    /// so it cannot hang a worker), not reported again at every rescan.
    func testFIFONamedLikeAManifestIsReportedOnceAndMovedOut() async throws {
        h = try await PipelineHarness.make()
        XCTAssertEqual(mkfifo(h.incoming + "/pipe.json", 0o644), 0, "mkfifo: errno \(errno)")
        // Looked at off the test's task: a pipeline that opens the FIFO blocks for good, and the
        // test must fail, not hang.
        let looked = expectation(description: "the intake of pipe.json returns")
        let pipeline = h.pipeline
        Task.detached {
            _ = await pipeline.intake(manifestName: "pipe.json")
            looked.fulfill()
        }
        await fulfillment(of: [looked], timeout: 20)
        XCTAssertTrue(h.exists(h.failed + "/pipe.error.json"), h.spoolListing())
        XCTAssertFalse(h.entries(h.incoming).contains("pipe.json"), "the FIFO stays in incoming/ and is reported again at every rescan")
        // Rescans, and the pipeline still works after it.
        await h.advance(by: 5)
        await h.advance(by: 5)
        let intake = try await h.submit("after-fifo")
        XCTAssertEqual(intake, .processed(jobId: "after-fifo"))
        XCTAssertEqual(h.outcome(of: "after-fifo"), .done, h.spoolListing())
        XCTAssertEqual(h.entries(h.failed).filter { $0.hasPrefix("pipe") && $0.hasSuffix(".error.json") }, ["pipe.error.json"])
        XCTAssertEqual(try h.jsonObject(h.failed + "/pipe.error.json")["code"] as? String, "spool.notRegularFile")
    }

    /// A report never replaces another one: a rejected manifest whose file name is another job's
    /// id, then that job failing, leave two reports, each naming its own input.
    func testErrorReportsNeverReplaceAnotherInputsReport() async throws {
        h = try await PipelineHarness.make()
        try h.drop(Data("{ not json".utf8), as: "victim.json")
        let rejected = await h.intake("victim.json")
        XCTAssertEqual(rejected, .rejected(code: "manifest.invalidJSON"))
        XCTAssertTrue(h.exists(h.failed + "/victim.error.json"), h.spoolListing())
        // Job `victim` with an authorization that does not verify: it fails with sca.denied.
        var manifest = try PipelineHarness.object(try h.manifest(pdf: try h.samplePDFCopy(named: "victim.pdf"), job: "victim"))
        var authorization = manifest["authorization"] as! [String: Any]
        var statement = authorization["statement"] as! [String: Any]
        statement["nonce"] = "AAAAAAAAAAAAAAAAAAAAAA"
        authorization["statement"] = statement
        manifest["authorization"] = authorization
        try h.drop(file: h.root + "/victim.pdf", as: "victim.pdf")
        try h.drop(object: manifest, as: "victim-job.json")
        let intake = await h.intake("victim-job.json")
        XCTAssertEqual(intake, .processed(jobId: "victim"))
        // Its outcome by the state row: failed/victim.error.json is the first input's report.
        let row = try h.job("victim")
        XCTAssertEqual(row.state, .failed, h.spoolListing())
        XCTAssertEqual(row.errorCode, "sca.denied")
        let reports = h.entries(h.failed).filter { $0.hasSuffix(".error.json") }
        let contents = try reports.map { try h.jsonObject(h.failed + "/" + $0) }
        XCTAssertEqual(reports.count, 2, "\(reports)")
        XCTAssertTrue(contents.contains { $0["jobId"] as? String == "victim" && $0["code"] as? String == "sca.denied" }, "\(contents)")
        XCTAssertTrue(contents.contains { ($0["jobId"] as? String) == nil && ($0["code"] as? String)?.hasPrefix("manifest.") == true },
                      "the first report was replaced: \(contents)")
    }

    /// External mode: phase one and phase two read signd's private copy of the document, proven
    /// against the approved digest; a producer still holding a descriptor of the file it handed
    /// over cannot change what is signed.
    func testProducerWritingThroughAKeptDescriptorCannotChangeTheSignedBytes() async throws {
        h = try await PipelineHarness.make(enrollment: .external)
        let original = try Data(contentsOf: URL(fileURLWithPath: PipelineHarness.samplePDF))
        let manifest = try h.manifest(pdf: try h.samplePDFCopy(named: "fd1.pdf"), job: "fd1", mode: .external)
        // The producer writes the PDF under a temporary name, renames it in, and keeps its
        // descriptor open for writing.
        let temporary = h.incoming + "/.fd1.pdf.tmp"
        FileManager.default.createFile(atPath: temporary, contents: original)
        let kept = try XCTUnwrap(FileHandle(forWritingAtPath: temporary))
        defer { try? kept.close() }
        XCTAssertEqual(rename(temporary, h.incoming + "/fd1.pdf"), 0)
        try h.drop(manifest: manifest, as: "fd1.json")
        let intake = await h.intake("fd1.json")
        XCTAssertEqual(intake, .processed(jobId: "fd1"))
        XCTAssertEqual(h.pendingPaths, ["fd1.dtbs.json"], h.spoolListing())

        // After the DTBS was handed out, the producer rewrites the bytes through its descriptor.
        try kept.seek(toOffset: 0)
        kept.write(Data("%PDF-1.7\n% replaced after the approval\n".utf8))
        try kept.synchronize()

        try await h.deliverSignature(try h.signPending("fd1"), job: "fd1")
        let outcome = h.outcome(of: "fd1")
        XCTAssertEqual(outcome, .done, h.spoolListing())
        guard outcome == .done else { return }
        let signed = try Data(contentsOf: URL(fileURLWithPath: h.done + "/fd1.pdf"))
        XCTAssertEqual(signed.prefix(original.count), original, "the signed output starts with exactly the approved bytes")
        try await h.assertVerifies(h.done + "/fd1.pdf", level: "B-B")
    }
}
