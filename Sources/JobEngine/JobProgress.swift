import Foundation

/// What every job keeps beside its state and action: the retries scheduled so far, when the next
/// one is due, the crashes that interrupted it, and the last failure. Both machines (`SignJob`,
/// `AdministrativeJob`) decide retries and crashes through it, so the rule exists once.
public struct JobProgress: Equatable, Sendable {
    /// Retries scheduled so far.
    public internal(set) var attempts: Int
    /// When a scheduled retry is due (nil: none scheduled).
    public internal(set) var nextAttemptAt: Date?
    /// Attempts a crash interrupted.
    public internal(set) var interruptions: Int
    /// The last failure (a scheduled retry's cause, or the job's end).
    public internal(set) var lastFailure: JobFailure?

    public init(attempts: Int = 0, nextAttemptAt: Date? = nil, interruptions: Int = 0, lastFailure: JobFailure? = nil) {
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.interruptions = interruptions
        self.lastFailure = lastFailure
    }

    /// What a failed step leads to.
    enum AfterFailure: Equatable {
        /// Run the same action again at this time.
        case retry(at: Date)
        /// The job fails with this failure.
        case fail(JobFailure)
    }

    /// A step failed. `recordingFailure`: the step was the recording of the job's failure itself,
    /// which is retried without limit (and never becomes another failure).
    mutating func stepFailed(_ failure: JobFailure, recordingFailure: Bool, now: Date, policy: JobPolicy) -> AfterFailure {
        if recordingFailure {
            attempts += 1
            let at = now.addingTimeInterval(policy.retryDelay(afterAttempts: min(attempts - 1, 6)))
            nextAttemptAt = at
            return .retry(at: at)
        }
        lastFailure = failure
        if failure.retryable && attempts < policy.maximumRetries {
            let at = now.addingTimeInterval(policy.retryDelay(afterAttempts: attempts))
            attempts += 1
            nextAttemptAt = at
            return .retry(at: at)
        }
        nextAttemptAt = nil
        return .fail(failure)
    }

    /// An interrupted attempt was found. Returns the failure that sets the job aside at the limit.
    mutating func crashed(jobId: String, policy: JobPolicy) -> JobFailure? {
        interruptions += 1
        guard interruptions >= policy.maximumInterruptions else { return nil }
        return JobFailure(code: "job.crashed",
                          message: "processing job \(jobId) was interrupted by a crash \(interruptions) times (limit \(policy.maximumInterruptions)); it was set aside with its files so that it cannot stop the daemon again. Report it with the files in failed/ and the daemon log; submit the document again under a new job id once the cause is known",
                          retryable: false)
    }

    /// Waits until `at` without counting a retry (a resource another job holds).
    mutating func wait(until at: Date, because failure: JobFailure) {
        nextAttemptAt = at
        lastFailure = failure
    }

    /// The job moved on: no retry is pending.
    mutating func progressed() { nextAttemptAt = nil }

    /// The job fails with `failure` (recorded as its last failure).
    mutating func failing(_ failure: JobFailure) {
        lastFailure = failure
        nextAttemptAt = nil
    }
}
