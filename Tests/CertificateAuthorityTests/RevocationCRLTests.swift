import CertificateAuthority
import Crypto
import Foundation
import PKIStructures
import SwiftASN1
import TestSupport
import X509
import XCTest

/// Revocation rules and the CRL, verified with `openssl crl -verify` and by parsing.
final class RevocationCRLTests: XCTestCase {
    func hex(_ cert: Certificate) -> String { cert.serialNumber.bytes.map { String(format: "%02x", $0) }.joined() }

    func testCRLVerifiesWithOpenSSLAndListsRevokedSerialWithReason() throws {
        let f = try CAFixture()
        let revoked = try f.issue(device: "a").certificate
        let kept = try f.issue(device: "b").certificate
        let held = try f.issue(device: "c").certificate
        let revokedAt = f.clock.now.addingTimeInterval(-120)
        try f.ca.revoke(serialHex: hex(revoked), reason: .keyCompromise, at: revokedAt)
        try f.ca.revoke(serialHex: hex(held), reason: .certificateHold, at: f.clock.now)

        let crlPath = try f.write("crl.der", try f.ca.currentCRL())
        let out = try OpenSSL.run(["crl", "-inform", "DER", "-in", crlPath, "-CAfile", f.issuingPEM, "-verify", "-noout", "-text"],
                                  cwd: f.directory.path, allowFailure: true)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out))
        XCTAssertTrue((out.stdout + out.stderr).contains("verify OK"), ProcessRunner.describe(out))
        let text = out.stdout.uppercased()
        XCTAssertTrue(text.contains("VERSION 2"), out.stdout)
        XCTAssertTrue(text.contains(hex(revoked).uppercased()), out.stdout)
        XCTAssertTrue(text.contains("KEY COMPROMISE"), out.stdout)
        XCTAssertTrue(text.contains(hex(held).uppercased()) && text.contains("CERTIFICATE HOLD"), out.stdout)
        XCTAssertFalse(text.contains(hex(kept).uppercased()), "a good certificate is not listed")
        XCTAssertTrue(text.contains("X509V3 CRL NUMBER"), out.stdout)
        XCTAssertTrue(text.contains("X509V3 AUTHORITY KEY IDENTIFIER"), out.stdout)
        XCTAssertTrue(text.contains("NEXT UPDATE"), out.stdout)

        // Also against the whole chain, the way relying parties check it.
        let chain = try f.write("chain.pem", try pem(f.ca.issuingCertificate) + pem(f.ca.rootCertificate))
        let out2 = try OpenSSL.run(["crl", "-inform", "DER", "-in", crlPath, "-CAfile", chain, "-verify", "-noout"], cwd: f.directory.path, allowFailure: true)
        XCTAssertEqual(out2.status, 0, ProcessRunner.describe(out2))

        // Parsed with our own types: entries, reasons, times, number, signature.
        let list = try CertificateList(derEncoded: try f.ca.currentCRL())
        XCTAssertEqual(list.tbsCertList.version, 1)
        XCTAssertEqual(list.tbsCertList.issuer, f.ca.issuingCertificate.subject)
        XCTAssertEqual(list.tbsCertList.thisUpdate, f.clock.now)
        XCTAssertEqual(list.tbsCertList.nextUpdate, f.clock.now.addingTimeInterval(7 * 86_400))
        let entry = try XCTUnwrap(list.tbsCertList.revokedCertificates.first { Array($0.serialNumber) == Array(revoked.serialNumber.bytes) })
        XCTAssertEqual(entry.reason, .keyCompromise)
        XCTAssertEqual(entry.revocationDate, revokedAt)
        XCTAssertEqual(list.tbsCertList.revokedCertificates.count, 2)
        let signature = try P256.Signing.ECDSASignature(derRepresentation: Array(list.signatureValue.bytes))
        let issuingKey = try XCTUnwrap(P256.Signing.PublicKey(f.ca.issuingCertificate.publicKey))
        XCTAssertTrue(issuingKey.isValidSignature(signature, for: SHA256.hash(data: Array(list.tbsCertListBytes))))
    }

    func testCRLNumberGrowsOnChangeAndTheSameCRLIsServedOtherwise() throws {
        let f = try CAFixture()
        let first = try CertificateList(derEncoded: try f.ca.currentCRL())
        XCTAssertEqual(first.tbsCertList.crlNumber, 1)
        XCTAssertTrue(first.tbsCertList.revokedCertificates.isEmpty, "an empty list is omitted, not encoded empty")
        f.clock.advance(60)
        XCTAssertEqual(try f.ca.currentCRL(), try CADERBytes.encode(first), "unchanged: the same CRL")
        let cert = try f.issue().certificate
        try f.ca.revoke(serialHex: hex(cert), reason: .superseded, at: f.clock.now)
        let second = try CertificateList(derEncoded: try f.ca.currentCRL())
        XCTAssertEqual(second.tbsCertList.crlNumber, 2)
        XCTAssertEqual(second.tbsCertList.revokedCertificates.first?.reason, .superseded)
        f.clock.advance(4 * 86_400) // past half of the 7-day validity
        let third = try CertificateList(derEncoded: try f.ca.currentCRL())
        XCTAssertEqual(third.tbsCertList.crlNumber, 3)
        XCTAssertEqual(third.tbsCertList.thisUpdate, f.clock.now)
        XCTAssertTrue(try f.ca.currentCRLPEM().hasPrefix("-----BEGIN X509 CRL-----"))
    }

    func testUnspecifiedReasonHasNoReasonCodeExtension() throws {
        let f = try CAFixture()
        let cert = try f.issue().certificate
        try f.ca.revoke(serialHex: hex(cert), reason: .unspecified, at: f.clock.now)
        let entry = try XCTUnwrap(try CertificateList(derEncoded: try f.ca.currentCRL()).tbsCertList.revokedCertificates.first)
        XCTAssertTrue(entry.extensions.isEmpty, "RFC 5280 5.3.1: unspecified SHOULD be absent")
        XCTAssertEqual(try f.ca.revocationStatus(serialHex: hex(cert)), .revoked(at: f.clock.now, reason: .unspecified))
    }

    func testRevocationRules() throws {
        let f = try CAFixture()
        let cert = try f.issue().certificate
        let serial = hex(cert)
        XCTAssertEqual(try f.ca.revocationStatus(serialHex: serial), .good)
        XCTAssertEqual(try f.ca.revocationStatus(serialHex: "0badc0ffee"), .unknown)
        assertCAError(.unknownCertificate) { try f.ca.revoke(serialHex: "0badc0ffee", reason: .keyCompromise, at: f.clock.now) }
        assertCAError(.unknownCertificate) { try f.ca.revoke(serialHex: "not hex", reason: .keyCompromise, at: f.clock.now) }
        assertCAError(.invalidRevocation) { try f.ca.revoke(serialHex: serial, reason: .removeFromCRL, at: f.clock.now) }

        // Hold, release, hold again, make permanent.
        let holdTime = f.clock.now
        try f.ca.revoke(serialHex: serial, reason: .certificateHold, at: holdTime)
        XCTAssertEqual(try f.ca.revocationStatus(serialHex: serial), .revoked(at: holdTime, reason: .certificateHold))
        assertCAError(.alreadyRevoked) { try f.ca.revoke(serialHex: serial, reason: .certificateHold, at: holdTime) }
        try f.ca.revoke(serialHex: serial, reason: .removeFromCRL, at: f.clock.now)
        XCTAssertEqual(try f.ca.revocationStatus(serialHex: serial), .good)
        f.clock.advance(10)
        let secondHold = f.clock.now
        try f.ca.revoke(serialHex: "0x" + serial.uppercased(), reason: .certificateHold, at: secondHold)
        f.clock.advance(10)
        try f.ca.revoke(serialHex: serial, reason: .keyCompromise, at: f.clock.now)
        XCTAssertEqual(try f.ca.revocationStatus(serialHex: serial), .revoked(at: secondHold, reason: .keyCompromise),
                       "a hold made permanent keeps the hold's time")
        assertCAError(.alreadyRevoked) { try f.ca.revoke(serialHex: serial, reason: .superseded, at: f.clock.now) }
        assertCAError(.invalidRevocation) { try f.ca.revoke(serialHex: serial, reason: .removeFromCRL, at: f.clock.now) }
    }
}

/// DER of a value, for comparisons.
enum CADERBytes {
    static func encode<T: DERSerializable>(_ value: T) throws -> [UInt8] {
        var coder = DER.Serializer()
        try coder.serialize(value)
        return coder.serializedBytes
    }
}
