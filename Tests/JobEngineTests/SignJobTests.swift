import Foundation
import JobEngine
import XCTest

/// The sign job's state machine, driven with a manual clock: every transition the runner relies
/// on, and every event that must not apply.
final class SignJobTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = JobPolicy(maximumRetries: 2, retryBase: 2, maximumInterruptions: 2)
    let tsaDown = JobFailure(code: "tsa.unreachable", message: "TSA down", retryable: true)
    let denied = JobFailure(code: "sca.denied", message: "no", retryable: false)

    func testCloudJobRunsAuthorizeSignDeliver() {
        var job = SignJob(claimed: "j", mode: .cloud)
        XCTAssertEqual(job.action, .authorize)
        XCTAssertTrue(job.isRunnable(at: t0))
        XCTAssertEqual(job.handle(.authorized, now: t0, policy: policy), [.persist, .run(.sign)])
        XCTAssertEqual(job.state, .authorized)
        XCTAssertEqual(job.handle(.signed, now: t0, policy: policy), [.persist, .run(.deliver)])
        XCTAssertEqual(job.state, .signed)
        XCTAssertEqual(job.handle(.delivered, now: t0, policy: policy), [.persist, .finished])
        XCTAssertEqual(job.state, .delivered)
        XCTAssertEqual(job.action, JobAction.none)
        XCTAssertFalse(job.isRunnable(at: t0))
    }

    func testExternalJobWaitsForTheSignatureThenCompletes() {
        var job = SignJob(claimed: "x", mode: .external)
        XCTAssertEqual(job.action, .prepareExternal)
        let deadline = t0.addingTimeInterval(300)
        XCTAssertEqual(job.handle(.prepared(deadline: deadline), now: t0, policy: policy), [.persist, .run(.awaitSignature)])
        XCTAssertEqual(job.state, .awaitingSignature)
        XCTAssertEqual(job.handle(.dtbsIssued, now: t0, policy: policy), [.persist, .waitForSignature(until: deadline)])
        XCTAssertFalse(job.isRunnable(at: t0), "a job waiting for its signature has nothing to run")
        XCTAssertEqual(job.handle(.signatureArrived(at: t0.addingTimeInterval(10)), now: t0.addingTimeInterval(10), policy: policy), [.persist, .run(.completeExternal)])
        XCTAssertEqual(job.handle(.signed, now: t0, policy: policy), [.persist, .run(.deliver)])
    }

    /// Handing out the DTBS failed (its audit record could not be written): retried, and the
    /// retry clears once the DTBS is out.
    func testDTBSThatCannotBeIssuedIsRetried() {
        var job = SignJob(claimed: "x", mode: .external)
        _ = job.handle(.prepared(deadline: t0.addingTimeInterval(300)), now: t0, policy: policy)
        let audit = JobFailure(code: "audit.unavailable", message: "locked", retryable: true)
        XCTAssertEqual(job.handle(.stepFailed(audit), now: t0, policy: policy), [.persist, .retry(at: t0.addingTimeInterval(2), after: audit)])
        XCTAssertEqual(job.action, .awaitSignature)
        XCTAssertEqual(job.handle(.dtbsIssued, now: t0.addingTimeInterval(2), policy: policy), [.persist, .waitForSignature(until: t0.addingTimeInterval(300))])
        XCTAssertNil(job.nextAttemptAt)
    }

    func testSignatureAfterTheDeadlineFailsExpired() {
        var job = SignJob(claimed: "x", mode: .external)
        _ = job.handle(.prepared(deadline: t0.addingTimeInterval(300)), now: t0, policy: policy)
        let effects = job.handle(.signatureArrived(at: t0.addingTimeInterval(301)), now: t0.addingTimeInterval(301), policy: policy)
        guard case .run(.fail(let failure))? = effects.last else { return XCTFail("expected a failure, got \(effects)") }
        XCTAssertEqual(failure.code, "external.expired")
    }

    /// A signature taken in before the deadline and found after a restart that came later is
    /// completed: its arrival counts, not the time it is looked at.
    func testSignatureThatArrivedInTimeIsCompletedAfterALateRestart() {
        var job = SignJob(claimed: "x", mode: .external)
        _ = job.handle(.prepared(deadline: t0.addingTimeInterval(300)), now: t0, policy: policy)
        XCTAssertEqual(job.handle(.signatureArrived(at: t0.addingTimeInterval(299)), now: t0.addingTimeInterval(3600), policy: policy),
                       [.persist, .run(.completeExternal)])
    }

    func testDeadlineWithoutSignatureFailsButNotOnceTheSignatureIsIn() {
        var waiting = SignJob(claimed: "x", mode: .external)
        _ = waiting.handle(.prepared(deadline: t0), now: t0, policy: policy)
        var completing = waiting
        guard case .run(.fail(let failure))? = waiting.handle(.deadlinePassed, now: t0.addingTimeInterval(1), policy: policy).last else {
            return XCTFail("the deadline must fail a job still waiting")
        }
        XCTAssertEqual(failure.code, "external.expired")
        _ = completing.handle(.signatureArrived(at: t0), now: t0, policy: policy)
        guard case .ignored? = completing.handle(.deadlinePassed, now: t0.addingTimeInterval(1), policy: policy).first else {
            return XCTFail("a signature taken in before the deadline is completed, not expired")
        }
        XCTAssertEqual(completing.action, .completeExternal)
    }

    func testRetryableFailureIsRetriedWithBackoffThenFails() {
        var job = SignJob(claimed: "j", mode: .cloud)
        _ = job.handle(.authorized, now: t0, policy: policy)
        XCTAssertEqual(job.handle(.stepFailed(tsaDown), now: t0, policy: policy), [.persist, .retry(at: t0.addingTimeInterval(2), after: tsaDown)])
        XCTAssertEqual(job.action, .sign, "a retry runs the same action again")
        XCTAssertFalse(job.isRunnable(at: t0.addingTimeInterval(1)))
        XCTAssertTrue(job.isRunnable(at: t0.addingTimeInterval(2)))
        XCTAssertEqual(job.handle(.stepFailed(tsaDown), now: t0, policy: policy), [.persist, .retry(at: t0.addingTimeInterval(4), after: tsaDown)])
        // Retries used up (maximumRetries 2): the job fails with the cause as its code.
        XCTAssertEqual(job.handle(.stepFailed(tsaDown), now: t0, policy: policy), [.persist, .run(.fail(tsaDown))])
        XCTAssertEqual(job.handle(.failureRecorded, now: t0, policy: policy), [.persist, .finished])
        XCTAssertEqual(job.state, .failed)
        XCTAssertEqual(job.lastFailure, tsaDown)
    }

    func testNonRetryableFailureFailsAtOnce() {
        var job = SignJob(claimed: "j", mode: .cloud)
        XCTAssertEqual(job.handle(.stepFailed(denied), now: t0, policy: policy), [.persist, .run(.fail(denied))])
        XCTAssertEqual(job.state, .claimed, "the state moves to failed only once the failure is recorded")
    }

    func testFailureThatCannotBeRecordedIsRetriedAndKeepsItsCode() {
        var job = SignJob(claimed: "j", mode: .cloud)
        _ = job.handle(.stepFailed(denied), now: t0, policy: policy)
        let io = JobFailure(code: "spool.io", message: "EIO", retryable: true)
        for _ in 0..<10 {
            guard case .retry? = job.handle(.stepFailed(io), now: t0, policy: policy).last else { return XCTFail("recording a failure is retried without limit") }
        }
        XCTAssertEqual(job.action, .fail(denied))
    }

    func testCrashesAreCountedAndTheJobIsSetAsideAtTheLimit() {
        var job = SignJob(claimed: "j", mode: .cloud)
        _ = job.handle(.authorized, now: t0, policy: policy)
        XCTAssertEqual(job.handle(.crashed, now: t0, policy: policy), [.persist, .run(.sign)], "the first crash re-runs the pending action")
        guard case .run(.fail(let failure))? = job.handle(.crashed, now: t0, policy: policy).last else { return XCTFail("the second crash sets the job aside") }
        XCTAssertEqual(failure.code, "job.crashed")
        XCTAssertEqual(job.interruptions, 2)
        // A crash while the failure is being recorded finishes that failure.
        XCTAssertEqual(job.handle(.crashed, now: t0, policy: policy), [.persist, .run(.fail(failure))])
    }

    func testCancelEndsAnUnsignedJobOnly() {
        var unsigned = SignJob(claimed: "j", mode: .external)
        _ = unsigned.handle(.prepared(deadline: t0), now: t0, policy: policy)
        guard case .run(.fail(let failure))? = unsigned.handle(.cancelled(reason: "by the orchestrator"), now: t0, policy: policy).last else {
            return XCTFail("an unsigned job is cancelled")
        }
        XCTAssertEqual(failure.code, "job.cancelled")
        var signed = SignJob(claimed: "k", mode: .cloud)
        _ = signed.handle(.authorized, now: t0, policy: policy)
        _ = signed.handle(.signed, now: t0, policy: policy)
        guard case .ignored? = signed.handle(.cancelled(reason: "late"), now: t0, policy: policy).first else { return XCTFail("a signed job is not cancelled") }
        XCTAssertEqual(signed.action, .deliver)
    }

    /// Events out of order change nothing: the runner logs them and leaves the job as it was.
    func testEventsThatDoNotApplyAreIgnored() {
        let cases: [(SignJob, SignJobEvent)] = [
            (SignJob(claimed: "a", mode: .cloud), .signed),
            (SignJob(claimed: "b", mode: .cloud), .delivered),
            (SignJob(claimed: "c", mode: .cloud), .signatureArrived(at: Date())),
            (SignJob(claimed: "d", mode: .cloud), .prepared(deadline: Date())),
            (SignJob(claimed: "e", mode: .external), .authorized),
            (SignJob(claimed: "f", mode: .cloud), .failureRecorded),
            (SignJob(claimed: "g", mode: .cloud), .deadlinePassed),
        ]
        for (start, event) in cases {
            var job = start
            guard case .ignored? = job.handle(event, now: t0, policy: policy).first else { return XCTFail("\(event) must not apply to \(start.id)") }
            XCTAssertEqual(job, start, "\(event) changed job \(start.id)")
        }
        var done = SignJob(claimed: "h", mode: .cloud)
        _ = done.handle(.stepFailed(denied), now: t0, policy: policy)
        _ = done.handle(.failureRecorded, now: t0, policy: policy)
        for event: SignJobEvent in [.crashed, .stepFailed(tsaDown), .authorized, .cancelled(reason: "x")] {
            var job = done
            guard case .ignored? = job.handle(event, now: t0, policy: policy).first else { return XCTFail("a finished job takes no \(event)") }
        }
    }

    /// Rows of older versions keep no action: it is derived from their state.
    func testActionOfAnOlderRowIsDerivedFromItsState() {
        func derived(_ state: JobState, _ mode: JobMode, signatureTaken: Bool = false) -> JobAction {
            SignJob(id: "o", mode: mode, state: state, action: nil, attempts: 0, nextAttemptAt: nil, interruptions: 0,
                    signatureDeadline: nil, lastFailure: nil, signatureTaken: signatureTaken).action
        }
        XCTAssertEqual(derived(.claimed, .cloud), .authorize)
        XCTAssertEqual(derived(.claimed, .external), .prepareExternal)
        XCTAssertEqual(derived(.authorized, .cloud), .sign)
        XCTAssertEqual(derived(.awaitingSignature, .external), .awaitSignature)
        XCTAssertEqual(derived(.awaitingSignature, .external, signatureTaken: true), .completeExternal)
        XCTAssertEqual(derived(.signed, .cloud), .deliver)
        XCTAssertEqual(derived(.delivered, .cloud), JobAction.none)
    }

    func testActionNamesRoundTrip() {
        let failure = JobFailure(code: "c", message: "m", retryable: false)
        for action: JobAction in [.authorize, .sign, .prepareExternal, .awaitSignature, .completeExternal, .deliver, .fail(failure), .none] {
            XCTAssertEqual(JobAction(name: action.name, failure: failure), action)
        }
        XCTAssertNil(JobAction(name: "fail", failure: nil), "a fail action needs its failure")
        XCTAssertNil(JobAction(name: "somethingNewer", failure: nil))
    }

    func testRetryDelayIsCapped() {
        let p = JobPolicy(maximumRetries: 1000, retryBase: 2, maximumInterruptions: 2)
        XCTAssertEqual(p.retryDelay(afterAttempts: 0), 2)
        XCTAssertEqual(p.retryDelay(afterAttempts: 3), 16)
        XCTAssertEqual(p.retryDelay(afterAttempts: 999), 86_400)
    }
}

/// The administrative job's machine: apply → deliver, retries, crashes.
final class AdministrativeJobTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = JobPolicy(maximumRetries: 1, retryBase: 2, maximumInterruptions: 2)
    let caDown = JobFailure(code: "ca.unreachable", message: "CA down", retryable: true)

    func testAppliedThenDelivered() {
        var job = AdministrativeJob(claimed: "e1")
        XCTAssertEqual(job.action, .apply)
        XCTAssertEqual(job.handle(.applied, now: t0, policy: policy), [.persist, .run(.deliver)])
        XCTAssertEqual(job.state, .claimed, "an administrative job's row stays claimed until it is delivered")
        XCTAssertEqual(job.handle(.delivered, now: t0, policy: policy), [.persist, .finished])
        XCTAssertEqual(job.state, .delivered)
    }

    func testRetryThenFailure() {
        var job = AdministrativeJob(claimed: "e2")
        XCTAssertEqual(job.handle(.stepFailed(caDown), now: t0, policy: policy), [.persist, .retry(at: t0.addingTimeInterval(2), after: caDown)])
        XCTAssertEqual(job.handle(.stepFailed(caDown), now: t0, policy: policy), [.persist, .run(.fail(caDown))])
        XCTAssertEqual(job.handle(.failureRecorded, now: t0, policy: policy), [.persist, .finished])
        XCTAssertEqual(job.state, .failed)
    }

    /// A change already applied is delivered however often a crash interrupted the job; one not
    /// yet applied is set aside at the limit.
    func testCrashLimitSetsAsideOnlyJobsNotYetApplied() {
        var notApplied = AdministrativeJob(claimed: "e3")
        XCTAssertEqual(notApplied.handle(.crashed, now: t0, policy: policy), [.persist, .run(.apply)])
        guard case .run(.fail(let f))? = notApplied.handle(.crashed, now: t0, policy: policy).last else { return XCTFail("set aside at the limit") }
        XCTAssertEqual(f.code, "job.crashed")
        var applied = AdministrativeJob(claimed: "e4")
        _ = applied.handle(.applied, now: t0, policy: policy)
        for _ in 0..<3 { XCTAssertEqual(applied.handle(.crashed, now: t0, policy: policy), [.persist, .run(.deliver)]) }
    }

    /// A busy device is waited for without using up the job's retries.
    func testBusyDeviceDoesNotCountAsARetry() {
        var job = AdministrativeJob(claimed: "e6")
        let busy = JobFailure(code: "device.busy", message: "held", retryable: true)
        for n in 1...10 {
            let at = t0.addingTimeInterval(Double(n))
            XCTAssertEqual(job.handle(.deviceBusy(retryAt: at, busy), now: t0, policy: policy), [.persist, .retry(at: at, after: busy)])
        }
        XCTAssertEqual(job.progress.attempts, 0)
        XCTAssertEqual(job.progress.lastFailure, busy, "the row says why the job waits")
        XCTAssertEqual(job.handle(.applied, now: t0, policy: policy), [.persist, .run(.deliver)])
        XCTAssertNil(job.progress.nextAttemptAt)
    }

    func testOlderRowsDeriveTheirAction() {
        XCTAssertEqual(AdministrativeJob(id: "o", state: .claimed, action: nil, progress: JobProgress()).action, .apply)
        XCTAssertEqual(AdministrativeJob(id: "o", state: .claimed, action: nil, progress: JobProgress(), resultWritten: true).action, .deliver)
        XCTAssertEqual(AdministrativeJob(id: "o", state: .delivered, action: nil, progress: JobProgress()).action, .none)
    }

    func testFinishedJobsIgnoreEverything() {
        var job = AdministrativeJob(claimed: "e5")
        _ = job.handle(.applied, now: t0, policy: policy)
        _ = job.handle(.delivered, now: t0, policy: policy)
        for event: AdministrativeJobEvent in [.applied, .crashed, .stepFailed(caDown), .failureRecorded] {
            var copy = job
            guard case .ignored? = copy.handle(event, now: t0, policy: policy).first else { return XCTFail("\(event) on a finished job") }
            XCTAssertEqual(copy, job)
        }
    }
}
