import Foundation
import GRDB
import StateStore
import XCTest

final class StateDatabaseTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func testMigrationsCreateFileDatabaseInWALWithMode0600() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.sqlite"
        let db = try StateDatabase(path: path)
        let mode = try db.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "wal")
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        // Reopening runs no migration twice.
        _ = try StateDatabase(path: path)
    }

    func testDeviceRegistrationIsUnique() throws {
        let db = try StateDatabase()
        try db.registerDevice(id: "d1", userId: "u1", publicKeyDER: [1, 2, 3], now: now)
        XCTAssertThrowsError(try db.registerDevice(id: "d1", userId: "u2", publicKeyDER: nil, now: now)) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "device.exists")
        }
    }

    func testFifthConsecutiveFailureBlocksAndSuccessResets() throws {
        let db = try StateDatabase()
        try db.registerDevice(id: "d1", userId: "u1", publicKeyDER: nil, now: now)
        for _ in 0..<4 { try db.recordFailedAuthorization(deviceId: "d1", maxFailures: 5, now: now) }
        XCTAssertEqual(try db.device("d1")?.status, .active)
        try db.recordSuccessfulAuthorization(deviceId: "d1", now: now)
        XCTAssertEqual(try db.device("d1")?.failedAttempts, 0)
        for _ in 0..<5 { try db.recordFailedAuthorization(deviceId: "d1", maxFailures: 5, now: now) }
        XCTAssertEqual(try db.device("d1")?.status, .blocked)
        try db.setDeviceStatus("d1", to: .active, now: now)
        XCTAssertEqual(try db.device("d1")?.failedAttempts, 0)
    }

    func testRemovedDeviceCannotBeReactivated() throws {
        let db = try StateDatabase()
        try db.registerDevice(id: "d1", userId: "u1", publicKeyDER: nil, now: now)
        try db.setDeviceStatus("d1", to: .removed, now: now)
        XCTAssertThrowsError(try db.setDeviceStatus("d1", to: .active, now: now)) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "device.removed")
        }
    }

    func testNonceIsSingleUseUntilExpiry() throws {
        let db = try StateDatabase()
        XCTAssertTrue(try db.consumeNonce("n1", deviceId: "d1", expiresAt: now.addingTimeInterval(300), now: now))
        XCTAssertFalse(try db.consumeNonce("n1", deviceId: "d1", expiresAt: now.addingTimeInterval(300), now: now.addingTimeInterval(10)))
        // After expiry the record is purged; an expired token is rejected by its own expiry check.
        XCTAssertTrue(try db.consumeNonce("n1", deviceId: "d1", expiresAt: now.addingTimeInterval(900), now: now.addingTimeInterval(600)))
    }

    func testSchemaRejectsInvalidStatus() throws {
        let db = try StateDatabase()
        try db.registerDevice(id: "d1", userId: "u1", publicKeyDER: nil, now: now)
        XCTAssertThrowsError(try db.writer.write { try $0.execute(sql: "UPDATE device SET status = 'LOST' WHERE id = 'd1'") })
    }
}
