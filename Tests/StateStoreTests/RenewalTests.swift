import CertificateAuthority
import CertificateLifecycle
import Crypto
import Foundation
import SigndCore
import StateStore
import X509
import XCTest

final class RenewalTests: XCTestCase {
    func makeKEK() throws -> KeyEncryptionKey { try KeyEncryptionKey(rawKey: [UInt8](repeating: 7, count: 32), origin: "test") }

    func testAMonthOfSimulatedTimeRenewsEveryCertificateExactlyOnceBeforeExpiry() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let ca = try FakeCertificateAuthority(validity: 20 * 86_400, now: { clock.now })
        let db = try StateDatabase()
        let enrollment = EnrollmentService(database: db, ca: ca, kek: try makeKEK(), clock: { clock.now })
        // Ten cloud devices enrolled over the first five days.
        for i in 0..<10 {
            _ = try await enrollment.enrollCloud(userId: "u\(i)", deviceId: "d\(i)", subject: try DistinguishedName { CommonName("Device \(i)") }, profile: "default")
            clock.advance(12 * 3600)
        }
        var config = RenewalConfiguration()
        config.threshold = .before(5 * 86_400)
        let scheduler = RenewalScheduler(enrollment: enrollment, configuration: config)
        var renewedOld: [String] = []
        // 30 days in 15-minute passes.
        for _ in 0..<(30 * 96) {
            let report = try await scheduler.runOnce(now: clock.now)
            renewedOld += report.renewed.map(\.old)
            XCTAssertTrue(report.failed.isEmpty)
            XCTAssertEqual(report.expired, 0, "a certificate expired before renewal")
            clock.advance(15 * 60)
        }
        // No certificate was renewed twice, and every device always had a valid certificate.
        XCTAssertEqual(renewedOld.count, Set(renewedOld).count)
        for i in 0..<10 {
            XCTAssertNotNil(try db.activeCertificate(deviceId: "d\(i)", at: clock.now))
            let all = try db.certificates(deviceId: "d\(i)")
            XCTAssertEqual(all.filter { $0.status == .active }.count, 1)
            XCTAssertGreaterThanOrEqual(all.filter { $0.status == .superseded }.count, 1)
        }
        // Each certificate lives 20 days and is renewed 5 days before expiry: 15-day cycle.
        XCTAssertEqual(renewedOld.count, try db.certificates().filter { $0.status == .superseded }.count)
    }

    func testUnavailableCAIsRetriedWithBackoffThenSucceeds() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let ca = try FakeCertificateAuthority(validity: 10 * 86_400, now: { clock.now })
        let db = try StateDatabase()
        let enrollment = EnrollmentService(database: db, ca: ca, kek: try makeKEK(), clock: { clock.now })
        _ = try await enrollment.enrollCloud(userId: "u", deviceId: "d", subject: try DistinguishedName { CommonName("D") }, profile: "default")
        var config = RenewalConfiguration()
        config.threshold = .fractionOfLifetime(0.5)
        let scheduler = RenewalScheduler(enrollment: enrollment, configuration: config)
        clock.advance(6 * 86_400)
        await ca.setUnavailable(true)
        let first = try await scheduler.runOnce(now: clock.now)
        XCTAssertEqual(first.failed.first?.code, "ca.unavailable")
        XCTAssertEqual(first.failed.first?.retryable, true)
        // Within the backoff, no new attempt.
        clock.advance(30)
        let quiet = try await scheduler.runOnce(now: clock.now)
        XCTAssertTrue(quiet.failed.isEmpty && quiet.renewed.isEmpty)
        await ca.setUnavailable(false)
        clock.advance(60)
        let later = try await scheduler.runOnce(now: clock.now)
        XCTAssertEqual(later.renewed.count, 1)
        let attempts = try db.renewalAttempts()
        XCTAssertEqual(attempts.map(\.outcome), ["failed", "renewed"])
    }

    func testCloudKeyIsStoredEncrypted() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let ca = try FakeCertificateAuthority(validity: 86_400, now: { clock.now })
        let db = try StateDatabase()
        let enrollment = EnrollmentService(database: db, ca: ca, kek: try makeKEK(), clock: { clock.now })
        let issued = try await enrollment.enrollCloud(userId: "u", deviceId: "d", subject: try DistinguishedName { CommonName("D") }, profile: "default")
        let record = try XCTUnwrap(try db.cloudKey(deviceId: "d"))
        XCTAssertTrue(record.sealedKey.contains("AES-256-GCM"))
        XCTAssertFalse(record.sealedKey.contains("PRIVATE KEY"))
        let key = try enrollment.cloudKey(deviceId: "d")
        XCTAssertEqual(Certificate.PublicKey(key.publicKey), issued.certificate.publicKey)
        let other = EnrollmentService(database: db, ca: ca, kek: try KeyEncryptionKey(rawKey: [UInt8](repeating: 8, count: 32), origin: "t"), clock: { clock.now })
        XCTAssertThrowsError(try other.cloudKey(deviceId: "d")) { XCTAssertEqual(($0 as? SecretError)?.code, "kek.wrongKey") }
    }
}
