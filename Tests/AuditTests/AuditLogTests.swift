import Audit
import Foundation
import GRDB
import XCTest

final class AuditLogTests: XCTestCase {
    var path: String!

    override func setUpWithError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)").path
        path = dir + "/audit.sqlite"
    }
    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }

    func filledLog(_ n: Int = 10) throws -> AuditLog {
        let log = try AuditLog(path: path)
        for i in 1...n {
            try log.append(AuditEntry(type: i % 2 == 0 ? .jobSigned : .jobReceived, jobId: "job-\(i)", userId: "u\(i % 3)",
                                      deviceId: "d1", documentSha256: String(repeating: "a", count: 64), details: ["step": "\(i)"]))
        }
        return log
    }

    /// Tampering as an operator with the sqlite3 shell would: triggers dropped first.
    func tamper(_ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER IF EXISTS event_no_update; DROP TRIGGER IF EXISTS event_no_delete;")
            try db.execute(sql: sql)
        }
    }

    func testIntactChainVerifies() throws {
        let log = try filledLog()
        let result = try log.verify()
        XCTAssertEqual(result.events, 10)
        XCTAssertNil(result.firstBad)
    }

    func testUpdatesAndDeletesAreRefusedBySchema() throws {
        let log = try filledLog(3)
        XCTAssertThrowsError(try log.writer.write { try $0.execute(sql: "UPDATE event SET outcome = 'x' WHERE seq = 2") })
        XCTAssertThrowsError(try log.writer.write { try $0.execute(sql: "DELETE FROM event WHERE seq = 2") })
    }

    func testEditedRowIsNamed() throws {
        let log = try filledLog()
        try tamper("UPDATE event SET userId = 'mallory' WHERE seq = 4")
        XCTAssertEqual(try log.verify().firstBad?.seq, 4)
    }

    func testDeletedRowIsNamed() throws {
        let log = try filledLog()
        try tamper("DELETE FROM event WHERE seq = 6")
        XCTAssertEqual(try log.verify().firstBad?.seq, 7)
    }

    func testDeletedLastRowsAreDetectedByAnchor() throws {
        let log = try filledLog()
        let head = try XCTUnwrap(try log.head())
        try log.storeAnchor(seq: head.seq, hash: head.hash, token: [0x30, 0x00])
        try tamper("DELETE FROM event WHERE seq = 10")
        XCTAssertEqual(try log.verify().firstBad?.seq, 10)
    }

    func testInsertedRowIsNamed() throws {
        let log = try filledLog()
        // Renumber to make room and insert a forged row at 5 with a plausible but wrong link.
        try tamper("UPDATE event SET seq = seq + 100 WHERE seq >= 5; UPDATE event SET seq = seq - 99 WHERE seq >= 105;")
        try tamper("INSERT INTO event (seq, at, type, outcome, details, prevHash, hash) SELECT 5, at, 'job.signed', 'success', '{}', hash, hash FROM event WHERE seq = 4")
        XCTAssertEqual(try log.verify().firstBad?.seq, 5)
    }

    func testReorderedRowsAreNamed() throws {
        let log = try filledLog()
        try tamper("UPDATE event SET seq = 100 WHERE seq = 3; UPDATE event SET seq = 3 WHERE seq = 8; UPDATE event SET seq = 8 WHERE seq = 100;")
        XCTAssertEqual(try log.verify().firstBad?.seq, 3)
    }

    func testQueryFiltersAndReadOnlyOpen() throws {
        _ = try filledLog()
        let reader = try AuditLog(readOnlyPath: path)
        var q = AuditLog.Query()
        q.userId = "u1"
        let rows = try reader.query(q)
        XCTAssertEqual(rows.map(\.jobId), ["job-1", "job-4", "job-7", "job-10"])
        q = AuditLog.Query()
        q.type = "job.signed"
        XCTAssertEqual(try reader.query(q).count, 5)
        XCTAssertThrowsError(try reader.append(AuditEntry(type: .jobFailed)))
    }

    func testConcurrentAppendsChainCorrectly() async throws {
        let log = try AuditLog(path: path)
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask { _ = try? log.append(AuditEntry(type: .jobReceived, jobId: "j\(i)")) }
            }
        }
        let result = try log.verify()
        XCTAssertEqual(result.events, 50)
        XCTAssertNil(result.firstBad)
    }
}
