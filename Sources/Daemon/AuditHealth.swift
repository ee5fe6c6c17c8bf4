import Foundation
import SigndCore

/// Whether job steps can write their audit records, shared by every spool's pipeline and read by
/// the readiness probe: after a failed write and until the next successful one, the daemon is
/// not ready (its jobs wait for the audit trail) and says why.
public final class AuditHealth: @unchecked Sendable {
    private let lock = NSLock()
    private var failure: (at: Date, reason: String)?

    public init() {}

    func succeeded() {
        lock.withLock { if failure != nil { failure = nil } }
    }

    func failed(_ reason: String, at: Date) {
        lock.withLock { failure = (at, reason) }
    }

    /// The problem for /health/ready, nil while audit records are written.
    public var problem: String? {
        lock.withLock {
            failure.map { "audit trail not writable since \(Timestamps.iso8601($0.at)) (\($0.reason)): jobs wait for it; check the audit database (disk space, permissions, a lock held by another process)" }
        }
    }
}
