import CertificateAuthority
import Crypto
import Foundation
import SwiftASN1
import TestSupport
import X509
import XCTest
import _CryptoExtras

/// CSR checks, each failure with its own code. CSRs come from `openssl req` where the point is
/// interoperability, from swift-certificates otherwise.
final class CSRValidatorTests: XCTestCase {
    let validator = CSRValidator(profile: .default)
    let dir = try! TemporaryDirectory(prefix: "signd-csr-test")

    func testOpenSSLECAndRSACSRsAreAccepted() throws {
        for (name, spec, type) in [("ec", "ec:P-256", KeyType.p256), ("ec384", "ec:P-384", .p384), ("rsa", "rsa:2048", .rsa2048)] {
            let csr = try OpenSSL.csr(in: dir.path, name: name, keySpec: spec, subject: "/C=CZ/O=Bank a.s./CN=Petr Svoboda")
            let validated = try validator.validate(csr.der)
            XCTAssertEqual(validated.keyType, type)
            XCTAssertEqual(validated.subjectAttributes.map(\.name), ["C", "O", "CN"])
            XCTAssertEqual(validated.subjectAttributes.map(\.value), ["CZ", "Bank a.s.", "Petr Svoboda"])
        }
    }

    func testPEMCSRIsAccepted() throws {
        let csr = try OpenSSL.csr(in: dir.path, name: "pem", keySpec: "ec:P-256", subject: "/CN=PEM user")
        let pemText = PEMDocument(type: "CERTIFICATE REQUEST", derBytes: csr.der).pemString
        XCTAssertEqual(try validator.validate(Array(pemText.utf8)).der, csr.der)
    }

    func testFlippedSignatureByteIsBadSignature() throws {
        for (name, spec) in [("ec", "ec:P-256"), ("rsa", "rsa:2048")] {
            var der = try OpenSSL.csr(in: dir.path, name: "flip-\(name)", keySpec: spec, subject: "/CN=Flipped").der
            der[der.count - 1] ^= 0x01 // last byte of the signature value
            assertCAError(.csrBadSignature) { try validator.validate(der) }
        }
    }

    func testAlteredSubjectIsBadSignature() throws {
        var der = try OpenSSL.csr(in: dir.path, name: "alter", keySpec: "ec:P-256", subject: "/CN=Alice").der
        let index = try XCTUnwrap(der.firstRange(of: Array("Alice".utf8))).lowerBound
        der[index] = UInt8(ascii: "M") // "Mlice": still well-formed, no longer what the key signed
        assertCAError(.csrBadSignature) { try validator.validate(der) }
    }

    func testP521AndRSA1024KeysAreNotAllowed() throws {
        let p521 = try OpenSSL.csr(in: dir.path, name: "p521", keySpec: "ec:P-521", subject: "/CN=Big curve").der
        let e1 = assertCAError(.csrKeyNotAllowed) { try validator.validate(p521) }
        XCTAssertTrue(e1?.message.contains("P-521") ?? false, e1?.message ?? "")
        let rsa1024 = try OpenSSL.csr(in: dir.path, name: "rsa1024", keySpec: "rsa:1024", subject: "/CN=Small key").der
        let e2 = assertCAError(.csrKeyNotAllowed) { try validator.validate(rsa1024) }
        XCTAssertTrue(e2?.message.contains("RSA-1024") ?? false, e2?.message ?? "")
    }

    func testProfileCanRestrictKeyTypes() throws {
        let onlyEC = CSRValidator(profile: CertificateProfile(name: "ec-only", allowedKeyTypes: [.p256]))
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let csr = try SwiftCSR.make(key: .init(rsa), subject: DistinguishedName { CommonName("RSA user") })
        assertCAError(.csrKeyNotAllowed) { try onlyEC.validate(csr) }
        XCTAssertNoThrow(try validator.validate(csr))
    }

    func testMissingRequiredAttribute() throws {
        let csr = try OpenSSL.csr(in: dir.path, name: "nocn", keySpec: "ec:P-256", subject: "/O=Bank/C=CZ").der
        let e = assertCAError(.csrMissingAttribute) { try validator.validate(csr) }
        XCTAssertTrue(e?.message.contains("CN") ?? false)
        let needsSerial = CSRValidator(profile: CertificateProfile(name: "p", requiredSubjectAttributes: ["CN", "serialNumber"]))
        let withCN = try OpenSSL.csr(in: dir.path, name: "cnonly", keySpec: "ec:P-256", subject: "/CN=Only CN").der
        assertCAError(.csrMissingAttribute) { try needsSerial.validate(withCN) }
    }

    func testAttributeNotAllowed() throws {
        let csr = try OpenSSL.csr(in: dir.path, name: "loc", keySpec: "ec:P-256", subject: "/CN=Someone/L=Praha").der
        let e = assertCAError(.csrAttributeNotAllowed) { try validator.validate(csr) }
        XCTAssertTrue(e?.message.contains("L") ?? false)
        let twice = try OpenSSL.csr(in: dir.path, name: "twice", keySpec: "ec:P-256", subject: "/CN=One/CN=Two").der
        assertCAError(.csrAttributeNotAllowed) { try validator.validate(twice) }
        let unknownOID = DistinguishedName([
            RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: "x")),
            RelativeDistinguishedName(.init(type: [1, 3, 6, 1, 4, 1, 99999, 1], utf8String: "odd")),
        ])
        let csr2 = try SwiftCSR.make(key: .init(P256.Signing.PrivateKey()), subject: unknownOID)
        assertCAError(.csrAttributeNotAllowed) { try validator.validate(csr2) }
    }

    func testInvalidAttributeValues() throws {
        let badCountry = try OpenSSL.csr(in: dir.path, name: "country", keySpec: "ec:P-256", subject: "/CN=X/C=cz").der
        assertCAError(.csrInvalidAttributeValue) { try validator.validate(badCountry) }
        let longCN = try DistinguishedName { CommonName(String(repeating: "a", count: 65)) }
        let csr = try SwiftCSR.make(key: .init(P256.Signing.PrivateKey()), subject: longCN)
        assertCAError(.csrInvalidAttributeValue) { try validator.validate(csr) }
    }

    func testPublicKeyDifferentFromTheDeviceKeyIsKeyMismatch() throws {
        let csr = try OpenSSL.csr(in: dir.path, name: "dev", keySpec: "ec:P-256", subject: "/CN=Device").der
        let registered = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)
        assertCAError(.csrKeyMismatch) { try validator.validate(csr, expectedPublicKey: registered) }
        // The CSR's own key passes.
        let own = try validator.validate(csr).publicKey
        XCTAssertNoThrow(try validator.validate(csr, expectedPublicKey: own))
    }

    func testKeyMismatchThroughTheCA() throws {
        let f = try CAFixture()
        let csr = try SwiftCSR.make(key: .init(P256.Signing.PrivateKey()), subject: DistinguishedName { CommonName("D") })
        var other = DER.Serializer()
        try other.serialize(Certificate.PublicKey(P256.Signing.PrivateKey().publicKey))
        assertCAError(.csrKeyMismatch) {
            try f.ca.issue(EnrollmentRequest(csrDER: csr, profile: "default", userId: "u", deviceId: "d", expectedPublicKeyDER: other.serializedBytes))
        }
        XCTAssertEqual(try f.ca.issuedCertificates().count, 0, "nothing issued")
    }

    func testMalformedBytes() throws {
        assertCAError(.csrMalformed) { try validator.validate([0x30, 0x03, 0x02, 0x01]) }
        assertCAError(.csrMalformed) { try validator.validate(Array("hello".utf8)) }
        assertCAError(.csrMalformed) { try validator.validate([]) }
        let csr = try OpenSSL.csr(in: dir.path, name: "trunc", keySpec: "ec:P-256", subject: "/CN=T").der
        assertCAError(.csrMalformed) { try validator.validate(Array(csr.prefix(csr.count / 2))) }
        assertCAError(.csrMalformed) { try validator.validate(Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)) }
    }

    func testProfileValidationAndLookup() throws {
        XCTAssertThrowsError(try CertificateProfiles([CertificateProfile(name: "x", requiredSubjectAttributes: ["CN", "L"])])) { e in
            XCTAssertEqual((e as? CertificateAuthorityError)?.code, .invalidProfile)
        }
        for bad in [CertificateProfile(name: "a", allowedSubjectAttributes: ["CN", "shoeSize"]),
                    CertificateProfile(name: "b", extendedKeyUsage: ["notAUsage"]),
                    CertificateProfile(name: "c", crlDistributionPointURL: "not a url"),
                    CertificateProfile(name: "d", certificatePolicies: ["x.y"]),
                    CertificateProfile(name: "e", validitySeconds: 0),
                    CertificateProfile(name: "f", keyUsage: [])] {
            assertCAError(.invalidProfile) { try bad.validate() }
        }
        let profiles = try CertificateProfiles([CertificateProfile(name: "short", validitySeconds: 60)])
        XCTAssertEqual(profiles.names, ["default", "short"])
        XCTAssertEqual(try profiles.profile(named: "default"), .default)
        assertCAError(.unknownProfile) { try profiles.profile(named: "long") }
    }

    func testProfileDecodesWithDefaults() throws {
        let json = #"{"name": "minimal"}"#
        let p = try JSONDecoder().decode(CertificateProfile.self, from: Data(json.utf8))
        XCTAssertEqual(p, CertificateProfile(name: "minimal"))
        XCTAssertEqual(p.validitySeconds, 365 * 86_400)
        XCTAssertEqual(p.keyUsage, [.digitalSignature, .nonRepudiation])
        XCTAssertEqual(p.requiredSubjectAttributes, ["CN"])
        XCTAssertNil(p.extendedKeyUsage)
        let full = #"{"name": "s", "validitySeconds": 5, "keyUsage": ["digitalSignature"], "allowedKeyTypes": ["P-256", "RSA-3072"], "ocspURL": "http://o"}"#
        let q = try JSONDecoder().decode(CertificateProfile.self, from: Data(full.utf8))
        XCTAssertEqual(q.validitySeconds, 5)
        XCTAssertEqual(q.allowedKeyTypes, [.p256, .rsa3072])
        XCTAssertEqual(q.ocspURL, "http://o")
        let roundTrip = try JSONDecoder().decode(CertificateProfile.self, from: JSONEncoder().encode(q))
        XCTAssertEqual(roundTrip, q)
    }
}
