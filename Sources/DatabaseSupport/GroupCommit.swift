import Foundation
import GRDB

/// Durable SQLite writes, shared between concurrent callers ("group commit").
///
/// signd's databases run with `synchronous = FULL`: a write has reached the disk when `write`
/// returns, so what a job's audit trail and state say survives a power loss, not only a crash of
/// the process (GRDB's WAL default, `NORMAL`, may lose the last transactions on power loss). That
/// costs one WAL `fsync` per transaction, and a job makes several.
///
/// Callers that arrive while a transaction is committing are written together in the next one:
/// each caller's work runs in its own savepoint (its failure rolls back only its own changes and
/// is thrown to it alone), the transaction commits once, and every caller returns after that
/// commit. One caller at a time is the leader and does the writing; the others sleep on their own
/// semaphore until their batch is committed or they are handed the lead (one wake-up each, no
/// thundering herd). With one caller at a time it behaves like `DatabaseWriter.write`.
public final class GroupCommit: @unchecked Sendable {
    public let writer: any DatabaseWriter
    private let lock = NSLock()
    private var pending: [Request] = []
    private var leading = false
    /// The thread writing a batch now: a `write` from inside a batch (a nested write) could
    /// never be served, so it stops the process instead of hanging every writer.
    private var leaderThread: pthread_t?
    private var _transactions = 0
    private var _writes = 0
    /// Batches written and callers served (tests, metrics).
    public var transactions: Int { lock.withLock { _transactions } }
    public var writes: Int { lock.withLock { _writes } }

    private final class Request {
        /// The caller's work; dropped once it ran, because the closure must not outlive the
        /// caller's `write` call (`withoutActuallyEscaping`) while the leader still holds the request.
        var run: ((Database) throws -> Void)?
        let wake = DispatchSemaphore(value: 0)
        /// Set (under the lock) before `wake` is signalled: committed, or lead the next batch.
        var done = false
        var error: (any Error)?
        init(_ run: @escaping (Database) throws -> Void) { self.run = run }
    }

    public init(_ writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// Sets `synchronous = FULL` on the writer connection (the one that commits).
    public static func makeDurable(_ writer: any DatabaseWriter) throws {
        try writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
    }

    /// Runs `body` in a transaction shared with concurrent callers; returns after the commit.
    /// `body` must use only the `Database` it is given: a nested `write` on the same instance
    /// stops the process (as GRDB's own reentrancy check did); a write to *another* GroupCommit
    /// from inside a batch is allowed only in one direction (signd has none).
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        if let leader = lock.withLock({ leaderThread }), pthread_equal(leader, pthread_self()) != 0 {
            preconditionFailure("GroupCommit.write called from inside a write: nested writes are not supported")
        }
        return try withoutActuallyEscaping(body) { body in
            var result: T?
            let request = Request { db in result = try body(db) }
            lock.lock()
            pending.append(request)
            let leads = !leading
            if leads { leading = true }
            lock.unlock()
            if !leads {
                request.wake.wait()
            }
            // Woken either because the batch holding this request committed, or to lead.
            while !lock.withLock({ request.done }) {
                lead(including: request)
            }
            if let error = request.error { throw error }
            return result!
        }
    }

    /// Writes everything pending (which includes `request`), then wakes the batch and hands the
    /// lead to the first caller that arrived meanwhile.
    private func lead(including request: Request) {
        let batch: [Request] = lock.withLock {
            let b = pending
            pending.removeAll(keepingCapacity: true)
            leaderThread = pthread_self()
            return b
        }
        commit(batch)
        let next: Request? = lock.withLock {
            leaderThread = nil
            _transactions += 1
            _writes += batch.count
            for r in batch { r.done = true }
            if let first = pending.first { return first }
            leading = false
            return nil
        }
        for r in batch where r !== request { r.wake.signal() }
        next?.wake.signal()
    }

    private func commit(_ batch: [Request]) {
        do {
            try writer.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for request in batch {
                        guard let run = request.run else { continue }
                        request.run = nil
                        do {
                            try db.inSavepoint {
                                try run(db)
                                return .commit
                            }
                        } catch {
                            request.error = error
                        }
                    }
                    return .commit
                }
            }
        } catch {
            // Nothing was committed: every caller whose own work succeeded gets the commit's error.
            for request in batch where request.error == nil { request.error = error }
        }
        for request in batch { request.run = nil }
    }
}
