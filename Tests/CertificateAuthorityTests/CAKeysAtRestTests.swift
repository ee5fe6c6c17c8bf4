import CertificateAuthority
import Crypto
import Foundation
import SigndCore
import TestSupport
import X509
import XCTest

/// The CA's private keys exist on disk only encrypted under the KEK, in 0600 files; the CA
/// reloads with the same KEK and refuses another with the kek.* code.
final class CAKeysAtRestTests: XCTestCase {
    func files(in dir: String) throws -> [String] {
        let enumerator = try XCTUnwrap(FileManager.default.enumerator(atPath: dir))
        return enumerator.compactMap { $0 as? String }.map { dir + "/" + $0 }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    func testNoPlaintextPrivateKeyAndKeyFilesAre0600() throws {
        let f = try CAFixture()
        _ = try f.issue()
        _ = try f.ca.currentCRL()
        let all = try files(in: f.caDirectory)
        XCTAssertTrue(all.contains(f.caDirectory + "/ca.sqlite"))
        for path in all {
            let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
            XCTAssertNil(bytes.range(of: Data("PRIVATE KEY".utf8)), "\(path) holds a PEM private key")
        }
        let grep = try ProcessRunner.run("grep", ["-rl", "PRIVATE KEY", f.caDirectory])
        XCTAssertEqual(grep.status, 1, "grep found a private key: \(grep.stdout)")
        for name in ["root-key.json", "issuing-key.json", "ca.sqlite"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: f.caDirectory + "/" + name)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, name)
        }
        let dirMode = try FileManager.default.attributesOfItem(atPath: f.caDirectory)[.posixPermissions] as? NSNumber
        XCTAssertEqual(dirMode?.intValue, 0o700)
        let blob = try SecureFile.readJSON(EncryptedBlob.self, from: f.caDirectory + "/issuing-key.json")
        XCTAssertEqual(blob.algorithm, "AES-256-GCM")
        XCTAssertEqual(blob.kekID, f.kek.id)
        XCTAssertEqual(blob.context, "ca-issuing-key")
        XCTAssertTrue(FileManager.default.fileExists(atPath: f.rootPEM) && FileManager.default.fileExists(atPath: f.issuingPEM))
    }

    func testReloadWithTheSameKEKKeepsTheCAAndItsRegistry() throws {
        let f = try CAFixture()
        let issued = try f.issue()
        let reopened = try EmbeddedCA.loadOrCreate(dataDirectory: f.directory.path, kek: f.kek, keyAlgorithm: .rsa4096)
        XCTAssertEqual(reopened.rootCertificate, f.ca.rootCertificate, "an existing CA is loaded, not replaced")
        XCTAssertEqual(reopened.issuingCertificate, f.ca.issuingCertificate)
        XCTAssertEqual(try reopened.issuedCertificates().map(\.der), [Data(try der(issued.certificate))])
        // The reloaded key still signs verifiable certificates.
        let leaf = try f.write("after-reload.pem", try pem(try reopened.issue(EnrollmentRequest(
            csrDER: try SwiftCSR.make(key: .init(P256.Signing.PrivateKey()), subject: DistinguishedName { CommonName("Again") }),
            profile: "default", userId: "u", deviceId: "d")).certificate))
        let out = try OpenSSL.run(["verify", "-CAfile", f.rootPEM, "-untrusted", f.issuingPEM, leaf], cwd: f.directory.path, allowFailure: true)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out))
    }

    func testAnotherKEKIsRefusedWithTheKEKCode() throws {
        let f = try CAFixture()
        let e = assertCAError(CertificateAuthorityError.Code(rawValue: "kek.wrongKey")) {
            try EmbeddedCA.loadOrCreate(dataDirectory: f.directory.path, kek: try makeKEK())
        }
        XCTAssertTrue(e?.code.rawValue.hasPrefix("kek.") ?? false)
    }

    func testTamperedKeyFileIsAKEKFailure() throws {
        let f = try CAFixture()
        let path = f.caDirectory + "/issuing-key.json"
        var blob = try SecureFile.readJSON(EncryptedBlob.self, from: path)
        blob.ciphertext[0] ^= 0xFF
        try SecureFile.writeJSON(blob, to: path)
        assertCAError(CertificateAuthorityError.Code(rawValue: "kek.decryptFailed")) {
            try EmbeddedCA.loadOrCreate(dataDirectory: f.directory.path, kek: f.kek)
        }
    }

    func testMismatchedCertificateIsAnIdentityError() throws {
        let f = try CAFixture()
        let other = try CAFixture()
        try FileManager.default.removeItem(atPath: f.issuingPEM)
        try FileManager.default.copyItem(atPath: other.issuingPEM, toPath: f.issuingPEM)
        assertCAError(.identity) { try EmbeddedCA.loadOrCreate(dataDirectory: f.directory.path, kek: f.kek) }
    }
}
