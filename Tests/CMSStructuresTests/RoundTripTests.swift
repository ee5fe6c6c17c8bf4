import CMSStructures
import SwiftASN1
import X509
import XCTest

/// One build -> serialize -> parse round trip per type.
final class RoundTripTests: XCTestCase {
    private func signerCertificate() throws -> Certificate {
        try XCTUnwrap(try ContentInfo(derEncoded: Vectors.cmsDetachedNoAttrs).signedData().x509Certificates().first)
    }

    private func sampleGeneralizedTime() throws -> GeneralizedTime {
        try GeneralizedTime(year: 2026, month: 1, day: 2, hours: 3, minutes: 4, seconds: 5, fractionalSeconds: 0.25)
    }

    // MARK: Algorithms

    func testCMSAlgorithmIdentifierRoundTrip() throws {
        XCTAssertEqual(try assertRoundTrip(CMSAlgorithmIdentifier.sha256), hex("300b0609608648016503040201"))
        XCTAssertEqual(try assertRoundTrip(CMSAlgorithmIdentifier.ecdsaWithSHA384), hex("300a06082a8648ce3d040303"))
        XCTAssertEqual(
            try assertRoundTrip(CMSAlgorithmIdentifier.sha256WithRSAEncryption),
            hex("300d06092a864886f70d01010b0500")
        )
        for algorithm in [CMSAlgorithmIdentifier.sha384, .sha512, .ecdsaWithSHA256, .ecdsaWithSHA512, .rsaEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption] {
            try assertRoundTrip(algorithm)
        }
        XCTAssertTrue(CMSAlgorithmIdentifier.sha256.isEquivalent(to: CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.sha256, parameters: try ASN1Any(erasing: ASN1Null()))))
        XCTAssertEqual(CMSAlgorithmIdentifier.sha384.digestLength, 48)
    }

    func testRSASSAPSSBuilderEncoding() throws {
        let algorithm = try CMSAlgorithmIdentifier.rsassaPSS(hash: .sha256)
        let expected = hex(
            """
            3041 06092a864886f70d01010a
                 3034 a00f 300d 0609608648016503040201 0500
                      a11c 301a 06092a864886f70d010108 300d 0609608648016503040201 0500
                      a203 020120
            """
        )
        XCTAssertEqual(try assertRoundTrip(algorithm), expected)
        let parameters = try algorithm.rsassaPSSParameters()
        XCTAssertEqual(parameters.saltLength, 32)
        XCTAssertEqual(parameters.maskGenHashAlgorithm?.algorithm, CMSObjectIdentifiers.sha256)
        XCTAssertEqual(try CMSAlgorithmIdentifier.rsassaPSS(hash: .sha512).rsassaPSSParameters().saltLength, 64)
        assertThrowsCode(.unsupportedAlgorithm) { try CMSAlgorithmIdentifier.rsassaPSS(hash: .sha1) }
        assertThrowsCode(.unsupportedAlgorithm) { try CMSAlgorithmIdentifier.sha256.rsassaPSSParameters() }
    }

    func testRSASSAPSSParametersRoundTrip() throws {
        XCTAssertEqual(try assertRoundTrip(try RSASSAPSSParameters()), hex("3000"), "all DEFAULTs are omitted")
        try assertRoundTrip(
            try RSASSAPSSParameters(
                hashAlgorithm: .sha384,
                maskGenAlgorithm: try .mgf1(hash: .sha384),
                saltLength: 48
            )
        )
    }

    // MARK: CMS

    func testCMSAttributeRoundTrip() throws {
        try assertRoundTrip(try CMSAttribute.contentType(CMSObjectIdentifiers.idData))
        try assertRoundTrip(try CMSAttribute.messageDigest(dataSHA256))
        try assertRoundTrip(try CMSAttribute.signingTime(try sampleGeneralizedTime()))
        // Multi-valued attribute: values are encoded in DER SET order.
        let values = [try ASN1Any(erasing: ASN1OctetString(contentBytes: [2])), try ASN1Any(erasing: ASN1OctetString(contentBytes: [1]))]
        let attribute = CMSAttribute(attrType: CMSObjectIdentifiers.messageDigest, attrValues: values)
        let encoded = try attribute.derEncoded()
        XCTAssertEqual(encoded, hex("3013 06092a864886f70d010904 3106 040101 040102"))
        XCTAssertEqual(try CMSAttribute(derEncoded: encoded).attrValues, values.reversed())
    }

    func testSigningTimeAttributeUsesUTCTimeBefore2050() throws {
        let attribute = try CMSAttribute.signingTime(try sampleGeneralizedTime())
        XCTAssertEqual(try attribute.attrValues[0].derBytes.first, 0x17)
        let late = try CMSAttribute.signingTime(try GeneralizedTime(year: 2050, month: 1, day: 1, hours: 0, minutes: 0, seconds: 0, fractionalSeconds: 0))
        XCTAssertEqual(try late.attrValues[0].derBytes.first, 0x18)
    }

    func testIssuerAndSerialNumberRoundTrip() throws {
        let certificate = try signerCertificate()
        let value = IssuerAndSerialNumber(certificate: certificate)
        XCTAssertEqual(value.serialNumber, Certificate.SerialNumber(bytes: [1, 2, 3, 4, 5]))
        try assertRoundTrip(value)
        try assertRoundTrip(IssuerAndSerialNumber(issuer: certificate.issuer, serialNumber: Certificate.SerialNumber(bytes: [0x80, 0x01])))
    }

    func testSignerIdentifierRoundTrip() throws {
        try assertRoundTrip(SignerIdentifier(issuerAndSerialNumberOf: try signerCertificate()))
        let ski = SignerIdentifier.subjectKeyIdentifier(SubjectKeyIdentifier(keyIdentifier: [1, 2, 3]))
        XCTAssertEqual(try assertRoundTrip(ski), hex("8003010203"))
        XCTAssertEqual(ski.signerInfoVersion, 3)
    }

    func testEncapsulatedContentInfoRoundTrip() throws {
        XCTAssertEqual(try assertRoundTrip(EncapsulatedContentInfo()), hex("300b06092a864886f70d010701"))
        try assertRoundTrip(EncapsulatedContentInfo(eContentType: CMSObjectIdentifiers.idData, eContent: Array("hello".utf8)))
        try assertRoundTrip(EncapsulatedContentInfo(eContentType: CMSObjectIdentifiers.idData, eContent: []))
    }

    func testContentInfoRoundTrip() throws {
        try assertRoundTrip(ContentInfo(contentType: CMSObjectIdentifiers.idData, content: try ASN1Any(erasing: ASN1OctetString(contentBytes: [1, 2]))))
        try assertRoundTrip(try ContentInfo(signedData: try makeSignedData()))
    }

    private func makeSignerInfo(unsignedAttrs: [CMSAttribute] = []) throws -> SignerInfo {
        // Deliberately given out of DER order: messageDigest sorts after contentType.
        let attributes = [try CMSAttribute.messageDigest(dataSHA256), try CMSAttribute.contentType(CMSObjectIdentifiers.idData)]
        return try SignerInfo(
            sid: SignerIdentifier(issuerAndSerialNumberOf: try signerCertificate()),
            digestAlgorithm: .sha256,
            signedAttrs: attributes,
            signatureAlgorithm: .ecdsaWithSHA256,
            signature: [0x30, 0x00],
            unsignedAttrs: unsignedAttrs
        )
    }

    private func makeSignedData() throws -> SignedData {
        try SignedData(
            digestAlgorithms: [.sha256],
            encapContentInfo: EncapsulatedContentInfo(),
            x509Certificates: [try signerCertificate()],
            signerInfos: [try makeSignerInfo()]
        )
    }

    func testSignerInfoRoundTrip() throws {
        let signerInfo = try makeSignerInfo()
        XCTAssertEqual(signerInfo.version, 1)
        XCTAssertEqual(signerInfo.signedAttrs?.map(\.attrType), [CMSObjectIdentifiers.contentType, CMSObjectIdentifiers.messageDigest])
        let signedBytes = try XCTUnwrap(signerInfo.signedAttrsDERForSignature)
        XCTAssertEqual(signedBytes.first, 0x31)
        XCTAssertEqual(signedBytes, try SignerInfo.signedAttrsDER(for: try XCTUnwrap(signerInfo.signedAttrs)))

        let encoded = try assertRoundTrip(signerInfo)
        // The embedded [0] element is exactly the signed bytes re-tagged 0xA0.
        var embedded = signedBytes
        embedded[0] = 0xA0
        XCTAssertNotNil(encoded.firstRange(of: embedded))

        let parsed = try SignerInfo(derEncoded: encoded)
        XCTAssertEqual(parsed.signedAttrsDERForSignature, signedBytes)
        XCTAssertEqual(try parsed.messageDigest, dataSHA256)
        XCTAssertEqual(try parsed.contentType, CMSObjectIdentifiers.idData)
        XCTAssertNil(try parsed.signingTime)

        let skiSigner = try SignerInfo(
            sid: .subjectKeyIdentifier(SubjectKeyIdentifier(keyIdentifier: [9, 9])),
            digestAlgorithm: .sha384,
            signedAttrs: nil,
            signatureAlgorithm: try .rsassaPSS(hash: .sha384),
            signature: [1, 2, 3]
        )
        XCTAssertEqual(skiSigner.version, 3)
        try assertRoundTrip(skiSigner)
    }

    func testSignerInfoWithTimeStampTokenRoundTrip() throws {
        let token = try XCTUnwrap(try TimeStampResp(derEncoded: Vectors.timeStampResponseGranted).timeStampToken)
        var signerInfo = try makeSignerInfo()
        try signerInfo.addSignatureTimeStampToken(token)
        let encoded = try assertRoundTrip(signerInfo)
        let parsed = try SignerInfo(derEncoded: encoded)
        XCTAssertEqual(try parsed.signatureTimeStampTokens, [token])
        // The token is embedded byte-identically.
        XCTAssertNotNil(encoded.firstRange(of: try token.derEncoded()))
    }

    func testSignedDataRoundTrip() throws {
        let signedData = try makeSignedData()
        XCTAssertEqual(signedData.version, 1)
        try assertRoundTrip(signedData)
        XCTAssertEqual(try signedData.x509Certificates(), [try signerCertificate()])
        // Certificates built from X509.Certificate keep their exact original DER bytes.
        let original = try ContentInfo(derEncoded: Vectors.cmsDetachedNoAttrs).signedData()
        XCTAssertEqual(try signedData.certificates?.first?.derBytes, try original.certificates?.first?.derBytes)
    }

    // MARK: ESS

    func testIssuerSerialRoundTrip() throws {
        let value = IssuerSerial(certificate: try signerCertificate())
        XCTAssertEqual(value.issuerDirectoryName, try signerCertificate().issuer)
        let encoded = try assertRoundTrip(value)
        // GeneralNames SEQUENCE containing [4] EXPLICIT Name.
        XCTAssertEqual(Array(encoded.prefix(4)), [0x30, encoded[1], 0x30, encoded[3]])
        XCTAssertEqual(encoded[4], 0xA4)
        try assertRoundTrip(try IssuerSerial(issuer: [.dnsName("tsa.example")], serialNumber: Certificate.SerialNumber(bytes: [7])))
    }

    func testESSCertIDv2RoundTrip() throws {
        try assertRoundTrip(ESSCertIDv2(certHash: dataSHA256))
        try assertRoundTrip(ESSCertIDv2(certHash: dataSHA256, issuerSerial: IssuerSerial(certificate: try signerCertificate())))
        let sha512 = ESSCertIDv2(hashAlgorithm: .sha512, certHash: [UInt8](repeating: 0xAB, count: 64))
        let encoded = try assertRoundTrip(sha512)
        XCTAssertEqual(Array(encoded[2..<15]), hex("300b0609608648016503040203"))
    }

    func testESSCertIDRoundTrip() throws {
        let certHash = hex("ed96f4b2e9a5f39f1c07396cc5d4659c1a3fe6fb")
        XCTAssertEqual(try assertRoundTrip(ESSCertID(certHash: certHash)), hex("3016 0414") + certHash)
        try assertRoundTrip(ESSCertID(certHash: certHash, issuerSerial: IssuerSerial(certificate: try signerCertificate())))
    }

    func testSigningCertificateV2RoundTrip() throws {
        let value = SigningCertificateV2(certs: [ESSCertIDv2(certHash: dataSHA256, issuerSerial: IssuerSerial(certificate: try signerCertificate()))])
        try assertRoundTrip(value)
        // policies: SEQUENCE OF PolicyInformation { policyIdentifier 1.2.3 }, preserved raw.
        let policies = ASN1Any(derEncoded: try DER.parse(hex("3006 3004 06022a03")))
        try assertRoundTrip(SigningCertificateV2(certs: [ESSCertIDv2(certHash: dataSHA256)], policies: policies))

        // The attribute value is the SEQUENCE itself.
        let attribute = try CMSAttribute.signingCertificateV2(value)
        XCTAssertEqual(try attribute.attrValues[0].derBytes, try value.derEncoded())
        XCTAssertEqual(try attribute.singleValue(as: SigningCertificateV2.self), value)
    }

    func testSigningCertificateRoundTrip() throws {
        let value = SigningCertificate(certs: [ESSCertID(certHash: [UInt8](repeating: 1, count: 20))])
        try assertRoundTrip(value)
        let attribute = try CMSAttribute.signingCertificate(value)
        XCTAssertEqual(try attribute.attrValues[0].derBytes, try value.derEncoded())
    }

    // MARK: TSP

    func testMessageImprintRoundTrip() throws {
        try assertRoundTrip(MessageImprint(hashAlgorithm: .sha256, hashedMessage: dataSHA256))
    }

    func testTimeStampReqRoundTrip() throws {
        let imprint = MessageImprint(hashAlgorithm: .sha256, hashedMessage: dataSHA256)
        try assertRoundTrip(TimeStampReq(messageImprint: imprint))
        // 64-bit nonce with the top bit set, and a 128-bit nonce.
        let request = TimeStampReq(
            messageImprint: imprint,
            reqPolicy: try ASN1ObjectIdentifier(dotRepresentation: "1.2.3.4.1"),
            nonce: TimeStampReq.nonce(UInt64.max),
            certReq: true,
            extensions: ASN1Any(derEncoded: try DER.parse(hex("300c 300a 06032a0304 0403010203")))
        )
        let encoded = try assertRoundTrip(request)
        XCTAssertNotNil(encoded.firstRange(of: hex("020900ffffffffffffffff")))
        XCTAssertNotNil(encoded.firstRange(of: hex("a00c300a06032a03040403010203")), "extensions are [0] IMPLICIT")
        try assertRoundTrip(TimeStampReq(messageImprint: imprint, nonce: ArraySlice([0x00, 0x00, 0x80] + [UInt8](repeating: 0x11, count: 15))))
        XCTAssertEqual(TimeStampReq(messageImprint: imprint, nonce: [0, 0, 5]).nonce, [5])
    }

    func testPKIStatusRoundTrip() throws {
        for status in [PKIStatus.granted, .grantedWithMods, .rejection, .waiting, .revocationWarning, .revocationNotification] {
            try assertRoundTrip(status)
        }
        XCTAssertNil(PKIStatus(rawValue: 6))
    }

    func testPKIFailureInfoRoundTrip() throws {
        XCTAssertEqual(try assertRoundTrip(PKIFailureInfo.addInfoNotAvailable), hex("030406000040"))
        XCTAssertEqual(try assertRoundTrip(PKIFailureInfo.badAlg), hex("03020780"))
        XCTAssertEqual(try assertRoundTrip(PKIFailureInfo()), hex("030100"))
        let many: PKIFailureInfo = [.badRequest, .badDataFormat, .timeNotAvailable, .unacceptedPolicy, .unacceptedExtension, .systemFailure]
        try assertRoundTrip(many)
    }

    func testPKIStatusInfoRoundTrip() throws {
        try assertRoundTrip(PKIStatusInfo(status: .granted))
        try assertRoundTrip(PKIStatusInfo(status: .rejection, statusString: ["bad", "request"], failInfo: [.badRequest, .badAlg]))
        XCTAssertNil(PKIStatusInfo(status: .granted, statusString: []).statusString)
    }

    func testTimeStampRespRoundTrip() throws {
        let token = try ContentInfo(signedData: try makeSignedData())
        try assertRoundTrip(try TimeStampResp(status: PKIStatusInfo(status: .grantedWithMods), timeStampToken: token))
        try assertRoundTrip(try TimeStampResp(status: PKIStatusInfo(status: .waiting, statusString: ["later"])))
    }

    func testAccuracyRoundTrip() throws {
        XCTAssertEqual(try assertRoundTrip(try Accuracy(seconds: 1, millis: 500, micros: 100)), hex("300a 020101 800201f4 810164"))
        try assertRoundTrip(try Accuracy())
        try assertRoundTrip(try Accuracy(millis: 999))
        try assertRoundTrip(try Accuracy(micros: 1))
    }

    func testTSTInfoRoundTrip() throws {
        let minimal = TSTInfo(
            policy: try ASN1ObjectIdentifier(dotRepresentation: "1.2.3.4.1"),
            messageImprint: MessageImprint(hashAlgorithm: .sha256, hashedMessage: dataSHA256),
            serialNumber: [0x01],
            genTime: try GeneralizedTime(year: 2026, month: 1, day: 2, hours: 3, minutes: 4, seconds: 5, fractionalSeconds: 0)
        )
        try assertRoundTrip(minimal)

        let full = TSTInfo(
            policy: try ASN1ObjectIdentifier(dotRepresentation: "1.2.3.4.1"),
            messageImprint: MessageImprint(hashAlgorithm: .sha512, hashedMessage: [UInt8](repeating: 7, count: 64)),
            serialNumber: ArraySlice([0xFF] + [UInt8](repeating: 0x42, count: 19)),
            genTime: try sampleGeneralizedTime(),
            accuracy: try Accuracy(seconds: 1),
            ordering: true,
            nonce: TimeStampReq.nonce(0x8000_0000_0000_0001),
            tsa: .directoryName(try signerCertificate().subject),
            extensions: ASN1Any(derEncoded: try DER.parse(hex("300c 300a 06032a0304 0403010203")))
        )
        let encoded = try assertRoundTrip(full)
        XCTAssertNotNil(encoded.firstRange(of: Array("20260102030405.25Z".utf8)), "fractional seconds are kept")
        XCTAssertNotNil(encoded.firstRange(of: hex("a10c300a06032a03040403010203")), "extensions are [1] IMPLICIT")
    }
}
