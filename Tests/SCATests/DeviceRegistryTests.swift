import CertificateAuthority
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

    func testRemovedDeviceCannotBeUnblocked() async throws {
        let db = try StateDatabase()
        let registry = DeviceRegistry(database: db)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        _ = try await registry.remove(deviceId: "phone-1", now: now)
        XCTAssertThrowsError(try registry.unblock(deviceId: "phone-1", now: now)) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "device.removed")
        }
    }

    func storeCertificate(_ db: StateDatabase, serial: String, status: CertificateStatus, deviceId: String = "phone-1") throws {
        // storeIssuedCertificate supersedes the device's earlier active certificate: store active ones last.
        try db.storeIssuedCertificate(CertificateRecord(
            serial: serial, deviceId: deviceId, csrId: nil, userId: "user-1", der: Data([0x30, 0x00]), subject: "CN=x",
            issuer: "CN=ca", profile: "qes", notBefore: now.addingTimeInterval(-86_400), notAfter: now.addingTimeInterval(86_400),
            status: status, createdAt: now))
    }

    func testRemoveRevokesActiveAndSupersededCertificates() async throws {
        let db = try StateDatabase()
        let ca = RecordingCertificateAuthority()
        let registry = DeviceRegistry(database: db, certificateAuthority: ca)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        try registry.register(deviceId: "phone-2", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        try storeCertificate(db, serial: "0c", status: .revoked)
        try storeCertificate(db, serial: "0d", status: .expired)
        try storeCertificate(db, serial: "0e", status: .active, deviceId: "phone-2")
        try storeCertificate(db, serial: "0a", status: .active)
        try storeCertificate(db, serial: "0b", status: .active) // 0a becomes superseded
        XCTAssertEqual(try db.certificate(serial: "0a")?.status, .superseded)

        let report = try await registry.remove(deviceId: "phone-1", now: now)
        XCTAssertTrue(report.complete)
        XCTAssertEqual(report.device.status, .removed)
        let revoked = await ca.revocations
        XCTAssertEqual(revoked.map(\.serial).sorted(), ["0a", "0b"])
        XCTAssertEqual(revoked.first { $0.serial == "0b" }?.reason, .cessationOfOperation)
        XCTAssertEqual(revoked.first { $0.serial == "0a" }?.reason, .superseded)
        XCTAssertEqual(try db.certificate(serial: "0a")?.status, .revoked)
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .revoked)
        XCTAssertEqual(try db.certificate(serial: "0b")?.revocationReason, "cessationOfOperation")
        XCTAssertEqual(try db.certificate(serial: "0d")?.status, .expired)
        XCTAssertEqual(try db.certificate(serial: "0e")?.status, .active, "another device's certificate is untouched")
        XCTAssertEqual(try db.device("phone-1")?.status, .removed)
    }

    func testRemoveReportsFailedRevocationsAndCanBeRetried() async throws {
        let db = try StateDatabase()
        let ca = RecordingCertificateAuthority()
        await ca.setFailing(["0b"])
        let registry = DeviceRegistry(database: db, certificateAuthority: ca)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        try storeCertificate(db, serial: "0b", status: .active)

        let first = try await registry.remove(deviceId: "phone-1", now: now)
        XCTAssertFalse(first.complete)
        XCTAssertEqual(first.failed.map(\.serial), ["0b"])
        XCTAssertEqual(first.failed.first?.retryable, true)
        XCTAssertEqual(try db.device("phone-1")?.status, .removed, "the device is removed even when the CA is down")
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .active)

        await ca.setFailing([])
        let second = try await registry.remove(deviceId: "phone-1", now: now)
        XCTAssertTrue(second.complete)
        XCTAssertEqual(second.revoked.map(\.serial), ["0b"])
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .revoked)
    }

    func testRemoveTreatsAlreadyRevokedAtTheCAAsDone() async throws {
        let db = try StateDatabase()
        let ca = RecordingCertificateAuthority()
        await ca.setAlreadyRevoked(["0b"])
        let registry = DeviceRegistry(database: db, certificateAuthority: ca)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        try storeCertificate(db, serial: "0b", status: .active)
        let report = try await registry.remove(deviceId: "phone-1", now: now)
        XCTAssertTrue(report.complete)
        XCTAssertEqual(report.alreadyRevoked, ["0b"])
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .revoked)
    }

    func testRemoveWithCertificatesButNoCAIsAnError() async throws {
        let db = try StateDatabase()
        let registry = DeviceRegistry(database: db)
        try registry.register(deviceId: "phone-1", userId: "user-1", publicKey: P256.Signing.PrivateKey().publicKey, now: now)
        try storeCertificate(db, serial: "0b", status: .active)
        do {
            _ = try await registry.remove(deviceId: "phone-1", now: now)
            XCTFail("expected device.noCA")
        } catch let e as SCAError {
            XCTAssertEqual(e.code, "device.noCA")
        }
    }

    func testRemoveUnknownDeviceIsAnError() async throws {
        let db = try StateDatabase()
        do {
            _ = try await DeviceRegistry(database: db).remove(deviceId: "nope", now: now)
            XCTFail("expected device.unknown")
        } catch let e as StateStoreError {
            XCTAssertEqual(e.code, "device.unknown")
        }
    }
}
