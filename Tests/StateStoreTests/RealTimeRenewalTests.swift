import CertificateAuthority
import CertificateLifecycle
import Foundation
import SigndCore
import StateStore
import X509
import XCTest

/// The scheduler in real time against the real embedded CA, with a profile of a few seconds.
final class RealTimeRenewalTests: XCTestCase {
    func testSchedulerRenewsShortLivedCertificateBeforeExpiryInRealTime() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("renew-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let kek = try KeyEncryptionKey(rawKey: [UInt8](repeating: 3, count: 32), origin: "test")
        let profiles = try CertificateProfiles([CertificateProfile(name: "short", validitySeconds: 4)])
        let ca = try EmbeddedCA.loadOrCreate(dataDirectory: dir, kek: kek, profiles: profiles)
        let db = try StateDatabase(path: dir + "/state.sqlite")
        let enrollment = EnrollmentService(database: db, ca: ca, kek: kek)
        let first = try await enrollment.enrollCloud(userId: "u", deviceId: "d", subject: try DistinguishedName { CommonName("Short Lived") }, profile: "short")
        var config = RenewalConfiguration()
        config.threshold = .fractionOfLifetime(0.5)
        config.interval = 0.25
        let scheduler = RenewalScheduler(enrollment: enrollment, configuration: config)
        let task = Task {
            try await scheduler.run(clock: { Date() }, sleep: { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) })
        }
        // Over 6 s a 4 s certificate renewed at half its life is renewed at least once, and the
        // device is never without a valid certificate.
        let end = Date().addingTimeInterval(6)
        var gaps = 0
        while Date() < end {
            if try db.activeCertificate(deviceId: "d", at: Date()) == nil { gaps += 1 }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        task.cancel()
        XCTAssertEqual(gaps, 0, "the device had no valid certificate at some moment")
        let all = try db.certificates(deviceId: "d")
        XCTAssertGreaterThanOrEqual(all.count, 2)
        XCTAssertEqual(all.first?.serial, Hex.encode(first.certificate.serialNumber.bytes))
        XCTAssertEqual(all.first?.status, .superseded)
        let attempts = try db.renewalAttempts()
        XCTAssertTrue(attempts.allSatisfy { $0.outcome == "renewed" })
        // Every renewal happened before the renewed certificate expired.
        for attempt in attempts {
            let old = try XCTUnwrap(try db.certificate(serial: attempt.serial))
            XCTAssertLessThan(attempt.at, old.notAfter)
        }
    }
}
