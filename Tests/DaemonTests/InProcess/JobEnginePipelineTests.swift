import Daemon
import Foundation
import JobEngine
import Jobs
import StateStore
import XCTest

/// The poison-job guard, the re-checks of a resumed job (issue 11), retries with backoff under
/// the manual clock, and the compare-and-set of the job's state, in-process.
final class JobEnginePipelineTests: PipelineTestCase {

    /// The sample with bytes appended after its %%EOF: still a PDF that signd would sign, but not
    /// the document the user approved.
    func changedSample() throws -> Data {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: PipelineHarness.samplePDF))
        bytes.append(Data("% a line added after the approval\n".utf8))
        return bytes
    }

    // MARK: - The poison-job guard

    /// A job whose attempt was interrupted by a crash for the second time is set aside with
    /// `job.crashed`, its files kept, instead of being replayed at every start.
    func testJobInterruptedTwiceIsSetAsideWithItsFiles() async throws {
        try h.placeClaimedWork(job: "poison1")
        try h.insertJob("poison1", state: .claimed) {
            $0.attemptInProgress = true
            $0.interruptions = 1
        }
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "poison1"), .failed(code: "job.crashed"), h.spoolListing())
        XCTAssertTrue(h.exists(h.failed + "/poison1.pdf"), "the document is kept")
        XCTAssertTrue(h.exists(h.failed + "/poison1.json"), "the manifest is kept")
        XCTAssertEqual(h.entries(h.work).filter { $0.hasPrefix("poison1") }, [])
        let row = try h.job("poison1")
        XCTAssertEqual(row.state, .failed)
        XCTAssertEqual(row.interruptions, 2)
        XCTAssertFalse(row.attemptInProgress)
    }

    /// One interruption is counted and the job is tried again (and signed).
    func testJobInterruptedOnceIsCountedAndCompleted() async throws {
        try h.placeClaimedWork(job: "poison2")
        try h.insertJob("poison2", state: .claimed) { $0.attemptInProgress = true }
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "poison2"), .done, h.spoolListing())
        let row = try h.job("poison2")
        XCTAssertEqual(row.interruptions, 1)
        XCTAssertFalse(row.attemptInProgress)
    }

    /// The limit is the spool's: with `maximumInterruptions` 3 the second interruption is only counted.
    func testInterruptionLimitIsTheConfiguredOne() async throws {
        try h.placeClaimedWork(job: "poison3")
        try h.insertJob("poison3", state: .claimed) {
            $0.attemptInProgress = true
            $0.interruptions = 1
        }
        try await h.restart { $0.maximumInterruptions = 3 }
        XCTAssertEqual(h.outcome(of: "poison3"), .done, h.spoolListing())
        XCTAssertEqual(try h.job("poison3").interruptions, 2)
    }

    // MARK: - A resumed job is checked again

    /// A job resumed after its authorization was consumed (a TSA outage or a crash made the window
    /// long) whose document in work/ no longer has the approved bytes: nothing is signed.
    func testResumedJobWhoseDocumentChangedAfterApprovalIsNotSigned() async throws {
        try h.placeClaimedWork(job: "chg1", document: try changedSample())
        try h.insertJob("chg1", state: .authorized)
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "chg1"), .failed(code: "document.changed"), "bytes the user never approved were signed\n\(h.spoolListing())")
        XCTAssertFalse(h.exists(h.done + "/chg1.pdf"), "nothing may be released")
        XCTAssertTrue(h.exists(h.failed + "/chg1.pdf"), "the document is kept in failed/")
        XCTAssertEqual(h.entries(h.work).filter { $0.hasPrefix("chg1") }, [])
    }

    /// A job resumed after the spool's default appearance changed would be signed with a reason
    /// nobody approved: refused, and the precise code is audited.
    func testResumedJobWithChangedDefaultAppearanceIsRefused() async throws {
        try h.placeClaimedWork(job: "app1")
        try h.insertJob("app1", state: .authorized) {
            $0.level = "B-B"
            $0.appearanceSha256 = ApprovedAppearance.sha256Hex(nil)
        }
        try await h.restart {
            $0.manifestDefaults = ManifestDefaults(appearance: SignManifest.Appearance(reason: "Added after the approval"))
        }
        XCTAssertEqual(h.outcome(of: "app1"), .failed(code: "sca.denied"), h.spoolListing())
        XCTAssertEqual(try h.auditCodes(job: "app1", type: "job.denied"), ["sca.appearanceMismatch"])
        XCTAssertFalse(h.exists(h.done + "/app1.pdf"))
    }

    /// A PDF that the producer keeps a second name for (a hard link) could be rewritten after the
    /// approval: refused at intake.
    func testHardLinkedDocumentIsRefused() async throws {
        let outside = try h.samplePDFCopy(named: "linked.pdf")
        let manifest = try h.manifest(pdf: outside, job: "lnk1")
        XCTAssertEqual(link(outside, h.incoming + "/linked.pdf"), 0, "link: errno \(errno)")
        try h.drop(manifest: manifest, as: "lnk1.json")
        let intake = await h.intake("lnk1.json")
        XCTAssertEqual(intake, .rejected(code: "document.linked"))
        XCTAssertEqual(h.outcome(of: "lnk1"), .failed(code: "document.linked"), h.spoolListing())
        XCTAssertFalse(h.exists(h.done + "/lnk1.pdf"))
    }

    // MARK: - Retries

    /// The TSA fails twice, then answers: the job is retried with backoff as JobPolicy says
    /// (base · 2^n after n retries) only when the clock reaches nextAttemptAt, and is delivered
    /// once, each step audited once.
    func testTSAOutageIsRetriedWithBackoffThenDelivered() async throws {
        let policy = JobPolicy(maximumRetries: h.configuration.maximumRetries, retryBase: h.configuration.retryBase,
                               maximumInterruptions: h.configuration.maximumInterruptions)
        h.tsa.failNext(2)
        let started = h.clock.now
        let intake = try await h.submit("retry1", level: .bt)
        XCTAssertEqual(intake, .processed(jobId: "retry1"))
        XCTAssertNil(h.outcome(of: "retry1"), "a TSA outage is retried, not the end of the job\n\(h.spoolListing())")

        var row = try h.job("retry1")
        XCTAssertEqual(row.state, .authorized, "the approval is consumed once; the signing step is retried")
        XCTAssertEqual(row.pendingAction, "sign")
        XCTAssertEqual(row.attempts, 1)
        XCTAssertEqual(row.nextAttemptAt, started.addingTimeInterval(policy.retryDelay(afterAttempts: 0)))
        XCTAssertEqual(row.errorCode, "tsa.unreachable")
        XCTAssertFalse(row.attemptInProgress, "a job waiting for its retry has no attempt under way")

        // Not due yet: nothing runs.
        await h.advance(by: policy.retryDelay(afterAttempts: 0) - 1)
        XCTAssertEqual(try h.job("retry1").attempts, 1)
        XCTAssertEqual(h.tsa.requests, 1)
        await h.process("retry1")
        XCTAssertEqual(h.tsa.requests, 1, "process() before nextAttemptAt does not run the job")

        // Due: the second attempt fails too; the next delay doubles.
        await h.advance(by: 1)
        row = try h.job("retry1")
        XCTAssertEqual(h.tsa.requests, 2)
        XCTAssertEqual(row.attempts, 2)
        XCTAssertEqual(row.nextAttemptAt, h.clock.now.addingTimeInterval(policy.retryDelay(afterAttempts: 1)))
        XCTAssertEqual(policy.retryDelay(afterAttempts: 1), 2 * policy.retryDelay(afterAttempts: 0))

        await h.advance(by: policy.retryDelay(afterAttempts: 1) - 1)
        XCTAssertEqual(h.tsa.requests, 2)
        XCTAssertNil(h.outcome(of: "retry1"))

        // The TSA answers: delivered.
        await h.advance(by: 1)
        XCTAssertEqual(h.outcome(of: "retry1"), .done, "\(h.spoolListing())\n\(h.failedReports())")
        XCTAssertEqual(h.tsa.requests, 3)
        row = try h.job("retry1")
        XCTAssertEqual(row.state, .delivered)
        XCTAssertNil(row.nextAttemptAt)
        try await h.assertVerifies(h.done + "/retry1.pdf", level: "B-T")
        let types = try h.auditTypes(job: "retry1")
        for step in ["job.received", "job.authorized", "job.signed", "job.timestamped", "job.delivered"] {
            XCTAssertEqual(types.filter { $0 == step }.count, 1, "\(step) once in \(types)")
        }
        XCTAssertFalse(types.contains("job.failed"), "\(types)")
        XCTAssertEqual(h.pipeline.dueRetries(), [])
    }

    /// A TSA that stays down: after `maximumRetries` retries the job fails with the TSA's code,
    /// its files in failed/.
    func testRetriesEndAtTheConfiguredLimit() async throws {
        try await h.restart { $0.maximumRetries = 2 }
        h.tsa.failNext(.max)
        let intake = try await h.submit("retry2", level: .bt)
        XCTAssertEqual(intake, .processed(jobId: "retry2"))
        let policy = JobPolicy(maximumRetries: 2, retryBase: h.configuration.retryBase)
        await h.advance(by: policy.retryDelay(afterAttempts: 0))
        XCTAssertNil(h.outcome(of: "retry2"))
        XCTAssertEqual(try h.job("retry2").attempts, 2)
        await h.advance(by: policy.retryDelay(afterAttempts: 1))
        XCTAssertEqual(h.outcome(of: "retry2"), .failed(code: "tsa.unreachable"), h.spoolListing())
        XCTAssertEqual(h.tsa.requests, 3, "the first attempt and two retries")
        XCTAssertEqual(try h.job("retry2").state, .failed)
        XCTAssertTrue(h.exists(h.failed + "/retry2.pdf"), h.spoolListing())
        XCTAssertEqual(h.entries(h.work), [])
    }

    /// A job waiting for its retry when the daemon restarts is not run early by the recovery;
    /// it runs when due.
    func testRetryScheduledBeforeARestartWaitsForItsTime() async throws {
        h.tsa.failNext(1)
        _ = try await h.submit("retry3", level: .bt)
        let due = try XCTUnwrap(try h.job("retry3").nextAttemptAt)
        try await h.restart()
        XCTAssertEqual(h.tsa.requests, 0, "the restarted daemon's recovery must not run a job before its retry time")
        XCTAssertEqual(try h.job("retry3").attempts, 1)
        await h.advance(by: due.timeIntervalSince(h.clock.now))
        XCTAssertEqual(h.outcome(of: "retry3"), .done, h.spoolListing())
    }

    // MARK: - Compare-and-set

    /// A stale row (read before another writer moved the job on) is never written over the newer one.
    func testStaleJobRecordLosesTheCompareAndSet() async throws {
        let intake = try await h.submit("cas1", level: .bb)
        XCTAssertEqual(intake, .processed(jobId: "cas1"))
        let current = try h.job("cas1")
        XCTAssertEqual(current.state, .delivered)

        // Another writer moves the job on from the same version first.
        var first = current
        first.resultPath = "/elsewhere"
        let written = try h.database.transitionJob(first)
        XCTAssertEqual(written.version, current.version + 1)

        var stale = current
        stale.state = .failed
        stale.errorCode = "stale.write"
        XCTAssertThrowsError(try h.database.transitionJob(stale)) { error in
            let conflict = error as? JobTransitionConflict
            XCTAssertNotNil(conflict, "\(error)")
            XCTAssertEqual(conflict?.jobId, "cas1")
            XCTAssertEqual(conflict?.expectedVersion, current.version)
        }
        let after = try h.job("cas1")
        XCTAssertEqual(after.state, .delivered, "the stale write did not happen")
        XCTAssertEqual(after.resultPath, "/elsewhere")
        XCTAssertEqual(after.version, current.version + 1)
        XCTAssertNil(after.errorCode)
    }

    /// A row for a job that does not exist is a conflict too, never an insert.
    func testTransitionOfAnUnknownJobIsAConflict() throws {
        let ghost = JobRecord(jobId: "ghost", spool: "default", state: .claimed, documentSha256: PipelineHarness.sampleDigest,
                              userId: h.user, deviceId: h.deviceId, now: h.clock.now)
        XCTAssertThrowsError(try h.database.transitionJob(ghost)) { XCTAssertTrue($0 is JobTransitionConflict, "\($0)") }
        XCTAssertNil(try h.database.job("ghost"))
    }
}
