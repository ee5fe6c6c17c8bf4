import CertificateAuthority
import CertificateLifecycle
import Crypto
import Foundation
import PKIStructures
import StateStore
import X509
import XCTest

/// Removing a device revokes its certificates (CertificateLifecycle's `DeviceRemoval`).
final class DeviceRemovalTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    func register(_ db: StateDatabase, _ deviceId: String) throws {
        _ = try db.registerDevice(id: deviceId, userId: "user-1", publicKeyDER: Array(P256.Signing.PrivateKey().publicKey.derRepresentation), now: now)
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
        let removal = DeviceRemoval(database: db, certificateAuthority: ca)
        try register(db, "phone-1")
        try register(db, "phone-2")
        try storeCertificate(db, serial: "0c", status: .revoked)
        try storeCertificate(db, serial: "0d", status: .expired)
        try storeCertificate(db, serial: "0e", status: .active, deviceId: "phone-2")
        try storeCertificate(db, serial: "0a", status: .active)
        try storeCertificate(db, serial: "0b", status: .active) // 0a becomes superseded
        XCTAssertEqual(try db.certificate(serial: "0a")?.status, .superseded)

        let report = try await removal.remove(deviceId: "phone-1", now: now)
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
        let removal = DeviceRemoval(database: db, certificateAuthority: ca)
        try register(db, "phone-1")
        try storeCertificate(db, serial: "0b", status: .active)

        let first = try await removal.remove(deviceId: "phone-1", now: now)
        XCTAssertFalse(first.complete)
        XCTAssertEqual(first.failed.map(\.serial), ["0b"])
        XCTAssertEqual(first.failed.first?.retryable, true)
        XCTAssertEqual(try db.device("phone-1")?.status, .removed, "the device is removed even when the CA is down")
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .active)

        await ca.setFailing([])
        let second = try await removal.remove(deviceId: "phone-1", now: now)
        XCTAssertTrue(second.complete)
        XCTAssertEqual(second.revoked.map(\.serial), ["0b"])
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .revoked)
    }

    func testRemoveTreatsAlreadyRevokedAtTheCAAsDone() async throws {
        let db = try StateDatabase()
        let ca = RecordingCertificateAuthority()
        await ca.setAlreadyRevoked(["0b"])
        let removal = DeviceRemoval(database: db, certificateAuthority: ca)
        try register(db, "phone-1")
        try storeCertificate(db, serial: "0b", status: .active)
        let report = try await removal.remove(deviceId: "phone-1", now: now)
        XCTAssertTrue(report.complete)
        XCTAssertEqual(report.alreadyRevoked, ["0b"])
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .revoked)
    }

    func testRemoveWithCertificatesButNoCAIsAnError() async throws {
        let db = try StateDatabase()
        let removal = DeviceRemoval(database: db, certificateAuthority: nil)
        try register(db, "phone-1")
        try storeCertificate(db, serial: "0b", status: .active)
        do {
            _ = try await removal.remove(deviceId: "phone-1", now: now)
            XCTFail("expected device.noCA")
        } catch let e as LifecycleError {
            XCTAssertEqual(e.code, "device.noCA")
        }
    }

    func testRemoveUnknownDeviceIsAnError() async throws {
        let db = try StateDatabase()
        do {
            _ = try await DeviceRemoval(database: db, certificateAuthority: nil).remove(deviceId: "nope", now: now)
            XCTFail("expected device.unknown")
        } catch let e as StateStoreError {
            XCTAssertEqual(e.code, "device.unknown")
        }
    }
}

// MARK: - A CA that records revocations

actor RecordingCertificateAuthority: CertificateAuthorityService {
    private(set) var revocations: [(serial: String, reason: RevocationReason)] = []
    var failing: Set<String> = []
    var alreadyRevoked: Set<String> = []

    func setFailing(_ serials: Set<String>) { failing = serials }
    func setAlreadyRevoked(_ serials: Set<String>) { alreadyRevoked = serials }

    func enroll(_ request: EnrollmentRequest) async throws -> IssuedCertificate {
        throw CertificateAuthorityError(.rejected, "not used in device removal tests")
    }

    func revoke(serialHex: String, reason: RevocationReason, at date: Date) async throws {
        if failing.contains(serialHex) { throw CertificateAuthorityError(.unavailable, "CA down (test)", retryable: true) }
        if alreadyRevoked.contains(serialHex) { throw CertificateAuthorityError(.alreadyRevoked, "already revoked (test)") }
        revocations.append((serialHex, reason))
    }

    func revocationStatus(serialHex: String) async throws -> RevocationStatus { .unknown }
    func caChain() async throws -> [Certificate] { [] }
}
