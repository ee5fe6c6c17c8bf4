import CertificateAuthority
import CertificateLifecycle
import Crypto
import Foundation
import SigndCore
import StateStore
import X509
import XCTest

final class KEKRotationTests: XCTestCase {
    func testRotationReencryptsFilesAndCloudKeysAndOldKEKNoLongerOpensThem() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kek-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = try KeyEncryptionKey(rawKey: [UInt8](repeating: 1, count: 32), origin: "test")
        let new = try KeyEncryptionKey(rawKey: [UInt8](repeating: 2, count: 32), origin: "test")
        let secret: [UInt8] = Array("private key bytes".utf8)
        try SecureFile.writeJSON(try old.seal(secret, context: "ca-root-key"), to: dir + "/ca/root-key.json")
        try SecureFile.writeJSON(try old.seal(secret, context: "tsa-key"), to: dir + "/tsa/tsa-key.json")
        try Data("{\"not\":\"a secret\"}".utf8).write(to: URL(fileURLWithPath: dir + "/ca/other.json"))

        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let db = try StateDatabase(path: dir + "/state.sqlite")
        let ca = try FakeCertificateAuthority(validity: 86_400, now: { clock.now })
        let enrollment = EnrollmentService(database: db, ca: ca, kek: old, clock: { clock.now })
        let issued = try await enrollment.enrollCloud(userId: "u", deviceId: "d", subject: try DistinguishedName { CommonName("D") }, profile: "default")

        let report = try KEKRotation.rotateFiles(under: dir, from: old, to: new)
        XCTAssertEqual(report.rotatedFiles.count, 2)
        let resealed = try db.resealCloudKeys { json in
            let blob = try JSONDecoder().decode(EncryptedBlob.self, from: Data(json.utf8))
            return String(decoding: try JSONEncoder().encode(try KEKRotation.reseal(blob, from: old, to: new)), as: UTF8.self)
        }
        XCTAssertEqual(resealed, 1)

        for path in [dir + "/ca/root-key.json", dir + "/tsa/tsa-key.json"] {
            let blob = try SecureFile.readJSON(EncryptedBlob.self, from: path)
            XCTAssertEqual(try new.open(blob), secret)
            XCTAssertThrowsError(try old.open(blob)) { XCTAssertEqual(($0 as? SecretError)?.code, "kek.wrongKey") }
        }
        let rotated = EnrollmentService(database: db, ca: ca, kek: new, clock: { clock.now })
        XCTAssertEqual(Certificate.PublicKey(try rotated.cloudKey(deviceId: "d").publicKey), issued.certificate.publicKey)
        XCTAssertThrowsError(try enrollment.cloudKey(deviceId: "d"))
        // A second rotation to the same KEK changes nothing.
        XCTAssertEqual(try KEKRotation.rotateFiles(under: dir, from: old, to: new).rotatedFiles.count, 0)
    }
}
