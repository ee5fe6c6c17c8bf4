import Crypto
import Foundation
import SCA
import StateStore
import XCTest

final class DeviceRegistryTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    func testRegisterStoresTheKeyAsSubjectPublicKeyInfoDER() throws {
        let db = try StateDatabase()
        let key = P256.Signing.PrivateKey().publicKey
        let record = try DeviceRegistry(database: db).register(deviceId: "phone-1", userId: "user-1", publicKeyPEM: key.pemRepresentation, now: now)
        XCTAssertEqual(record.status, .active)
        XCTAssertEqual(record.publicKeyDER.map(Array.init), Array(key.derRepresentation))
        XCTAssertEqual(try db.device("phone-1")?.userId, "user-1")
    }

    func testRegisterRefusesANonP256Key() throws {
        let db = try StateDatabase()
        let p384 = P384.Signing.PrivateKey().publicKey.pemRepresentation
        XCTAssertThrowsError(try DeviceRegistry(database: db).register(deviceId: "phone-1", userId: "user-1", publicKeyPEM: p384, now: now)) {
            XCTAssertEqual(($0 as? SCAError)?.code, "device.invalidKey")
        }
    }

    func testRegisterRefusesAnUnsafeDeviceId() throws {
        let db = try StateDatabase()
        let key = P256.Signing.PrivateKey().publicKey
        XCTAssertThrowsError(try DeviceRegistry(database: db).register(deviceId: "../x", userId: "user-1", publicKey: key, now: now)) {
            XCTAssertEqual(($0 as? SCAError)?.code, "device.invalidId")
        }
    }

    func testRegisterTwiceIsRefused() throws {
        let db = try StateDatabase()
        let registry = DeviceRegistry(database: db)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        XCTAssertThrowsError(try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "device.exists")
        }
    }

    func testBlockUnblockAndList() throws {
        let db = try StateDatabase()
        let registry = DeviceRegistry(database: db)
        try registry.register(deviceId: "phone-2", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        _ = try db.recordFailedAuthorization(deviceId: "phone-1", maxFailures: 5, now: now)
        XCTAssertEqual(try registry.block(deviceId: "phone-1", now: now).status, .blocked)
        let unblocked = try registry.unblock(deviceId: "phone-1", now: now)
        XCTAssertEqual(unblocked.status, .active)
        XCTAssertEqual(unblocked.failedAttempts, 0)
        XCTAssertEqual(try registry.list().map(\.id), ["phone-1", "phone-2"])
    }

    func testRemovedDeviceCannotBeUnblocked() throws {
        let db = try StateDatabase()
        let registry = DeviceRegistry(database: db)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        _ = try db.setDeviceStatus("phone-1", to: .removed, now: now)
        XCTAssertThrowsError(try registry.unblock(deviceId: "phone-1", now: now)) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "device.removed")
        }
    }
}
