#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Jobs
import TestSupport
import XCTest

/// What is signed is what was approved (issue 11): the daemon proves the bytes it signs against
/// the approved digest, refuses inputs a producer could still change, re-checks the approved terms
/// of a resumed job, sets aside a job that keeps crashing it, and reports odd inputs once without
/// ever replacing another job's report. Through the real daemon here; the resumed-job re-checks,
/// the hard-link refusal and the poison-job guard run in-process (InProcess/JobEnginePipelineTests.swift),
/// and so does the digest cache of a PDF that does not match (InProcess/IntakePipelineTests.swift).
final class IntegrityTests: DaemonTestCase {
    /// A FIFO named like a manifest is reported once and moved out of incoming/ (never opened,
    /// so it cannot hang a worker), not reported again at every rescan.
    func testFIFONamedLikeAManifestIsReportedOnceAndMovedOut() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        XCTAssertEqual(mkfifo(f.incoming + "/pipe.json", 0o644), 0, "mkfifo: errno \(errno)")
        let reported = f.waitUntil(timeout: 20) { f.exists(f.failed + "/pipe.error.json") }
        XCTAssertTrue(reported, f.spoolListing())
        XCTAssertTrue(f.waitUntil(timeout: 5) { !f.entries(f.incoming).contains("pipe.json") }, "the FIFO stays in incoming/ and is reported again at every rescan")
        // The daemon still works after it.
        let job = try f.submit(job: "after-fifo")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(f.entries(f.failed).filter { $0.hasPrefix("pipe") && $0.hasSuffix(".error.json") }, ["pipe.error.json"])
        XCTAssertEqual((try f.errorReport(f.failed + "/pipe.error.json"))["code"] as? String, "spool.notRegularFile")
    }

    /// A report never replaces another one: a rejected manifest whose file name is another job's
    /// id, then that job failing, leave two reports, each naming its own input.
    func testErrorReportsNeverReplaceAnotherInputsReport() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        try f.drop(Data("{ not json".utf8), as: "victim.json")
        XCTAssertTrue(f.waitUntil(timeout: 20) { f.exists(f.failed + "/victim.error.json") }, f.spoolListing())
        // Job `victim` with an authorization that does not verify: it fails with sca.denied.
        var manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "victim.pdf"), job: "victim")
        var authorization = manifest["authorization"] as! [String: Any]
        var statement = authorization["statement"] as! [String: Any]
        statement["nonce"] = "AAAAAAAAAAAAAAAAAAAAAA"
        authorization["statement"] = statement
        manifest["authorization"] = authorization
        try f.drop(file: f.root + "/victim.pdf", as: "victim.pdf")
        try f.drop(manifest: manifest, as: "victim-job.json")
        // Its outcome by the state row: failed/victim.error.json is the first input's report.
        let failed = f.waitUntil(timeout: 20, interval: 0.1) {
            (try? f.sqlite(f.dataDir + "/state.sqlite", "SELECT state, errorCode FROM job WHERE jobId = 'victim'"))?.stdout
                .trimmingCharacters(in: .whitespacesAndNewlines) == "failed|sca.denied"
        }
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertTrue(failed, f.spoolListing() + f.logs)
        let reports = f.entries(f.failed).filter { $0.hasSuffix(".error.json") }
        let contents = try reports.map { try f.errorReport(f.failed + "/" + $0) }
        XCTAssertEqual(reports.count, 2, "\(reports)")
        XCTAssertTrue(contents.contains { $0["jobId"] as? String == "victim" && $0["code"] as? String == "sca.denied" }, "\(contents)")
        XCTAssertTrue(contents.contains { ($0["jobId"] as? String) == nil && ($0["code"] as? String)?.hasPrefix("manifest.") == true },
                      "the first report was replaced: \(contents)")
    }
}

/// External mode: phase one and phase two read signd's private copy of the document, proven
/// against the approved digest; a producer still holding a descriptor of the file it handed over
/// cannot change what is signed.
final class ExternalIntegrityTests: DaemonTestCase {
    override class var enrollment: DaemonFixture.Enrollment { .external }

    func testProducerWritingThroughAKeptDescriptorCannotChangeTheSignedBytes() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let original = try Data(contentsOf: URL(fileURLWithPath: DaemonFixture.samplePDF))
        let manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "fd1.pdf"), job: "fd1", mode: "external")
        // The producer writes the PDF under a temporary name, renames it in, and keeps its
        // descriptor open for writing.
        let temporary = f.incoming + "/.fd1.pdf.tmp"
        FileManager.default.createFile(atPath: temporary, contents: original)
        let kept = try XCTUnwrap(FileHandle(forWritingAtPath: temporary))
        defer { try? kept.close() }
        XCTAssertEqual(rename(temporary, f.incoming + "/fd1.pdf"), 0)
        try f.drop(manifest: manifest, as: "fd1.json")
        _ = try f.waitForPending("fd1")

        // After the DTBS was handed out, the producer rewrites the bytes through its descriptor.
        try kept.seek(toOffset: 0)
        kept.write(Data("%PDF-1.7\n% replaced after the approval\n".utf8))
        try kept.synchronize()

        try f.dropSignature(Data(try f.signPending("fd1").text.utf8), job: "fd1")
        let outcome = try f.waitForOutcome(of: "fd1")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .done, "\(f.spoolListing())\n\(f.logs)")
        guard outcome == .done else { return }
        let signed = try Data(contentsOf: URL(fileURLWithPath: f.done + "/fd1.pdf"))
        XCTAssertEqual(signed.prefix(original.count), original, "the signed output starts with exactly the approved bytes")
    }
}
