import CertificateLifecycle
import Daemon
import DeviceSimulation
import Foundation
import JobEngine
import Jobs
import SCA
import StateStore
import XCTest

/// External signing mode in-process: the device simulator signs the DTBS the pipeline writes to
/// pending/, the test hands the signature to the pipeline, the manual clock runs the deadline.
/// The happy paths (with pyHanko) and the restart after SIGTERM stay process-level
/// (ExternalModeTests).
final class ExternalModePipelineTests: PipelineTestCase {
    override func makeHarness() async throws -> PipelineHarness? { try await PipelineHarness.make(enrollment: .external) }

    /// Phase one for `job`: the job waits for the device's signature; its pending file.
    @discardableResult
    func submitExternal(_ job: String, level: SignatureLevel = .bb, file: StaticString = #filePath, line: UInt = #line) async throws -> [String: Any] {
        let intake = try await h.submit(job, level: level, mode: .external)
        XCTAssertEqual(intake, .processed(jobId: job), file: file, line: line)
        XCTAssertNil(h.outcome(of: job), "an external job waits for the device's signature\n\(h.spoolListing())", file: file, line: line)
        XCTAssertEqual(try h.job(job).state, .awaitingSignature, file: file, line: line)
        return try h.pendingFile(job)
    }

    // MARK: - The deadline

    /// No signature by the deadline (`externalSignatureTimeout` after phase one): the job fails
    /// with `external.expired` once the clock passes it, not a second earlier; the DTBS is withdrawn.
    func testNoSignatureBeforeTheDeadlineExpiresTheJob() async throws {
        let timeout = h.configuration.externalSignatureTimeout
        let prepared = h.clock.now
        let pending = try await submitExternal("exp1")
        let deadline = try XCTUnwrap(try h.job("exp1").signatureDeadline)
        XCTAssertEqual(deadline, prepared.addingTimeInterval(timeout))
        XCTAssertEqual(ExternalModeTests.parseISO8601(pending["expiresAt"] as? String), deadline, "the pending file states the deadline: \(pending)")

        await h.advance(by: timeout)
        XCTAssertNil(h.outcome(of: "exp1"), "at the deadline itself the job still waits")
        XCTAssertEqual(try h.job("exp1").state, .awaitingSignature)

        await h.advance(by: 1)
        XCTAssertEqual(h.outcome(of: "exp1"), .failed(code: "external.expired"), h.spoolListing())
        XCTAssertEqual(try h.job("exp1").state, .failed)
        XCTAssertFalse(h.exists(h.pending + "/exp1.dtbs.json"), "an expired job's DTBS request is withdrawn\n\(h.spoolListing())")
        XCTAssertTrue(h.exists(h.failed + "/exp1.pdf"), "the document is kept in failed/")
        XCTAssertEqual(h.entries(h.work), [])
        XCTAssertEqual(try h.auditCodes(job: "exp1", type: "job.failed"), ["external.expired"])

        // A signature that comes now finds no job waiting.
        let late = try h.device.signPending(Data(try JSONSerialization.data(withJSONObject: pending)))
        try await h.deliverSignature(try JSONEncoder().encode(late), job: "exp1")
        XCTAssertTrue(h.failedReports().contains { $0.code == "external.unknownJob" }, "\(h.failedReports())")
        XCTAssertEqual(h.outcome(of: "exp1"), .failed(code: "external.expired"), "the job's own report is not replaced")
    }

    /// The signature arrives after the deadline, before the expiry ran: refused as late.
    func testSignatureAfterTheDeadlineIsRefusedAsLate() async throws {
        try await submitExternal("exp2")
        let answer = try h.signPending("exp2")
        h.clock.advance(by: h.configuration.externalSignatureTimeout + 1)  // no rescan ran meanwhile
        try await h.deliverSignature(answer, job: "exp2")
        XCTAssertEqual(h.outcome(of: "exp2"), .failed(code: "external.expired"), h.spoolListing())
        XCTAssertFalse(h.exists(h.done + "/exp2.pdf"))
        XCTAssertEqual(h.entries(h.signatures), [], "the late signature leaves signatures/")
    }

    /// A signature that arrives just before the deadline is used, even when completing it runs past the deadline.
    func testSignatureJustBeforeTheDeadlineIsUsed() async throws {
        try await submitExternal("exp3", level: .bt)
        let answer = try h.signPending("exp3")
        h.tsa.failNext(1)
        await h.advance(by: h.configuration.externalSignatureTimeout - 1)
        try await h.deliverSignature(answer, job: "exp3")
        XCTAssertNil(h.outcome(of: "exp3"), "TSA down: the completion is retried")
        XCTAssertEqual(try h.job("exp3").pendingAction, "completeExternal")
        // The retry runs after the deadline: the signature came in time, so it is not expired.
        await h.advance(by: h.configuration.retryBase + 5)
        XCTAssertEqual(h.outcome(of: "exp3"), .done, "\(h.spoolListing())\n\(h.failedReports())")
        try await h.assertVerifies(h.done + "/exp3.pdf", level: "B-T")
    }

    /// A restart while the job waits keeps its deadline and the DTBS byte for byte.
    func testRestartKeepsTheDeadlineAndTheDTBS() async throws {
        let before = try await submitExternal("exp4")
        let deadline = try XCTUnwrap(try h.job("exp4").signatureDeadline)
        await h.advance(by: 60)
        try await h.restart()
        let after = try h.pendingFile("exp4")
        XCTAssertEqual(after["dtbs"] as? String, before["dtbs"] as? String, "the DTBS the phone may already have signed survives the restart")
        XCTAssertEqual(after["expiresAt"] as? String, before["expiresAt"] as? String)
        XCTAssertEqual(try h.job("exp4").signatureDeadline, deadline)
        await h.advance(by: deadline.timeIntervalSince(h.clock.now) + 1)
        XCTAssertEqual(h.outcome(of: "exp4"), .failed(code: "external.expired"), h.spoolListing())
    }

    // MARK: - A signature and a restart

    /// The daemon goes down while the job waits; the signature arrives while no daemon runs; the
    /// next start picks it up.
    func testSignatureDroppedWhileDaemonIsDownIsUsedAtStart() async throws {
        try await submitExternal("down1")
        try h.dropSignature(try h.signPending("down1"), job: "down1")
        try await h.restart()
        await h.scan()
        XCTAssertEqual(h.outcome(of: "down1"), .done, h.spoolListing())
        try await h.assertVerifies(h.done + "/down1.pdf", level: "B-B")
        XCTAssertEqual(h.entries(h.signatures), [])
    }

    // MARK: - Wrong signatures

    /// Another phone's key: external.badSignature, and never a failed SCA attempt of the device
    /// (a signature that does not verify with the device's key is not provably the device's:
    /// counting it would let anyone who can write signatures/ block another user's phone).
    func testWrongKeyFailsBadSignatureAndNeverCountsAgainstTheDevice() async throws {
        let other = DeviceSimulator()
        try await submitExternal("wrong-key-1")
        try await h.deliverSignature(try h.signPending("wrong-key-1", by: other), job: "wrong-key-1")
        XCTAssertEqual(h.outcome(of: "wrong-key-1"), .failed(code: "external.badSignature"), h.spoolListing())
        var device = try XCTUnwrap(try h.database.device(h.deviceId))
        XCTAssertEqual(device.failedAttempts, 0, "a signature that is not the device's must not count: \(device)")
        XCTAssertEqual(device.status, .active)
        XCTAssertFalse(h.exists(h.pending + "/wrong-key-1.dtbs.json"), "a failed job's DTBS request is withdrawn\n\(h.spoolListing())")
        XCTAssertFalse(h.exists(h.signatures + "/wrong-key-1.signature.json"), "the used signature file leaves signatures/\n\(h.spoolListing())")
        XCTAssertFalse(h.exists(h.done + "/wrong-key-1.pdf"))
        XCTAssertEqual(try h.auditCodes(job: "wrong-key-1", type: "job.denied"), ["external.badSignature"], "the refusal is audited")

        // Five more: the device stays active, and its own next signature is accepted.
        let more = (2...6).map { "wrong-key-\($0)" }
        for job in more { try await submitExternal(job) }
        for job in more { try await h.deliverSignature(try h.signPending(job, by: other), job: job) }
        for job in more {
            XCTAssertEqual(h.outcome(of: job), .failed(code: "external.badSignature"), "\(job)\n\(h.spoolListing())")
        }
        device = try XCTUnwrap(try h.database.device(h.deviceId))
        XCTAssertEqual(device.status, .active, "junk signatures must not block the device: \(device)")
        try await submitExternal("own-key")
        try await h.deliverSignature(try h.signPending("own-key"), job: "own-key")
        XCTAssertEqual(h.outcome(of: "own-key"), .done, h.spoolListing())
    }

    // MARK: - The device and its certificate between the phases

    /// The device is blocked (e.g. the phone was reported stolen) after the DTBS was handed out:
    /// its signature is no longer an acceptable SCA proof.
    func testDeviceBlockedBetweenPhasesIsRefused() async throws {
        try await submitExternal("blocked-between")
        let answer = try h.signPending("blocked-between")
        _ = try DeviceRegistry(database: h.database).block(deviceId: h.deviceId, now: h.clock.now)
        try await h.deliverSignature(answer, job: "blocked-between")
        XCTAssertEqual(h.outcome(of: "blocked-between"), .failed(code: "sca.denied"),
                       "a signature from a device blocked after phase one was accepted\n\(h.spoolListing())")
        XCTAssertFalse(h.exists(h.done + "/blocked-between.pdf"))
        XCTAssertEqual(try h.auditCodes(job: "blocked-between", type: "job.denied"), ["sca.deviceBlocked"])
    }

    /// The device is removed (its certificate revoked) after the DTBS was handed out: no PDF may
    /// be delivered with the revoked certificate.
    func testDeviceRemovedBetweenPhasesIsRefused() async throws {
        try await submitExternal("removed-between")
        let answer = try h.signPending("removed-between")
        let removal = try await DeviceRemoval(database: h.database, certificateAuthority: h.ca).remove(deviceId: h.deviceId, now: h.clock.now)
        XCTAssertEqual(removal.revoked.count, 1, "the device's certificate is revoked: \(removal.revoked) \(removal.failed)")
        try await h.deliverSignature(answer, job: "removed-between")
        XCTAssertEqual(h.outcome(of: "removed-between"), .failed(code: "sca.denied"),
                       "a PDF was delivered signed with the certificate of a device removed between the phases\n\(h.spoolListing())")
        XCTAssertFalse(h.exists(h.done + "/removed-between.pdf"))
        XCTAssertEqual(try h.auditCodes(job: "removed-between", type: "job.denied"), ["sca.deviceRemoved"])
    }

    // MARK: - Phase two meets a TSA outage

    /// B-T: the TSA is unreachable when the signature arrives. As in cloud mode (docs/spool.md:
    /// TSA unreachable is retried with backoff), the job is retried, not failed after the user
    /// already approved it on the phone; once the TSA is back the job completes.
    func testTSAOutageInPhaseTwoIsRetried() async throws {
        try await submitExternal("tsa-down", level: .bt)
        h.tsa.failNext(.max)
        let arrived = h.clock.now
        try await h.deliverSignature(try h.signPending("tsa-down"), job: "tsa-down")
        XCTAssertNil(h.outcome(of: "tsa-down"), "a TSA outage in phase two must be retried, not end the job: \(h.failedReports())")
        let row = try h.job("tsa-down")
        XCTAssertEqual(row.state, .awaitingSignature)
        XCTAssertEqual(row.pendingAction, "completeExternal")
        XCTAssertEqual(row.attempts, 1)
        XCTAssertEqual(row.nextAttemptAt, arrived.addingTimeInterval(h.configuration.retryBase))
        XCTAssertTrue(h.exists(h.work + "/tsa-down.signature.json"), "the signature is kept in work/ for the retry")

        h.tsa.failNext(0)
        await h.advance(by: h.configuration.retryBase)
        XCTAssertEqual(h.outcome(of: "tsa-down"), .done, "\(h.spoolListing())\n\(h.failedReports())")
        try await h.assertVerifies(h.done + "/tsa-down.pdf", level: "B-T")
    }

    /// A second signature file while the first one's completion is being retried (TSA down):
    /// refused with `external.duplicateSignature` and kept in failed/; the job completes with the
    /// first one once the TSA is back.
    func testSecondSignatureWhileCompletionIsRetriedIsRefused() async throws {
        try await submitExternal("dup-retry", level: .bt)
        h.tsa.failNext(.max)
        let answer = try h.signPending("dup-retry")
        try await h.deliverSignature(answer, job: "dup-retry")
        XCTAssertTrue(h.exists(h.work + "/dup-retry.signature.json") && !h.exists(h.signatures + "/dup-retry.signature.json"),
                      "the first signature is taken into work/: \(h.spoolListing())")
        try await h.deliverSignature(answer, job: "dup-retry")
        XCTAssertTrue(h.failedReports().contains { $0.code == "external.duplicateSignature" }, "the second signature is refused: \(h.failedReports())\n\(h.spoolListing())")
        XCTAssertTrue(h.entries(h.failed).contains { $0.hasSuffix(".duplicate.signature.json") }, "and kept in failed/: \(h.spoolListing())")
        XCTAssertNil(h.outcome(of: "dup-retry"), "the job itself goes on: \(h.spoolListing())")

        h.tsa.failNext(0)
        await h.advance(by: h.configuration.retryBase)
        XCTAssertEqual(h.outcome(of: "dup-retry"), .done, h.spoolListing())
        XCTAssertEqual(h.entries(h.work), [], "nothing stranded in work/")
    }

    // MARK: - Crash windows (on-disk states built by hand)

    /// Crash right after phase two took the signature file (signatures/<job>.signature.json moved
    /// to work/<job>.signature.json) and before the job's state changed: the orchestrator's
    /// signature is gone from signatures/, so the restarted daemon must finish from work/.
    func testCrashAfterSignatureWasTakenIntoWorkIsNotLost() async throws {
        try await submitExternal("crash-taken")
        XCTAssertTrue(h.exists(h.work + "/crash-taken.external-state.json"), "work/ holds the prepared job: \(h.entries(h.work))")
        try h.signPending("crash-taken").write(to: URL(fileURLWithPath: h.work + "/crash-taken.signature.json"))
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "crash-taken"), .done,
                       "a signature taken into work/ before a crash is lost: the job waits until it expires\n\(h.spoolListing())")
    }

    /// The same crash, with the restart after the deadline: the signature was taken in before the
    /// deadline (SignJob: "the deadline applies to the signature's arrival"), so it is completed,
    /// not expired. `expireAwaitingSignatures` already agrees (a signature in work/ is not late).
    func testSignatureTakenInBeforeACrashIsNotExpiredLater() async throws {
        try await submitExternal("crash-late")
        try h.signPending("crash-late").write(to: URL(fileURLWithPath: h.work + "/crash-late.signature.json"))
        h.clock.advance(by: h.configuration.externalSignatureTimeout + 60)
        await h.pipeline.expireAwaitingSignatures()
        XCTAssertNil(h.outcome(of: "crash-late"), "a signature in work/ is not late: \(h.spoolListing())")
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "crash-late"), .done, h.spoolListing())
    }

    /// Crash in phase one after the state became awaitingSignature but before pending/<job>.dtbs.json
    /// was written: the restarted daemon must hand out a DTBS, or the job can only expire.
    func testCrashBeforePendingFileWasWrittenHandsOutTheDTBS() async throws {
        let before = try await submitExternal("crash-nopending")
        try FileManager.default.removeItem(atPath: h.pending + "/crash-nopending.dtbs.json")
        try await h.restart()
        let after = try h.pendingFile("crash-nopending")
        XCTAssertEqual(after["dtbs"] as? String, before["dtbs"] as? String, "the same DTBS is handed out again")
        try await h.deliverSignature(try h.signPending("crash-nopending"), job: "crash-nopending")
        XCTAssertEqual(h.outcome(of: "crash-nopending"), .done, h.spoolListing())
        let types = try h.auditTypes(job: "crash-nopending")
        XCTAssertEqual(types.filter { $0 == "job.dtbsIssued" }.count, 1, "the DTBS handed out again is recorded once: \(types)")
    }
}
