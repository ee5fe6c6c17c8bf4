import DatabaseSupport
import Foundation
import GRDB
import SigndCore
import StateStore
import XCTest

/// Durable, shared commits (GroupCommit) and shared directory fsyncs (DirectorySync).
final class GroupCommitTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "group-commit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func pool() throws -> DatabasePool {
        let pool = try DatabasePool(path: dir + "/t.sqlite")
        try pool.write { try $0.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)") }
        return pool
    }

    /// GRDB opens WAL pools with synchronous = NORMAL (a power loss may drop the last commits);
    /// signd's databases must say FULL.
    func testStateAndAuditDatabasesAreDurable() throws {
        let state = try StateDatabase(path: dir + "/state.sqlite")
        XCTAssertEqual(try state.writer.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }, 2)
        let plain = try DatabasePool(path: dir + "/plain.sqlite")
        XCTAssertEqual(try plain.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }, 1,
                       "GRDB's default changed; the check above no longer proves anything")
    }

    /// Many threads writing at once: every write lands, and writes share transactions.
    func testConcurrentWritesAreAllCommittedInFewerTransactions() throws {
        let pool = try pool()
        try GroupCommit.makeDurable(pool)
        let commits = GroupCommit(pool)
        let threads = 16, perThread = 40
        let errors = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do {
                    try commits.write { db in
                        try db.execute(sql: "INSERT INTO t (id, who) VALUES (?, ?)", arguments: [t * 1000 + i, "thread \(t)"])
                    }
                } catch { errors.add() }
            }
        }
        XCTAssertEqual(errors.value, 0)
        XCTAssertEqual(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }, threads * perThread)
        XCTAssertEqual(commits.writes, threads * perThread)
        XCTAssertLessThan(commits.transactions, commits.writes, "no two concurrent writes shared a commit")
    }

    /// A caller whose work fails gets its own error and leaves nothing behind; the others commit.
    func testAFailingWriteRollsBackOnlyItself() throws {
        let pool = try pool()
        let commits = GroupCommit(pool)
        struct Refused: Error {}
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            do {
                try commits.write { db in
                    try db.execute(sql: "INSERT INTO t (id, who) VALUES (?, ?)", arguments: [t, "thread \(t)"])
                    if t % 2 == 1 { throw Refused() }
                }
            } catch is Refused {
                failures.add()
            } catch {
                XCTFail("unexpected \(error)")
            }
        }
        XCTAssertEqual(failures.value, 4)
        XCTAssertEqual(try pool.read { try Int.fetchAll($0, sql: "SELECT id FROM t ORDER BY id") }, [0, 2, 4, 6])
        // A constraint error is the caller's alone as well.
        XCTAssertThrowsError(try commits.write { try $0.execute(sql: "INSERT INTO t (id, who) VALUES (0, 'again')") })
        XCTAssertEqual(try commits.write { db -> Int in
            try db.execute(sql: "INSERT INTO t (id, who) VALUES (100, 'after')")
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t")!
        }, 5)
    }

    func testDirectorySyncFromManyThreads() throws {
        let dir: String = self.dir
        let ok = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 32) { i in
            FileManager.default.createFile(atPath: dir + "/f\(i)", contents: Data("x".utf8))
            if DirectorySync.sync(dir) { ok.add() }
        }
        XCTAssertEqual(ok.value, 32)
        XCTAssertFalse(DirectorySync.sync(dir + "/missing"), "a directory that cannot be opened is reported")
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
