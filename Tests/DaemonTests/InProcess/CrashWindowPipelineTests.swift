import Daemon
import Foundation
import JobEngine
import Jobs
import StateStore
import XCTest

/// The on-disk state a crash leaves between two steps, built by hand, then a restart (a new
/// pipeline over the same directories, `recover()`): the job must still end exactly once, as
/// docs/spool.md promises. In-process: the pipeline is called directly, nothing waits.
/// (The kill -9 test stays process-level: CrashRecoveryTests.)
final class CrashWindowPipelineTests: PipelineTestCase {

    /// Crash in the claim between the two renames, as an older signd ordered them:
    /// work/<job>/document.pdf exists, the manifest is still in incoming/.
    func testCrashBetweenClaimRenamesStillCompletesTheJob() async throws {
        let manifest = try h.manifest(pdf: try h.samplePDFCopy(named: "w1.pdf"), job: "w1")
        try FileManager.default.createDirectory(atPath: h.work + "/w1", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PipelineHarness.samplePDF, toPath: h.work + "/w1/document.pdf")
        try h.drop(manifest: manifest, as: "w1.json")

        try await h.restart()
        await h.scan()
        XCTAssertEqual(h.outcome(of: "w1"), .done, "a crash between moving the PDF and the manifest into work/ must not lose the job\n\(h.spoolListing())")
        XCTAssertEqual(h.entries(h.work), [], "nothing stranded in work/")
    }

    /// Crash after both renames, before the state row: recovered from work/.
    func testCrashAfterClaimRenamesBeforeStateRowIsRecovered() async throws {
        try h.placeClaimedWork(job: "w2")
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "w2"), .done, h.spoolListing())
        XCTAssertEqual(h.entries(h.work), [])
        XCTAssertEqual(h.entries(h.archive), ["w2.json", "w2.pdf"])
        try await h.assertVerifies(h.done + "/w2.pdf", level: "B-B")
    }

    /// The same recovered job must still be audited as received (one event per step).
    func testJobRecoveredFromWorkIsAuditedAsReceived() async throws {
        try h.placeClaimedWork(job: "w2a")
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "w2a"), .done, h.spoolListing())
        XCTAssertEqual(try h.auditTypes(job: "w2a"), ["job.received", "job.authorized", "job.signed", "job.delivered"],
                       "a job claimed by recovery has the same audit trail")
    }

    /// Crash after the authorization was consumed, before the state moved to `authorized`: the
    /// restart must not refuse the job's own authorization as a replay.
    func testCrashAfterNonceConsumedBeforeAuthorizedStateCompletesTheJob() async throws {
        let manifest = try h.placeClaimedWork(job: "w3")
        let nonce = try XCTUnwrap(manifest.authorization?.statement?.nonce)
        // The state row (claimed) and the consumed nonce, as the daemon had written them.
        try h.insertJob("w3", state: .claimed)
        XCTAssertTrue(try h.database.consumeNonce("device:\(h.deviceId):\(nonce)", deviceId: h.deviceId, jobId: "w3",
                                                  expiresAt: h.clock.now.addingTimeInterval(600), now: h.clock.now))

        try await h.restart()
        let precise = try h.auditCodes(job: "w3", type: "job.denied")
        XCTAssertEqual(h.outcome(of: "w3"), .done, "the job's own consumed authorization was refused after the restart (audit: \(precise))")
    }

    /// Crash in delivery after the inputs were archived, before result.json was written: the
    /// result written on restart must still describe the job (level).
    func testCrashBeforeResultFileWrittenStillWritesCompleteResult() async throws {
        let intake = try await h.submit("w4", level: .bb)
        XCTAssertEqual(intake, .processed(jobId: "w4"))
        XCTAssertEqual(h.outcome(of: "w4"), .done)
        let original = try h.resultJSON(of: "w4")
        // Roll back to: signed.pdf published, inputs archived, work/w4/ still there, state `signed`.
        try FileManager.default.removeItem(atPath: h.done + "/w4.result.json")
        try FileManager.default.createDirectory(atPath: h.work + "/w4", withIntermediateDirectories: true)
        try rollBackToSigned("w4")

        try await h.restart()
        XCTAssertEqual(h.outcome(of: "w4"), .done, h.spoolListing())
        let result = try h.resultJSON(of: "w4")
        XCTAssertEqual(result["documentSha256"] as? String, original["documentSha256"] as? String)
        XCTAssertEqual(result["level"] as? String, "B-B", "result.json written after the crash lost the level: \(result)")
        XCTAssertEqual(h.entries(h.work), [])
    }

    /// Crash in delivery after result.json and the work directory were handled, before the state
    /// row moved to `delivered` (the order of session-1 signd): no work directory is left for
    /// recovery to find, so the state database alone must lead the restart to finish the job.
    func testCrashAfterWorkDirectoryRemovedBeforeDeliveredStateIsFinished() async throws {
        let intake = try await h.submit("w5", level: .bb)
        XCTAssertEqual(intake, .processed(jobId: "w5"))
        XCTAssertEqual(h.outcome(of: "w5"), .done)
        try rollBackToSigned("w5")

        try await h.restart()
        XCTAssertEqual(try h.job("w5").state, .delivered, "a signed job whose outputs are in done/ must end as delivered after a restart")
        XCTAssertEqual(try h.auditTypes(job: "w5"), ["job.received", "job.authorized", "job.signed", "job.delivered"],
                       "the redone delivery must not be audited twice")
    }

    /// Crash after the state row said `delivered`, before the work files were removed: the
    /// restart cleans up and records nothing new.
    func testFinishedJobsLeftoverWorkDirectoryIsRemoved() async throws {
        let intake = try await h.submit("w6", level: .bb)
        XCTAssertEqual(intake, .processed(jobId: "w6"))
        XCTAssertEqual(h.outcome(of: "w6"), .done)
        try Data("leftover".utf8).write(to: URL(fileURLWithPath: h.work + "/w6.signed.pdf"))

        try await h.restart()
        XCTAssertEqual(h.entries(h.work), [], "work/ of a delivered job must be removed on restart")
        XCTAssertEqual(try h.auditTypes(job: "w6"), ["job.received", "job.authorized", "job.signed", "job.delivered"])
    }

    /// Crash while failing a job, after its inputs were moved to failed/, before the report and
    /// the state: the restart completes the failure (report written, state failed, work/ gone).
    func testCrashWhileFailingAJobCompletesTheFailure() async throws {
        try h.placeClaimedWork(job: "w7")
        try FileManager.default.moveItem(atPath: h.work + "/w7.document.pdf", toPath: h.failed + "/w7.pdf")
        try FileManager.default.moveItem(atPath: h.work + "/w7.manifest.json", toPath: h.failed + "/w7.json")
        try h.insertJob("w7", state: .claimed) { $0.errorCode = "sca.denied" }

        try await h.restart()
        XCTAssertEqual(h.outcome(of: "w7"), .failed(code: "sca.denied"), "the interrupted failure keeps its code\n\(h.spoolListing())")
        XCTAssertEqual(h.entries(h.work), [], "work/ is empty")
        XCTAssertEqual(try h.job("w7").state, .failed)
        XCTAssertTrue(h.entries(h.failed).contains("w7.pdf"), "the original stays in failed/")
    }

    /// A job claimed by an older signd (a `work/<job>/` directory) whose id ends like a work file
    /// kind (`old.signed.pdf` is not the signed output of a job `old`): the restart flattens the
    /// directory and finishes that job.
    func testOlderWorkDirectoryIsFlattenedAndFinished() async throws {
        let job = "old.signed.pdf"
        let manifest = try h.manifest(pdf: try h.samplePDFCopy(named: "old-input.pdf"), job: job)
        let dir = h.work + "/" + job
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PipelineHarness.samplePDF, toPath: dir + "/document.pdf")
        try PipelineHarness.encode(manifest).write(to: URL(fileURLWithPath: dir + "/manifest.json"))

        try await h.restart()
        await h.scan()
        XCTAssertEqual(h.outcome(of: job), .done, h.spoolListing())
        XCTAssertEqual(h.entries(h.work), [], "the old directory is flattened, then emptied")
        XCTAssertTrue(h.exists(h.archive + "/\(job).pdf"), h.spoolListing())
    }

    /// The row as an older daemon left it in delivery: `signed`, waiting to deliver, no result
    /// path (the hand-written `UPDATE job SET state = 'signed', pendingAction = 'deliver',
    /// resultPath = NULL` of the process-level test).
    func rollBackToSigned(_ job: String) throws {
        var row = try h.job(job)
        row.state = .signed
        row.pendingAction = "deliver"
        row.resultPath = nil
        try h.database.transitionJob(row)
    }
}
