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
/// commit. One caller at a time is the leader and does the writing; the others wait. With one
/// caller at a time it behaves like `DatabaseWriter.write`.
public final class GroupCommit: @unchecked Sendable {
    public let writer: any DatabaseWriter
    private let condition = NSCondition()
    private var pending: [Request] = []
    private var leading = false
    /// Batches written and callers served (for tests and metrics).
    public private(set) var transactions = 0
    public private(set) var writes = 0

    private final class Request {
        let run: (Database) throws -> Void
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
    /// `body` must use only the `Database` it is given (no nested writes).
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            var result: T?
            let request = Request { db in result = try body(db) }
            condition.lock()
            pending.append(request)
            while !request.done {
                if leading {
                    condition.wait()
                    continue
                }
                leading = true
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                condition.unlock()
                commit(batch)
                condition.lock()
                transactions += 1
                writes += batch.count
                for r in batch { r.done = true }
                leading = false
                condition.broadcast()
            }
            condition.unlock()
            if let error = request.error { throw error }
            return result!
        }
    }

    private func commit(_ batch: [Request]) {
        do {
            try writer.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for request in batch {
                        do {
                            try db.inSavepoint {
                                try request.run(db)
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
    }
}
