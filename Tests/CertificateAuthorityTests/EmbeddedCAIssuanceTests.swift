import CertificateAuthority
import Crypto
import Foundation
import SwiftASN1
import TestSupport
import X509
import XCTest

/// Issuance by the embedded CA, checked with openssl and by parsing: chains verify, the
/// profile's extensions are there, subjects are filtered, serials are random and large.
final class EmbeddedCAIssuanceTests: XCTestCase {
    static let signingProfile = CertificateProfile(
        name: "signing", validitySeconds: 30 * 86_400, extendedKeyUsage: ["documentSigning", "1.3.6.1.4.1.99999.7"],
        crlDistributionPointURL: "http://ca.bank.example/crl", ocspURL: "http://ca.bank.example/ocsp",
        caIssuersURL: "http://ca.bank.example/issuing.crt", certificatePolicies: ["1.3.6.1.4.1.99999.1.2"])

    func testOpenSSLCSRsEC256AndRSA2048AreIssuedAndVerifyWithOpenSSL() throws {
        let f = try CAFixture(profiles: [Self.signingProfile])
        for (name, spec) in [("ec", "ec:P-256"), ("rsa", "rsa:2048")] {
            let csr = try OpenSSL.csr(in: f.directory.path, name: name, keySpec: spec, subject: "/C=CZ/O=Bank/CN=Jan Novák \(name)/serialNumber=DEV-\(name)")
            let issued = try f.ca.issue(EnrollmentRequest(csrDER: csr.der, profile: "signing", userId: "u1", deviceId: "d-\(name)"))
            let leaf = try f.write("\(name).leaf.pem", try pem(issued.certificate))
            let out = try OpenSSL.run(["verify", "-CAfile", f.rootPEM, "-untrusted", f.issuingPEM, leaf], cwd: f.directory.path, allowFailure: true)
            XCTAssertEqual(out.status, 0, ProcessRunner.describe(out))
            XCTAssertTrue(out.stdout.contains(": OK"), out.stdout)
            XCTAssertEqual(issued.chain, [f.ca.issuingCertificate, f.ca.rootCertificate], "chain: issuing first, root last")
            // The certificate carries the CSR's key and the issuer's name.
            let pub = try OpenSSL.run(["pkey", "-in", csr.keyPath, "-pubout"], cwd: f.directory.path).stdout
            XCTAssertEqual(try issued.certificate.publicKey.serializeAsPEM().pemString + "\n", pub)
            XCTAssertEqual(issued.certificate.issuer, f.ca.issuingCertificate.subject)
        }
    }

    func testProfileExtensionsAreInTheCertificate() throws {
        let f = try CAFixture(profiles: [Self.signingProfile])
        let issued = try f.issue(profile: "signing")
        let cert = issued.certificate
        let ext = cert.extensions

        let ku = try XCTUnwrap(try ext.keyUsage)
        XCTAssertTrue(ku.digitalSignature && ku.nonRepudiation)
        XCTAssertFalse(ku.keyCertSign || ku.keyEncipherment)
        XCTAssertEqual(ext[oid: .X509ExtensionID.keyUsage]?.critical, true, "key usage is critical")
        XCTAssertEqual(try ext.basicConstraints, .notCertificateAuthority)
        XCTAssertEqual(ext[oid: .X509ExtensionID.basicConstraints]?.critical, true)
        let eku = try XCTUnwrap(try ext.extendedKeyUsage)
        XCTAssertEqual(Array(eku).map(\.description).count, 2)
        XCTAssertTrue(eku.contains(ExtendedKeyUsage.Usage(oid: [1, 3, 6, 1, 5, 5, 7, 3, 36])))
        XCTAssertTrue(eku.contains(ExtendedKeyUsage.Usage(oid: [1, 3, 6, 1, 4, 1, 99999, 7])))
        XCTAssertEqual(ext[oid: .X509ExtensionID.extendedKeyUsage]?.critical, false)
        let ski = try XCTUnwrap(try ext.subjectKeyIdentifier)
        XCTAssertEqual(Array(ski.keyIdentifier), Array(Insecure.SHA1.hash(data: Array(cert.publicKey.subjectPublicKeyInfoBytes))))
        let aki = try XCTUnwrap(try ext.authorityKeyIdentifier)
        XCTAssertEqual(aki.keyIdentifier, try f.ca.issuingCertificate.extensions.subjectKeyIdentifier?.keyIdentifier)
        let aia = try XCTUnwrap(try ext.authorityInformationAccess)
        XCTAssertTrue(aia.contains(.init(method: .ocspServer, location: .uniformResourceIdentifier("http://ca.bank.example/ocsp"))))
        XCTAssertTrue(aia.contains(.init(method: .issuingCA, location: .uniformResourceIdentifier("http://ca.bank.example/issuing.crt"))))

        // What openssl sees (CRL DP and policies have no swift-certificates type).
        let path = try f.write("leaf.pem", try pem(cert))
        let text = try OpenSSL.run(["x509", "-in", path, "-noout", "-text"], cwd: f.directory.path).stdout
        for needle in ["X509v3 Key Usage: critical", "Digital Signature, Non Repudiation", "X509v3 Basic Constraints: critical",
                       "CA:FALSE", "X509v3 CRL Distribution Points", "URI:http://ca.bank.example/crl",
                       "OCSP - URI:http://ca.bank.example/ocsp", "CA Issuers - URI:http://ca.bank.example/issuing.crt",
                       "X509v3 Certificate Policies", "Policy: 1.3.6.1.4.1.99999.1.2", "X509v3 Subject Key Identifier",
                       "X509v3 Authority Key Identifier", "1.3.6.1.4.1.99999.7"] {
            XCTAssertTrue(text.contains(needle), "missing '\(needle)' in\n\(text)")
        }
        XCTAssertEqual(cert.notValidAfter.timeIntervalSince(cert.notValidBefore), 30 * 86_400)
        XCTAssertEqual(cert.notValidBefore, f.clock.now)
    }

    func testDefaultProfileHasNoOptionalExtensions() throws {
        let f = try CAFixture()
        let cert = try f.issue().certificate
        XCTAssertNil(try cert.extensions.extendedKeyUsage)
        XCTAssertNil(try cert.extensions.authorityInformationAccess)
        XCTAssertNil(cert.extensions[oid: [2, 5, 29, 31]], "no CRL DP without a URL")
        XCTAssertNil(cert.extensions[oid: [2, 5, 29, 32]], "no policies without OIDs")
        XCTAssertEqual(cert.notValidAfter.timeIntervalSince(cert.notValidBefore), 365 * 86_400, "built-in default: 365 days")
        let ku = try XCTUnwrap(try cert.extensions.keyUsage)
        XCTAssertTrue(ku.digitalSignature && ku.nonRepudiation)
    }

    func testSubjectIsRebuiltFromAllowedAttributesNotCopied() throws {
        let profile = CertificateProfile(name: "p", requiredSubjectAttributes: ["CN", "serialNumber"],
                                         allowedSubjectAttributes: ["CN", "serialNumber", "C"])
        let f = try CAFixture(profiles: [profile])
        // CN sent as PrintableString: the certificate re-encodes it as UTF8String.
        let subject = DistinguishedName([
            RelativeDistinguishedName(try .init(type: .RDNAttributeType.countryName, printableString: "CZ")),
            RelativeDistinguishedName(try .init(type: .RDNAttributeType.commonName, printableString: "Jan Novak")),
            RelativeDistinguishedName(try .init(type: [2, 5, 4, 5], printableString: "DEV-42")),
        ])
        let cert = try f.issue(subject: subject, profile: "p").certificate
        XCTAssertEqual(cert.subject.description, "2.5.4.5=DEV-42,CN=Jan Novak,C=CZ", "CSR order kept (printed most specific first)")
        let cn = try XCTUnwrap(cert.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName })
        XCTAssertEqual(cn.value, .init(utf8String: "Jan Novak"), "CN is UTF8String in issued certificates")
        let serial = try XCTUnwrap(cert.subject.flatMap { $0 }.first { $0.type == [2, 5, 4, 5] })
        XCTAssertEqual(serial.value, try .init(printableString: "DEV-42"))
    }

    func testSerialsArePositiveRandomAndAtLeast64Bits() throws {
        let f = try CAFixture()
        var seen = Set<[UInt8]>()
        for i in 0..<8 {
            let cert = try f.issue(device: "d\(i)").certificate
            let bytes = Array(cert.serialNumber.bytes)
            XCTAssertGreaterThanOrEqual(bytes.count, 9, "≥ 64 random bits")
            XCTAssertLessThanOrEqual(bytes.count, 20, "RFC 5280: at most 20 octets")
            XCTAssertEqual(bytes[0] & 0x80, 0, "positive")
            XCTAssertNotEqual(bytes[0], 0, "no leading zero octet")
            XCTAssertTrue(seen.insert(bytes).inserted)
        }
        let records = try f.ca.issuedCertificates()
        XCTAssertEqual(records.count, 8)
        XCTAssertEqual(records.map(\.deviceId).sorted(), (0..<8).map { "d\($0)" })
        XCTAssertTrue(records.allSatisfy { $0.serial == $0.serial.lowercased() && $0.serial.count == 32 })
    }

    func testUnknownProfileIsRejected() throws {
        let f = try CAFixture()
        assertCAError(.unknownProfile) { try f.issue(profile: "nope") }
        XCTAssertEqual(try f.ca.issuedCertificates().count, 0)
    }

    func testValidityIsCappedAtTheIssuingCANotAfter() throws {
        let f = try CAFixture(profiles: [CertificateProfile(name: "long", validitySeconds: 50 * 365 * 86_400)])
        let cert = try f.issue(profile: "long").certificate
        XCTAssertEqual(cert.notValidAfter, f.ca.issuingCertificate.notValidAfter)
    }

    func testP384AndRSACAsIssueVerifiableCertificates() throws {
        for algorithm in [KeyType.p384, .rsa2048] {
            let f = try CAFixture(keyAlgorithm: algorithm)
            XCTAssertEqual(KeyType(publicKey: f.ca.rootCertificate.publicKey), algorithm)
            XCTAssertEqual(KeyType(publicKey: f.ca.issuingCertificate.publicKey), algorithm)
            let leaf = try f.write("leaf.pem", try pem(try f.issue().certificate))
            let out = try OpenSSL.run(["verify", "-CAfile", f.rootPEM, "-untrusted", f.issuingPEM, leaf], cwd: f.directory.path, allowFailure: true)
            XCTAssertEqual(out.status, 0, "\(algorithm): " + ProcessRunner.describe(out))
        }
    }

    func testCAChainIsIssuingThenRootAndCAExtensionsAreRight() async throws {
        let f = try CAFixture()
        let chain = try await f.ca.caChain()
        XCTAssertEqual(chain.count, 2)
        XCTAssertEqual(chain[0].issuer, chain[1].subject)
        XCTAssertEqual(chain[1].issuer, chain[1].subject, "root is self-issued")
        XCTAssertEqual(try chain[0].extensions.basicConstraints, .isCertificateAuthority(maxPathLength: 0))
        XCTAssertEqual(try chain[1].extensions.basicConstraints, .isCertificateAuthority(maxPathLength: 1))
        XCTAssertEqual(try chain[0].extensions.keyUsage?.keyCertSign, true)
        XCTAssertEqual(try chain[0].extensions.keyUsage?.cRLSign, true)
        let out = try OpenSSL.run(["verify", "-CAfile", f.rootPEM, f.issuingPEM], cwd: f.directory.path, allowFailure: true)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out))
    }

    func testEnrollThroughTheServiceProtocol() async throws {
        let f = try CAFixture()
        let service: any CertificateAuthorityService = f.ca
        let key = P256.Signing.PrivateKey()
        let csr = try SwiftCSR.make(key: .init(key), subject: DistinguishedName { CommonName("Via protocol") })
        var spki = DER.Serializer()
        try spki.serialize(Certificate.PublicKey(key.publicKey))
        let issued = try await service.enroll(EnrollmentRequest(csrDER: csr, profile: "default", userId: "u", deviceId: "d",
                                                                expectedPublicKeyDER: spki.serializedBytes))
        XCTAssertEqual(issued.certificate.publicKey, Certificate.PublicKey(key.publicKey))
        let status = try await service.revocationStatus(serialHex: issued.certificate.serialNumber.bytes.map { String(format: "%02X", $0) }.joined())
        XCTAssertEqual(status, .good, "serials are matched case-insensitively")
    }
}
