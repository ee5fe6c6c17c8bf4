import Foundation

/// What happened to a sign job: the result of the action the runner just ran, or something from
/// outside (a signature file, the clock, a crash found at start).
public enum SignJobEvent: Equatable, Sendable {
    /// `authorize` succeeded: the approval was verified and consumed.
    case authorized
    /// `prepareExternal` prepared the data to be signed; the signature must arrive by `deadline`.
    case prepared(deadline: Date)
    /// `awaitSignature` handed out the data to be signed (pending/<job>.dtbs.json, recorded).
    case dtbsIssued
    /// External mode: the device's signature was taken into work/ at `at` (the deadline applies
    /// to this time, not to when the job is looked at: a restart after the deadline still
    /// completes a signature that came in time).
    case signatureArrived(at: Date)
    /// `sign` or `completeExternal` wrote an output that passed the self-check.
    case signed
    /// `deliver` published the result.
    case delivered
    /// `fail` moved the files and wrote the report: the failure is on record.
    case failureRecorded
    /// The action failed (including an SCA denial); `retryable` failures are tried again later.
    case stepFailed(JobFailure)
    /// External mode: the deadline passed without a signature.
    case deadlinePassed
    /// The orchestrator withdrew the job.
    case cancelled(reason: String)
    /// At start, the job's last attempt was found under way: a crash (a trap, the OOM killer,
    /// kill -9) interrupted it.
    case crashed
}

/// What the runner must do after a transition. The new state is always persisted first
/// (`persist`), with compare-and-set on the version it was read at.
public enum JobEffect<Action: Equatable & Sendable>: Equatable, Sendable {
    /// Write the job's new state and action (one transaction, compare-and-set).
    case persist
    /// Run this action now.
    case run(Action)
    /// Run the pending action again at this time; `after` is why.
    case retry(at: Date, after: JobFailure)
    /// Nothing to do until the device's signature arrives or `until` passes.
    case waitForSignature(until: Date)
    /// The job is finished.
    case finished
    /// The event does not apply in the job's state (a late signature, a deadline after the
    /// signature came): nothing changes.
    case ignored(String)
}

/// Limits the state machine applies; from the spool's configuration.
public struct JobPolicy: Equatable, Sendable {
    /// Retries of retryable failures before the job fails.
    public var maximumRetries: Int
    /// The first retry's delay; each further retry waits twice as long.
    public var retryBase: TimeInterval
    /// Attempts a crash may interrupt before the job is set aside (`job.crashed`).
    public var maximumInterruptions: Int

    public init(maximumRetries: Int = 5, retryBase: TimeInterval = 2, maximumInterruptions: Int = 2) {
        self.maximumRetries = maximumRetries
        self.retryBase = retryBase
        self.maximumInterruptions = maximumInterruptions
    }

    /// The delay before retry number `attempts + 1`: base · 2^attempts, capped at a day (so that
    /// a large configured retry count cannot overflow the date).
    public func retryDelay(afterAttempts attempts: Int) -> TimeInterval {
        min(retryBase * pow(2, Double(min(max(attempts, 0), 40))), 86_400)
    }
}

/// A sign job as a value: its state, the action it waits for, and its counters. Events go in,
/// effects come out; the runner (JobPipeline) performs them and persists the result. Nothing
/// here touches a file, the database or the clock: `now` is a parameter, so tests drive the
/// machine with any clock.
public struct SignJob: Equatable, Sendable {
    public let id: String
    public let mode: JobMode
    public private(set) var state: JobState
    public private(set) var action: JobAction
    /// Retries, crashes and the last failure.
    public private(set) var progress: JobProgress
    /// External mode: the signature must arrive before this time.
    public private(set) var signatureDeadline: Date?

    public var attempts: Int { progress.attempts }
    public var nextAttemptAt: Date? { progress.nextAttemptAt }
    public var interruptions: Int { progress.interruptions }
    public var lastFailure: JobFailure? { progress.lastFailure }

    /// A job claimed just now.
    public init(claimed id: String, mode: JobMode) {
        self.id = id
        self.mode = mode
        self.state = .claimed
        self.action = mode == .external ? .prepareExternal : .authorize
        self.progress = JobProgress()
    }

    /// A job as the state database holds it. `action` nil (a row of an older version, which kept
    /// no action): derived from the state.
    public init(id: String, mode: JobMode, state: JobState, action: JobAction?, attempts: Int, nextAttemptAt: Date?,
                interruptions: Int, signatureDeadline: Date?, lastFailure: JobFailure?, signatureTaken: Bool = false) {
        self.id = id
        self.mode = mode
        self.state = state
        self.progress = JobProgress(attempts: attempts, nextAttemptAt: nextAttemptAt, interruptions: interruptions, lastFailure: lastFailure)
        self.signatureDeadline = signatureDeadline
        self.action = action ?? Self.derivedAction(state: state, mode: mode, signatureTaken: signatureTaken, failure: lastFailure)
    }

    /// The action an older row's state implies.
    static func derivedAction(state: JobState, mode: JobMode, signatureTaken: Bool, failure: JobFailure?) -> JobAction {
        switch state {
        case .claimed: mode == .external ? .prepareExternal : .authorize
        case .authorized: .sign
        case .awaitingSignature: signatureTaken ? .completeExternal : .awaitSignature
        case .signed: .deliver
        case .delivered: .none
        case .failed: .none
        }
    }

    /// Whether the pending action may run at `now` (no retry scheduled for later, not finished).
    public func isRunnable(at now: Date) -> Bool {
        guard !state.isFinal, action != .none, action != .awaitSignature else { return false }
        return nextAttemptAt.map { $0 <= now } ?? true
    }

    /// Applies `event` at `now` and returns what the runner must do.
    public mutating func handle(_ event: SignJobEvent, now: Date, policy: JobPolicy) -> [JobEffect<JobAction>] {
        switch (event, state, action) {
        case (.authorized, .claimed, .authorize):
            return move(to: .authorized, action: .sign)
        case (.prepared(let deadline), .claimed, .prepareExternal):
            state = .awaitingSignature
            action = .awaitSignature
            signatureDeadline = deadline
            progress.progressed()
            return [.persist, .run(.awaitSignature)]
        case (.dtbsIssued, .awaitingSignature, .awaitSignature):
            progress.progressed()
            return [.persist, .waitForSignature(until: signatureDeadline ?? now)]
        case (.signatureArrived(let arrival), .awaitingSignature, .awaitSignature):
            if let deadline = signatureDeadline, arrival > deadline {
                // The deadline applies to the signature's arrival (its completion may be retried later).
                return fail(JobFailure(code: "external.expired",
                                       message: "the device signature arrived after the deadline \(Self.iso8601(deadline)); submit the job again",
                                       retryable: false))
            }
            action = .completeExternal
            progress.progressed()
            return [.persist, .run(.completeExternal)]
        case (.signed, .authorized, .sign), (.signed, .awaitingSignature, .completeExternal):
            return move(to: .signed, action: .deliver)
        case (.delivered, .signed, .deliver):
            state = .delivered
            action = .none
            progress.progressed()
            return [.persist, .finished]
        case (.failureRecorded, let s, .fail) where !s.isFinal:
            state = .failed
            action = .none
            progress.progressed()
            return [.persist, .finished]
        case (.stepFailed(let failure), let s, let a) where !s.isFinal && a != .none:
            // Finishing a failure that failed (a file could not be moved) is retried; the failure
            // itself never changes.
            var recording = false
            if case .fail = a { recording = true }
            switch progress.stepFailed(failure, recordingFailure: recording, now: now, policy: policy) {
            case .retry(let at): return [.persist, .retry(at: at, after: failure)]
            case .fail(let final): return fail(final)
            }
        case (.deadlinePassed, .awaitingSignature, .awaitSignature):
            let deadline = signatureDeadline.map { " \(Self.iso8601($0))" } ?? ""
            return fail(JobFailure(code: "external.expired",
                                   message: "no device signature arrived before the deadline\(deadline); submit the job again",
                                   retryable: false))
        case (.cancelled(let reason), let s, let a) where s == .claimed || s == .authorized || s == .awaitingSignature:
            if case .fail = a { return [.ignored("the job is already failing")] }
            return fail(JobFailure(code: "job.cancelled", message: "the job was cancelled before it was signed: \(reason)", retryable: false))
        case (.crashed, let s, _) where !s.isFinal:
            let limit = progress.crashed(jobId: id, policy: policy)
            // A failure being recorded is finished, however often it was interrupted.
            if case .fail = action { return [.persist, .run(action)] }
            if let limit { return fail(limit) }
            return [.persist, .run(action)]
        default:
            return [.ignored("\(Self.describe(event)) does not apply to a job in state \(state.rawValue) waiting for \(action.name)")]
        }
    }

    private mutating func move(to next: JobState, action nextAction: JobAction) -> [JobEffect<JobAction>] {
        state = next
        action = nextAction
        progress.progressed()
        return [.persist, .run(nextAction)]
    }

    private mutating func fail(_ failure: JobFailure) -> [JobEffect<JobAction>] {
        progress.failing(failure)
        action = .fail(failure)
        return [.persist, .run(action)]
    }

    static func describe(_ event: SignJobEvent) -> String {
        switch event {
        case .authorized: "authorized"
        case .prepared: "prepared"
        case .dtbsIssued: "dtbsIssued"
        case .signatureArrived: "signatureArrived"
        case .signed: "signed"
        case .delivered: "delivered"
        case .failureRecorded: "failureRecorded"
        case .stepFailed(let f): "stepFailed(\(f.code))"
        case .deadlinePassed: "deadlinePassed"
        case .cancelled: "cancelled"
        case .crashed: "crashed"
        }
    }

    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
