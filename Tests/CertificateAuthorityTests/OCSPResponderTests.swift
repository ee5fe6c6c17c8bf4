import CertificateAuthority
import CMSStructures
import Crypto
import Foundation
import PKIStructures
import SwiftASN1
import TestSupport
import X509
import XCTest

/// The OCSP responder against `openssl ocsp` requests and verification: good, revoked (time
/// and reason), unknown; nonce echoed; malformed requests.
final class OCSPResponderTests: XCTestCase {
    struct Setup {
        let f: CAFixture
        let leafPath: String
        let leaf: Certificate
    }

    func setUpCA() throws -> Setup {
        let f = try CAFixture()
        let leaf = try f.issue().certificate
        return Setup(f: f, leafPath: try f.write("leaf.pem", try pem(leaf)), leaf: leaf)
    }

    /// `openssl ocsp -reqout`, answered by the CA, then checked by `openssl ocsp -respin`.
    func roundTrip(_ s: Setup, name: String, certArgs: [String], extra: [String] = []) throws -> (response: [UInt8], check: ProcessOutput) {
        let dir = s.f.directory.path
        let req = dir + "/\(name).req.der", resp = dir + "/\(name).resp.der"
        try OpenSSL.run(["ocsp", "-issuer", s.f.issuingPEM] + extra + certArgs + ["-reqout", req], cwd: dir)
        let request = Array(try XCTUnwrap(FileManager.default.contents(atPath: req)))
        let response = s.f.ca.ocspResponse(requestDER: request)
        _ = try s.f.write("\(name).resp.der", response)
        // Status per certificate (openssl compares a request it rebuilds from -cert, so the
        // nonce is checked separately below against the original request).
        let check = try OpenSSL.run(["ocsp", "-respin", resp, "-issuer", s.f.issuingPEM, "-CAfile", s.f.rootPEM, "-no_nonce"] + extra + certArgs + ["-resp_text"],
                                    cwd: dir, allowFailure: true)
        let nonce = try OpenSSL.run(["ocsp", "-respin", resp, "-reqin", req, "-CAfile", s.f.rootPEM], cwd: dir, allowFailure: true)
        XCTAssertEqual(nonce.status, 0, "nonce check: " + ProcessRunner.describe(nonce))
        XCTAssertTrue(nonce.stderr.contains("Response verify OK"), ProcessRunner.describe(nonce))
        XCTAssertFalse((nonce.stdout + nonce.stderr).contains("Nonce"), "nonce echoed: " + ProcessRunner.describe(nonce))
        XCTAssertFalse((nonce.stdout + nonce.stderr).contains("WARNING"), ProcessRunner.describe(nonce))
        return (response, check)
    }

    func testGoodCertificate() throws {
        let s = try setUpCA()
        let (response, check) = try roundTrip(s, name: "good", certArgs: ["-cert", s.leafPath])
        XCTAssertEqual(check.status, 0, ProcessRunner.describe(check))
        XCTAssertTrue(check.stderr.contains("Response verify OK"), ProcessRunner.describe(check))
        XCTAssertTrue(check.stdout.contains("\(s.leafPath): good"), check.stdout)

        let parsed = try OCSPResponse(derEncoded: response)
        XCTAssertEqual(parsed.status, .successful)
        let basic = try XCTUnwrap(parsed.basicResponse)
        XCTAssertEqual(basic.tbsResponseData.responderID, .byKey(Array(Insecure.SHA1.hash(data: Array(s.f.ca.issuingCertificate.publicKey.subjectPublicKeyInfoBytes)))))
        XCTAssertEqual(basic.tbsResponseData.responses.first?.certStatus, .good)
        XCTAssertEqual(basic.tbsResponseData.responses.first?.thisUpdate, s.f.clock.now)
        XCTAssertEqual(basic.tbsResponseData.responses.first?.nextUpdate, s.f.clock.now.addingTimeInterval(3600))
        XCTAssertEqual(basic.certs, [s.f.ca.issuingCertificate])
        let key = try XCTUnwrap(P256.Signing.PublicKey(s.f.ca.issuingCertificate.publicKey))
        XCTAssertTrue(key.isValidSignature(try P256.Signing.ECDSASignature(derRepresentation: Array(basic.signature.bytes)),
                                           for: SHA256.hash(data: Array(basic.tbsResponseDataBytes))))
    }

    func testRevokedCertificateWithTimeAndReason() throws {
        let s = try setUpCA()
        let revokedAt = s.f.clock.now.addingTimeInterval(-3600)
        try s.f.ca.revoke(serialHex: s.leaf.serialNumber.bytes.map { String(format: "%02x", $0) }.joined(), reason: .keyCompromise, at: revokedAt)
        let (response, check) = try roundTrip(s, name: "revoked", certArgs: ["-cert", s.leafPath])
        XCTAssertEqual(check.status, 0, ProcessRunner.describe(check))
        XCTAssertTrue(check.stderr.contains("Response verify OK"), ProcessRunner.describe(check))
        XCTAssertTrue(check.stdout.contains("\(s.leafPath): revoked"), check.stdout)
        XCTAssertTrue(check.stdout.contains("Reason: keyCompromise"), check.stdout)
        let single = try XCTUnwrap(try OCSPResponse(derEncoded: response).basicResponse?.tbsResponseData.responses.first)
        XCTAssertEqual(single.certStatus, .revoked(time: revokedAt, reason: .keyCompromise))
    }

    func testUnknownSerialIsUnknown() throws {
        let s = try setUpCA()
        let (_, check) = try roundTrip(s, name: "unknown", certArgs: ["-serial", "0x1234567890ABCDEF"])
        XCTAssertEqual(check.status, 0, ProcessRunner.describe(check))
        XCTAssertTrue(check.stderr.contains("Response verify OK"), ProcessRunner.describe(check))
        XCTAssertTrue(check.stdout.contains("0x1234567890ABCDEF: unknown"), check.stdout)
    }

    func testSHA256CertIDAndSeveralCertificatesInOneRequest() throws {
        let s = try setUpCA()
        let second = try s.f.issue(device: "two").certificate
        let secondPath = try s.f.write("second.pem", try pem(second))
        try s.f.ca.revoke(serialHex: second.serialNumber.bytes.map { String(format: "%02x", $0) }.joined(), reason: .superseded, at: s.f.clock.now)
        let (_, check) = try roundTrip(s, name: "multi", certArgs: ["-cert", s.leafPath, "-cert", secondPath], extra: ["-sha256"])
        XCTAssertEqual(check.status, 0, ProcessRunner.describe(check))
        XCTAssertTrue(check.stdout.contains("\(s.leafPath): good"), check.stdout)
        XCTAssertTrue(check.stdout.contains("\(secondPath): revoked"), check.stdout)
    }

    func testCertificateOfAnotherIssuerIsUnknown() throws {
        let s = try setUpCA()
        let other = try CAFixture()
        let foreign = try other.issue().certificate
        let certID = OCSPCertID(hashAlgorithm: .sha1,
                                issuerNameHash: Array(Insecure.SHA1.hash(data: try CADERBytes.encode(other.ca.issuingCertificate.subject))),
                                issuerKeyHash: Array(Insecure.SHA1.hash(data: Array(other.ca.issuingCertificate.publicKey.subjectPublicKeyInfoBytes))),
                                serialNumber: foreign.serialNumber.bytes)
        let request = try CADERBytes.encode(OCSPRequest(tbsRequest: OCSPTBSRequest(requestList: [OCSPSingleRequest(certID: certID)])))
        let response = try OCSPResponse(derEncoded: s.f.ca.ocspResponse(requestDER: request))
        XCTAssertEqual(response.basicResponse?.tbsResponseData.responses.first?.certStatus, .unknown)
        XCTAssertEqual(response.basicResponse?.tbsResponseData.responseExtensions, [], "no nonce asked, none sent")
    }

    func testNonceIsEchoedAndOversizedNonceIsMalformed() throws {
        let s = try setUpCA()
        let nonceValue: [UInt8] = [0x04, 0x10] + (0..<16).map { UInt8($0) }
        let certID = try OCSPCertID(
            hashAlgorithm: .sha256,
            issuerNameHash: Array(SHA256.hash(data: CADERBytes.encode(s.f.ca.issuingCertificate.subject))),
            issuerKeyHash: Array(SHA256.hash(data: Array(s.f.ca.issuingCertificate.publicKey.subjectPublicKeyInfoBytes))),
            serialNumber: s.leaf.serialNumber.bytes)
        func request(nonce: [UInt8]) throws -> [UInt8] {
            let ext = Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 48, 1, 2], critical: false, value: nonce[...])
            return try CADERBytes.encode(OCSPRequest(tbsRequest: OCSPTBSRequest(requestList: [OCSPSingleRequest(certID: certID)], requestExtensions: [ext])))
        }
        let response = try OCSPResponse(derEncoded: s.f.ca.ocspResponse(requestDER: try request(nonce: nonceValue)))
        let data = try XCTUnwrap(response.basicResponse?.tbsResponseData)
        XCTAssertEqual(data.responseExtensions.first.map { Array($0.value) }, nonceValue)
        XCTAssertEqual(data.responses.first?.certStatus, .good)
        let big: [UInt8] = [0x04, 0x40] + Array(repeating: 7, count: 64)
        XCTAssertEqual(try OCSPResponse(derEncoded: s.f.ca.ocspResponse(requestDER: try request(nonce: big))).status, .malformedRequest)
    }

    func testMalformedRequests() throws {
        let s = try setUpCA()
        for bytes: [UInt8] in [[], [0x30, 0x00], Array("GET / HTTP/1.1".utf8), [0x30, 0x03, 0x30, 0x01, 0x00]] {
            let response = try OCSPResponse(derEncoded: s.f.ca.ocspResponse(requestDER: bytes))
            XCTAssertEqual(response.status, .malformedRequest, "\(bytes)")
            XCTAssertNil(response.basicResponse, "error responses are unsigned")
        }
        let empty = try CADERBytes.encode(OCSPRequest(tbsRequest: OCSPTBSRequest(requestList: [])))
        XCTAssertEqual(try OCSPResponse(derEncoded: s.f.ca.ocspResponse(requestDER: empty)).status, .malformedRequest)
    }
}
