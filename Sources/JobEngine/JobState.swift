/// Where a job stands, as the state database keeps it. A job moves
///
///     claimed ──authorize──▶ authorized ──sign──▶ signed ──deliver──▶ delivered
///        │                                          ▲
///        └──prepareExternal──▶ awaitingSignature ───┘ (completeExternal)
///
/// and from any unfinished state to `failed` (through the `fail` action, which moves the job's
/// files to failed/ and writes its report before the state says so).
public enum JobState: String, Codable, Sendable, CaseIterable {
    /// Inputs moved to work/; the approval not yet consumed.
    case claimed
    /// The SCA approval was verified and consumed; it must not be used again.
    case authorized
    /// External mode: the data to be signed is in pending/; waiting for the device's signature.
    case awaitingSignature
    /// The signed output was written and passed the self-check; not yet delivered.
    case signed
    case delivered
    case failed

    /// Delivered or failed: nothing more happens to the job.
    public var isFinal: Bool { self == .delivered || self == .failed }
}

/// How a sign job is signed: with the key signd holds (cloud) or by the user's device (external).
public enum JobMode: String, Codable, Sendable {
    case cloud
    case external
}

/// Why a job (or one attempt of it) failed: a stable code, the operator's message, and whether
/// trying again later can help.
public struct JobFailure: Equatable, Sendable, Codable {
    public var code: String
    public var message: String
    public var retryable: Bool

    public init(code: String, message: String, retryable: Bool) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }
}
