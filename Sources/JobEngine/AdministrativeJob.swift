import Foundation

/// The next thing the runner has to do for an administrative job (`enroll`, `device`, `revoke`).
/// Persisted with the job's state, as for sign jobs (`JobAction`).
public enum AdministrativeAction: Equatable, Sendable {
    /// Apply the change (enroll, register/block/remove the device, revoke) and write the result
    /// to work/<job>.result.json. An apply run again after a crash finds what this job already
    /// did (the certificate and revocation rows carry the job id) and does not do it twice.
    case apply
    /// Publish done/<job>.result.json, archive the manifest.
    case deliver
    /// Move the manifest to failed/ with a report, record the failure.
    case fail(JobFailure)
    case none

    public var name: String {
        switch self {
        case .apply: "apply"
        case .deliver: "deliver"
        case .fail: "fail"
        case .none: "none"
        }
    }

    public init?(name: String, failure: JobFailure?) {
        switch name {
        case "apply": self = .apply
        case "deliver": self = .deliver
        case "fail":
            guard let failure else { return nil }
            self = .fail(failure)
        case "none": self = .none
        default: return nil
        }
    }
}

/// What happened to an administrative job.
public enum AdministrativeJobEvent: Equatable, Sendable {
    /// `apply` wrote the job's result.
    case applied
    /// `deliver` published it.
    case delivered
    /// `fail` moved the files and wrote the report.
    case failureRecorded
    /// The action failed; retryable failures (CA unreachable, device busy) are tried again.
    case stepFailed(JobFailure)
    /// At start, the job's last attempt was found under way.
    case crashed
    /// Another job or command holds the device: look again at `retryAt`, without counting a retry
    /// (the holder ends by itself: delivered, failed, or its lease lapses).
    case deviceBusy(retryAt: Date, JobFailure)
}

/// An administrative job as a value: claimed → (apply) → (deliver) → delivered, or → (fail) →
/// failed. Its state row keeps `claimed` until it is delivered or failed; the pending action
/// says how far it came.
public struct AdministrativeJob: Equatable, Sendable {
    public let id: String
    public private(set) var state: JobState
    public private(set) var action: AdministrativeAction
    public private(set) var progress: JobProgress

    /// A job claimed just now.
    public init(claimed id: String) {
        self.id = id
        self.state = .claimed
        self.action = .apply
        self.progress = JobProgress()
    }

    /// A job as the state database holds it; `action` nil (older rows): derived from the state
    /// and whether its result was already written (`resultWritten`).
    public init(id: String, state: JobState, action: AdministrativeAction?, progress: JobProgress, resultWritten: Bool = false) {
        self.id = id
        self.state = state
        self.progress = progress
        if let action {
            self.action = action
        } else if state.isFinal {
            self.action = .none
        } else {
            self.action = resultWritten ? .deliver : .apply
        }
    }

    public func isRunnable(at now: Date) -> Bool {
        guard !state.isFinal, action != .none else { return false }
        return progress.nextAttemptAt.map { $0 <= now } ?? true
    }

    public mutating func handle(_ event: AdministrativeJobEvent, now: Date, policy: JobPolicy) -> [JobEffect<AdministrativeAction>] {
        switch (event, action) {
        case _ where state.isFinal:
            return [.ignored("the job is finished")]
        case (.applied, .apply):
            action = .deliver
            progress.progressed()
            return [.persist, .run(.deliver)]
        case (.delivered, .deliver):
            state = .delivered
            action = .none
            progress.progressed()
            return [.persist, .finished]
        case (.failureRecorded, .fail):
            state = .failed
            action = .none
            progress.progressed()
            return [.persist, .finished]
        case (.stepFailed(let failure), let a) where a != .none:
            var recording = false
            if case .fail = a { recording = true }
            switch progress.stepFailed(failure, recordingFailure: recording, now: now, policy: policy) {
            case .retry(let at): return [.persist, .retry(at: at, after: failure)]
            case .fail(let final): return fail(final)
            }
        case (.deviceBusy(let at, let failure), .apply):
            progress.wait(until: at, because: failure)
            return [.persist, .retry(at: at, after: failure)]
        case (.crashed, let a):
            let limit = progress.crashed(jobId: id, policy: policy)
            if case .fail = a { return [.persist, .run(a)] }
            // A job whose change was applied is delivered, however often it was interrupted:
            // setting it aside would hide a change that happened.
            if let limit, a == .apply { return fail(limit) }
            return [.persist, .run(a == .deliver ? .deliver : .apply)]
        default:
            return [.ignored("\(event) does not apply to an administrative job waiting for \(action.name)")]
        }
    }

    private mutating func fail(_ failure: JobFailure) -> [JobEffect<AdministrativeAction>] {
        progress.failing(failure)
        action = .fail(failure)
        return [.persist, .run(action)]
    }
}
