/// The next thing the runner has to do for a job. It is persisted with the job's state in one
/// write, so that after a crash the runner re-runs exactly this action: it never infers from
/// which files exist where how far a job had come. Every action is written so that running it
/// again after a crash part-way through ends as running it once would (docs/spool.md,
/// "Exactly once").
public enum JobAction: Equatable, Sendable {
    /// Cloud mode: verify and consume the job's SCA approval.
    case authorize
    /// Cloud mode: sign the approved document with the device's key and check the output.
    case sign
    /// External mode: prepare the document and hand out the data to be signed.
    case prepareExternal
    /// External mode: wait for the device's signature (or the deadline); keep pending/ complete.
    case awaitSignature
    /// External mode: the signature arrived; verify it, complete and check the output.
    case completeExternal
    /// Publish done/<job>.pdf and its result, archive the inputs.
    case deliver
    /// Move the job's files to failed/ with a report, record the failure.
    case fail(JobFailure)
    /// Nothing: the job is finished.
    case none

    /// The name stored in the state database (`job.pendingAction`); a failure's code, message
    /// and retryability are stored beside it.
    public var name: String {
        switch self {
        case .authorize: "authorize"
        case .sign: "sign"
        case .prepareExternal: "prepareExternal"
        case .awaitSignature: "awaitSignature"
        case .completeExternal: "completeExternal"
        case .deliver: "deliver"
        case .fail: "fail"
        case .none: "none"
        }
    }

    /// The action stored under `name`; `failure` is needed for `fail`. nil for an unknown name
    /// (a database written by a newer signd).
    public init?(name: String, failure: JobFailure?) {
        switch name {
        case "authorize": self = .authorize
        case "sign": self = .sign
        case "prepareExternal": self = .prepareExternal
        case "awaitSignature": self = .awaitSignature
        case "completeExternal": self = .completeExternal
        case "deliver": self = .deliver
        case "fail":
            guard let failure else { return nil }
            self = .fail(failure)
        case "none": self = .none
        default: return nil
        }
    }

    /// Whether running the action needs the job's manifest in work/ (delivery and failure work
    /// from the state row alone, so that a crash after the inputs were moved can be finished).
    public var needsManifest: Bool {
        switch self {
        case .authorize, .sign, .prepareExternal, .awaitSignature, .completeExternal: true
        case .deliver, .fail, .none: false
        }
    }
}
