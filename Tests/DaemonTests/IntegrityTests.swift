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
/// ever replacing another job's report.
final class IntegrityTests: DaemonTestCase {
    static let sampleDigest = CrashWindowTests.sampleDigest

    /// A claimed job's manifest and a document in work/ as a crash leaves them; `document` are
    /// the bytes in work/ (the approved sample unless given).
    func placeWorkFiles(job: String, document: Data? = nil) throws -> [String: Any] {
        let f = fixture!
        let manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "\(job).pdf"), job: job)
        let bytes = try document ?? Data(contentsOf: URL(fileURLWithPath: DaemonFixture.samplePDF))
        try bytes.write(to: URL(fileURLWithPath: f.work + "/\(job).document.pdf"))
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: f.work + "/\(job).manifest.json"))
        return manifest
    }

    func runSQL(_ sql: String) throws {
        let f = fixture!
        let out = try f.sqlite(f.dataDir + "/state.sqlite", sql)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "sqlite3"))
    }

    /// The sample with bytes appended after its %%EOF: still a PDF that signd would sign, but not
    /// the document the user approved.
    func changedSample() throws -> Data {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: DaemonFixture.samplePDF))
        bytes.append(Data("% a line added after the approval\n".utf8))
        return bytes
    }

    /// A job resumed after its authorization was consumed (a TSA outage or a crash made the window
    /// long) whose document in work/ no longer has the approved bytes: nothing is signed.
    func testResumedJobWhoseDocumentChangedAfterApprovalIsNotSigned() throws {
        let f = fixture!
        _ = try placeWorkFiles(job: "chg1", document: try changedSample())
        try runSQL(f.jobRowSQL("chg1", state: "authorized", documentSha256: Self.sampleDigest))

        let daemon = try f.startDaemon()
        let outcome = try f.waitForOutcome(of: "chg1", timeout: 20)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .failed(code: "document.changed"), "bytes the user never approved were signed\n\(f.spoolListing())")
        XCTAssertFalse(f.exists(f.done + "/chg1.pdf"), "nothing may be released")
        XCTAssertTrue(f.exists(f.failed + "/chg1.pdf"), "the document is kept in failed/")
        XCTAssertEqual(f.entries(f.work).filter { $0.hasPrefix("chg1") }, [])
    }

    /// A PDF that the producer keeps a second name for (a hard link) could be rewritten after the
    /// approval: refused at intake.
    func testHardLinkedDocumentIsRefused() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let outside = try f.samplePDFCopy(named: "linked.pdf")
        let manifest = try f.manifest(pdf: outside, job: "lnk1")
        XCTAssertEqual(link(outside, f.incoming + "/linked.pdf"), 0, "link: errno \(errno)")
        try f.drop(manifest: manifest, as: "lnk1.json")
        let outcome = try f.waitForOutcome(of: "lnk1", timeout: 20)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .failed(code: "document.linked"), f.spoolListing())
        XCTAssertFalse(f.exists(f.done + "/lnk1.pdf"))
    }

    /// A job resumed after the spool's default appearance changed would be signed with a reason
    /// nobody approved: refused, and the precise code is audited.
    func testResumedJobWithChangedDefaultAppearanceIsRefused() throws {
        let f = fixture!
        _ = try placeWorkFiles(job: "app1")
        let approved = ApprovedAppearance.sha256Hex(nil)
        try runSQL(f.jobRowSQL("app1", state: "authorized", documentSha256: Self.sampleDigest)
                   + " UPDATE job SET level = 'B-B', appearanceSha256 = '\(approved)' WHERE jobId = 'app1';")
        let configuration = #"{"spools":[{"name":"default","appearance":{"reason":"Added after the approval"}}]}"#
        let daemon = try f.startDaemon(configuration: configuration)
        let outcome = try f.waitForOutcome(of: "app1", timeout: 20)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .failed(code: "sca.denied"), f.spoolListing())
        let codes = try f.auditEvents(job: "app1", type: "job.denied").map { DaemonFixture.details($0)["code"] ?? "?" }
        XCTAssertEqual(codes, ["sca.appearanceMismatch"])
        XCTAssertFalse(f.exists(f.done + "/app1.pdf"))
    }

    /// The poison-job guard: a job whose attempt was interrupted by a crash for the second time
    /// is set aside with `job.crashed`, its files kept, instead of being replayed at every start.
    func testJobInterruptedTwiceIsSetAsideWithItsFiles() throws {
        let f = fixture!
        _ = try placeWorkFiles(job: "poison1")
        try runSQL(f.jobRowSQL("poison1", state: "claimed", documentSha256: Self.sampleDigest)
                   + " UPDATE job SET attemptInProgress = 1, interruptions = 1 WHERE jobId = 'poison1';")
        let daemon = try f.startDaemon()
        let outcome = try f.waitForOutcome(of: "poison1", timeout: 20)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .failed(code: "job.crashed"), f.spoolListing())
        XCTAssertTrue(f.exists(f.failed + "/poison1.pdf"), "the document is kept")
        XCTAssertTrue(f.exists(f.failed + "/poison1.json"), "the manifest is kept")
        XCTAssertEqual(f.entries(f.work).filter { $0.hasPrefix("poison1") }, [])
    }

    /// One interruption is counted and the job is tried again (and signed).
    func testJobInterruptedOnceIsCountedAndCompleted() throws {
        let f = fixture!
        _ = try placeWorkFiles(job: "poison2")
        try runSQL(f.jobRowSQL("poison2", state: "claimed", documentSha256: Self.sampleDigest)
                   + " UPDATE job SET attemptInProgress = 1 WHERE jobId = 'poison2';")
        let daemon = try f.startDaemon()
        let outcome = try f.waitForOutcome(of: "poison2", timeout: 20)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .done, f.spoolListing() + f.logs)
        let row = try f.sqlite(f.dataDir + "/state.sqlite", "SELECT interruptions, attemptInProgress FROM job WHERE jobId = 'poison2'")
        XCTAssertEqual(row.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "1|0")
    }

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

    /// Bytes the daemon process has read through system calls (`rchar` of /proc/<pid>/io).
    func bytesRead(_ daemon: DaemonProcess) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(daemon.pid)/io", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("rchar:") }),
              let value = Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)) else {
            throw HarnessError("no rchar in /proc/\(daemon.pid)/io: \(text)")
        }
        return value
    }

    /// A PDF that does not hash to its manifest is hashed again only when it changes: over a
    /// 12 s document timeout (two 5 s rescans and the inotify event) a 16 MiB PDF is read once,
    /// not three times.
    func testMismatchingPDFIsHashedAgainOnlyWhenItChanges() throws {
        let f = fixture!
        let daemon = try f.startDaemon(configuration: Self.shortTimeoutConfiguration(12))
        var manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "big.pdf"), job: "big1")
        var document = manifest["document"] as! [String: Any]
        document["sha256"] = String(repeating: "0", count: 64)
        manifest["document"] = document
        let size = 16 << 20
        let before = try bytesRead(daemon)
        try f.drop(Data(count: size), as: "big.pdf")
        try f.drop(manifest: manifest, as: "big1.json")
        let outcome = try f.waitForOutcome(of: "big1", timeout: 40)
        let read = try bytesRead(daemon) - before
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .failed(code: "document.digestMismatch"))
        XCTAssertLessThan(read, 2 * size, "the unchanged PDF was hashed again at every rescan (\(read) bytes read)")
        XCTAssertGreaterThanOrEqual(read, size, "the PDF was hashed at least once")
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
