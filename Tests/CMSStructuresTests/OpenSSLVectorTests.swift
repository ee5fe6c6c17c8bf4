import CMSStructures
import SwiftASN1
import X509
import XCTest

/// Parses the fixed OpenSSL vectors and checks that they re-serialize byte-identically.
final class OpenSSLVectorTests: XCTestCase {
    // MARK: CMS

    func testDetachedCMSWithoutAttributes() throws {
        let contentInfo = try assertByteIdentical(ContentInfo.self, Vectors.cmsDetachedNoAttrs)
        XCTAssertEqual(contentInfo.contentType, CMSObjectIdentifiers.idSignedData)

        let signedData = try contentInfo.signedData()
        try assertByteIdentical(SignedData.self, contentInfo.content.derBytes)
        XCTAssertEqual(signedData.version, 1)
        XCTAssertEqual(signedData.digestAlgorithms, [.sha256])
        XCTAssertEqual(signedData.encapContentInfo, EncapsulatedContentInfo(eContentType: CMSObjectIdentifiers.idData))
        XCTAssertNil(signedData.encapContentInfo.eContent)
        XCTAssertNil(signedData.crls)

        let certificates = try signedData.x509Certificates()
        XCTAssertEqual(certificates.count, 1)
        XCTAssertEqual(certificates.first?.serialNumber, Certificate.SerialNumber(bytes: [1, 2, 3, 4, 5]))

        XCTAssertEqual(signedData.signerInfos.count, 1)
        let signerInfo = try XCTUnwrap(signedData.signerInfos.first)
        XCTAssertEqual(signerInfo.version, 1)
        guard case .issuerAndSerialNumber(let issuerAndSerial) = signerInfo.sid else {
            return XCTFail("expected issuerAndSerialNumber")
        }
        XCTAssertEqual(issuerAndSerial, IssuerAndSerialNumber(certificate: try XCTUnwrap(certificates.first)))
        XCTAssertEqual(signerInfo.digestAlgorithm, .sha256)
        XCTAssertEqual(signerInfo.signatureAlgorithm, .ecdsaWithSHA256)
        XCTAssertNil(signerInfo.signedAttrs)
        XCTAssertNil(signerInfo.signedAttrsDERForSignature)
        XCTAssertTrue(signerInfo.unsignedAttrs.isEmpty)
        XCTAssertFalse(signerInfo.signature.isEmpty)
    }

    func testDetachedCMSWithAttributesExposesSignedBytes() throws {
        let original = Vectors.cmsDetachedWithAttrs
        let contentInfo = try assertByteIdentical(ContentInfo.self, original)
        let signerInfo = try XCTUnwrap(try contentInfo.signedData().signerInfos.first)

        XCTAssertEqual(signerInfo.signedAttrs?.count, 3)
        XCTAssertEqual(try signerInfo.contentType, CMSObjectIdentifiers.idData)
        XCTAssertEqual(try signerInfo.messageDigest, dataSHA256)
        let signingTime = try XCTUnwrap(try signerInfo.signingTime)
        XCTAssertEqual(signingTime.year, 2026)
        XCTAssertEqual(signingTime.month, 11)
        XCTAssertEqual(signingTime.day, 29)
        XCTAssertNil(try signerInfo.signingCertificateV2)

        // The [0] element sits at offset 539 (2-byte header, 105 content bytes). The bytes to
        // verify are those bytes with 0xA0 replaced by 0x31 (checked with `openssl dgst -verify`).
        XCTAssertEqual(original[539], 0xA0)
        var expected = Array(original[539..<(539 + 2 + 105)])
        expected[0] = 0x31
        XCTAssertEqual(signerInfo.signedAttrsDERForSignature, expected)
        XCTAssertEqual(try SignerInfo.signedAttrsDER(for: try XCTUnwrap(signerInfo.signedAttrs)), expected)
    }

    func testSubjectKeyIdentifierSignerIsVersion3() throws {
        let contentInfo = try assertByteIdentical(ContentInfo.self, Vectors.cmsSubjectKeyIdentifier)
        let signedData = try contentInfo.signedData()
        XCTAssertEqual(signedData.version, 3)
        XCTAssertEqual(signedData.certificates?.count, 2)
        let signerInfo = try XCTUnwrap(signedData.signerInfos.first)
        XCTAssertEqual(signerInfo.version, 3)
        guard case .subjectKeyIdentifier(let ski) = signerInfo.sid else {
            return XCTFail("expected subjectKeyIdentifier")
        }
        XCTAssertEqual(Array(ski.keyIdentifier), hex("4f29b70808ebfb7223bb9f910c2178bf11274aa2"))
    }

    func testRSASSAPSSParametersFromOpenSSL() throws {
        let contentInfo = try assertByteIdentical(ContentInfo.self, Vectors.cmsRSASSAPSS)
        let signerInfo = try XCTUnwrap(try contentInfo.signedData().signerInfos.first)
        XCTAssertEqual(signerInfo.signatureAlgorithm.algorithm, CMSObjectIdentifiers.rsassaPSS)

        let parameters = try signerInfo.signatureAlgorithm.rsassaPSSParameters()
        let sha256WithNull = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.sha256, parameters: try ASN1Any(erasing: ASN1Null()))
        XCTAssertEqual(parameters.hashAlgorithm, sha256WithNull)
        XCTAssertEqual(parameters.maskGenAlgorithm.algorithm, CMSObjectIdentifiers.mgf1)
        XCTAssertEqual(parameters.maskGenHashAlgorithm, sha256WithNull)
        XCTAssertEqual(parameters.saltLength, 0x5E)
        XCTAssertEqual(parameters.trailerField, 1)
        try assertByteIdentical(RSASSAPSSParameters.self, try XCTUnwrap(signerInfo.signatureAlgorithm.parameters).derBytes)
    }

    // MARK: TSP

    func testTimeStampRequestWithNonceAndCertReq() throws {
        let request = try assertByteIdentical(TimeStampReq.self, Vectors.timeStampRequest)
        XCTAssertEqual(request.version, 1)
        XCTAssertEqual(request.messageImprint.hashAlgorithm.algorithm, CMSObjectIdentifiers.sha256)
        XCTAssertEqual(request.messageImprint.hashedMessage, dataSHA256)
        XCTAssertNil(request.reqPolicy)
        XCTAssertEqual(request.nonce.map(Array.init), hex("fc7a0f69d3fac02d"))
        XCTAssertEqual(request.nonce, TimeStampReq.nonce(0xFC7A_0F69_D3FA_C02D))
        XCTAssertTrue(request.certReq)
        XCTAssertNil(request.extensions)
    }

    func testTimeStampRequestWithoutNonce() throws {
        let request = try assertByteIdentical(TimeStampReq.self, Vectors.timeStampRequestNoNonce)
        XCTAssertEqual(request.messageImprint.hashAlgorithm.algorithm, CMSObjectIdentifiers.sha384)
        XCTAssertEqual(request.messageImprint.hashedMessage.count, 48)
        XCTAssertNil(request.nonce)
        XCTAssertFalse(request.certReq)
    }

    func testGrantedTimeStampResponse() throws {
        let response = try assertByteIdentical(TimeStampResp.self, Vectors.timeStampResponseGranted)
        XCTAssertEqual(response.status.status, .granted)
        XCTAssertNil(response.status.statusString)
        XCTAssertNil(response.status.failInfo)

        let token = try XCTUnwrap(response.timeStampToken)
        try assertByteIdentical(ContentInfo.self, try token.derEncoded())
        let signedData = try token.signedData()
        XCTAssertEqual(signedData.version, 3, "eContentType is not id-data, so version 3")
        XCTAssertEqual(signedData.encapContentInfo.eContentType, CMSObjectIdentifiers.idCTTSTInfo)

        // OpenSSL emits the PKCS #7 certificate SET in insertion order (TSA, then CA), which is not
        // DER order; the received order is preserved so the token re-serializes byte-identically.
        let certificates = try signedData.x509Certificates()
        XCTAssertEqual(certificates.map(\.serialNumber).first, Certificate.SerialNumber(bytes: [0xF1]))
        XCTAssertEqual(certificates.count, 2)

        let tstInfo = try XCTUnwrap(try response.tstInfo())
        let eContent = try XCTUnwrap(signedData.encapContentInfo.eContent)
        try assertByteIdentical(TSTInfo.self, eContent)
        XCTAssertEqual(tstInfo.version, 1)
        XCTAssertEqual(tstInfo.policy, try ASN1ObjectIdentifier(dotRepresentation: "1.2.3.4.1"))
        XCTAssertEqual(tstInfo.messageImprint.hashedMessage, dataSHA256)
        XCTAssertEqual(Array(tstInfo.serialNumber), hex("1234567890abcdef02"))
        XCTAssertEqual(tstInfo.genTime.year, 2026)
        XCTAssertEqual(Array(tstInfo.genTime.rawFractionalSeconds), Array("111".utf8))
        XCTAssertEqual(tstInfo.accuracy, try Accuracy(seconds: 1, millis: 500, micros: 100))
        XCTAssertEqual(tstInfo.accuracy?.totalMicroseconds, 1_500_100)
        XCTAssertTrue(tstInfo.ordering)
        XCTAssertEqual(tstInfo.nonce.map(Array.init), hex("fc7a0f69d3fac02d"))
        guard case .directoryName(let tsaName) = try XCTUnwrap(tstInfo.tsa) else {
            return XCTFail("expected a directoryName TSA name")
        }
        XCTAssertEqual(tsaName, certificates[0].subject)

        let signerInfo = try XCTUnwrap(signedData.signerInfos.first)
        XCTAssertEqual(try signerInfo.contentType, CMSObjectIdentifiers.idCTTSTInfo)
        let signingCertificate = try XCTUnwrap(try signerInfo.signingCertificateV2)
        XCTAssertEqual(signingCertificate.certs.count, 1)
        XCTAssertTrue(signingCertificate.certs[0].hashAlgorithmIsDefault)
        XCTAssertEqual(
            signingCertificate.certs[0].certHash,
            hex("987737c0169f3b5361d7fc3a9c74248322695a2a6de05747d80a43baed4b7d5b")
        )
        let attribute = try XCTUnwrap(signerInfo.signedAttribute(CMSObjectIdentifiers.signingCertificateV2).first)
        try assertByteIdentical(SigningCertificateV2.self, attribute.attrValues[0].derBytes)
    }

    func testTimeStampResponseWithSigningCertificateV1() throws {
        let response = try assertByteIdentical(TimeStampResp.self, Vectors.timeStampResponseV1)
        let token = try XCTUnwrap(response.timeStampToken)
        let signedData = try token.signedData()
        XCTAssertNil(signedData.certificates)
        let tstInfo = try TSTInfo(timeStampToken: token)
        XCTAssertEqual(tstInfo.accuracy, try Accuracy(seconds: 2))
        XCTAssertFalse(tstInfo.ordering)
        XCTAssertNil(tstInfo.nonce)
        XCTAssertNil(tstInfo.tsa)
        XCTAssertEqual(tstInfo.messageImprint.hashAlgorithm.algorithm, CMSObjectIdentifiers.sha384)

        let signerInfo = try XCTUnwrap(signedData.signerInfos.first)
        let signingCertificate = try XCTUnwrap(try signerInfo.signingCertificate)
        XCTAssertEqual(signingCertificate.certs.count, 1)
        XCTAssertEqual(signingCertificate.certs[0].certHash, hex("ed96f4b2e9a5f39f1c07396cc5d4659c1a3fe6fb"))
        XCTAssertEqual(signingCertificate.certs[0].hashAlgorithm, .sha1)
        let attribute = try XCTUnwrap(signerInfo.signedAttribute(CMSObjectIdentifiers.signingCertificate).first)
        try assertByteIdentical(SigningCertificate.self, attribute.attrValues[0].derBytes)
    }

    func testRejectedTimeStampResponse() throws {
        let response = try assertByteIdentical(TimeStampResp.self, Vectors.timeStampResponseRejected)
        XCTAssertEqual(response.status.status, .rejection)
        XCTAssertEqual(response.status.statusString, ["Error during serial number generation."])
        XCTAssertEqual(response.status.failInfo, .addInfoNotAvailable)
        XCTAssertNil(response.timeStampToken)
        XCTAssertNil(try response.tstInfo())
    }
}

extension ASN1Any {
    /// The DER bytes held by this value.
    var derBytes: [UInt8] {
        get throws { try der(self) }
    }
}
