import CMSStructures
import SwiftASN1
import X509
import XCTest

/// One named test per rejected malformation / DER rule. Assertions are on error codes only.
final class MalformationTests: XCTestCase {
    private let ski = SignerIdentifier.subjectKeyIdentifier(SubjectKeyIdentifier(keyIdentifier: [9, 9]))

    /// A SignerInfo (SKI sid, version 3) written by hand so that each field can be broken.
    private func handWrittenSignerInfo(
        version: Int = 3,
        signedAttrs: [CMSAttribute]? = nil,
        keepSignedAttrsOrder: Bool = false,
        unsignedAttrs: [CMSAttribute]? = nil
    ) throws -> [UInt8] {
        try der { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(version)
                try coder.serialize(self.ski)
                try coder.serialize(CMSAlgorithmIdentifier.sha256)
                if let signedAttrs {
                    if keepSignedAttrsOrder {
                        try coder.serializeSequenceOf(signedAttrs, identifier: contextTag0)
                    } else {
                        try coder.serializeSetOf(signedAttrs, identifier: contextTag0)
                    }
                }
                try coder.serialize(CMSAlgorithmIdentifier.ecdsaWithSHA256)
                try coder.serialize(ASN1OctetString(contentBytes: [1, 2, 3]))
                if let unsignedAttrs {
                    try coder.serializeSequenceOf(unsignedAttrs, identifier: contextTag1)
                }
            }
        }
    }

    // MARK: Framing

    func testTrailingBytesAreForbidden() {
        assertThrowsCode(.trailingBytes) { try ContentInfo(derEncoded: Vectors.cmsDetachedNoAttrs + [0x00]) }
        assertThrowsCode(.trailingBytes) { try TimeStampReq(derEncoded: Vectors.timeStampRequest + [0x30, 0x00]) }
        assertThrowsCode(.trailingBytes) { try CMSAlgorithmIdentifier(derEncoded: hex("300b0609608648016503040201 00")) }
    }

    func testTruncatedInputIsMalformed() {
        assertThrowsCode(.malformed) { try ContentInfo(derEncoded: Array(Vectors.cmsDetachedNoAttrs.dropLast())) }
        assertThrowsCode(.malformed) { try TimeStampResp(derEncoded: []) }
    }

    func testWrongOuterTagIsMalformed() {
        assertThrowsCode(.malformed) { try TimeStampReq(derEncoded: hex("3100")) }
        assertThrowsCode(.malformed) { try SignedData(derEncoded: hex("0400")) }
    }

    func testExtraSequenceElementIsMalformed() {
        // MessageImprint with a third element.
        assertThrowsCode(.malformed) { try MessageImprint(derEncoded: hex("3011 300b0609608648016503040201 0400 0500")) }
    }

    // MARK: Versions

    func testSignedDataWrongVersionIsRejected() throws {
        var signedData = try ContentInfo(derEncoded: Vectors.cmsDetachedNoAttrs).content.derBytes
        XCTAssertEqual(Array(signedData[4...6]), [0x02, 0x01, 0x01])
        signedData[6] = 0x03
        assertThrowsCode(.unsupportedVersion) { try SignedData(derEncoded: signedData) }

        // The time-stamp token must be version 3 (eContentType is not id-data), not 1.
        let token = try XCTUnwrap(try TimeStampResp(derEncoded: Vectors.timeStampResponseGranted).timeStampToken)
        var tokenSignedData = try token.content.derBytes
        XCTAssertEqual(Array(tokenSignedData[4...6]), [0x02, 0x01, 0x03])
        tokenSignedData[6] = 0x01
        assertThrowsCode(.unsupportedVersion) { try SignedData(derEncoded: tokenSignedData) }
    }

    func testSignerInfoVersionMismatchIsRejected() throws {
        XCTAssertNoThrow(try SignerInfo(derEncoded: try handWrittenSignerInfo(version: 3)))
        assertThrowsCode(.unsupportedVersion) { try SignerInfo(derEncoded: try self.handWrittenSignerInfo(version: 1)) }
    }

    func testTimeStampReqWrongVersionIsRejected() {
        var request = Vectors.timeStampRequest
        XCTAssertEqual(Array(request[2...4]), [0x02, 0x01, 0x01])
        request[4] = 0x02
        assertThrowsCode(.unsupportedVersion) { try TimeStampReq(derEncoded: request) }
    }

    func testTSTInfoWrongVersionIsRejected() throws {
        let tstInfo = try XCTUnwrap(try TimeStampResp(derEncoded: Vectors.timeStampResponseGranted).tstInfo())
        var encoded = try tstInfo.derEncoded()
        XCTAssertEqual(Array(encoded[3...5]), [0x02, 0x01, 0x01])
        encoded[5] = 0x02
        assertThrowsCode(.unsupportedVersion) { try TSTInfo(derEncoded: encoded) }
    }

    func testSignedDataVersionRules() throws {
        let signerInfo = try SignerInfo(
            sid: .issuerAndSerialNumber(IssuerAndSerialNumber(issuer: DistinguishedName(), serialNumber: Certificate.SerialNumber(bytes: [1]))),
            digestAlgorithm: .sha256,
            signedAttrs: nil,
            signatureAlgorithm: .ecdsaWithSHA256,
            signature: [1]
        )
        var signedData = try SignedData(digestAlgorithms: [.sha256], encapContentInfo: EncapsulatedContentInfo(), signerInfos: [signerInfo])
        XCTAssertEqual(signedData.version, 1)
        try assertRoundTrip(signedData)

        let v1AttrCert = ASN1Any(derEncoded: try DER.parse(hex("a100")))
        let v2AttrCert = ASN1Any(derEncoded: try DER.parse(hex("a200")))
        let otherCert = ASN1Any(derEncoded: try DER.parse(hex("a300")))
        let otherRevocationInfo = ASN1Any(derEncoded: try DER.parse(hex("a100")))

        try signedData.setCertificates([v1AttrCert])
        XCTAssertEqual(signedData.version, 3)
        try assertRoundTrip(signedData)
        try signedData.setCertificates([v2AttrCert, v1AttrCert])
        XCTAssertEqual(signedData.version, 4)
        try assertRoundTrip(signedData)
        try signedData.setCertificates([otherCert])
        XCTAssertEqual(signedData.version, 5)
        try assertRoundTrip(signedData)
        try signedData.setCertificates(nil)
        try signedData.setCRLs([otherRevocationInfo])
        XCTAssertEqual(signedData.version, 5)
        try assertRoundTrip(signedData)
        try signedData.setCRLs(nil)
        signedData.encapContentInfo.eContentType = CMSObjectIdentifiers.idCTTSTInfo
        XCTAssertEqual(signedData.version, 3)
        try assertRoundTrip(signedData)
    }

    // MARK: SET OF ordering

    func testUnsortedSignedAttrsAreNotDER() throws {
        let attributes = [try CMSAttribute.messageDigest(dataSHA256), try CMSAttribute.contentType(CMSObjectIdentifiers.idData)]
        // In DER order: accepted.
        XCTAssertNoThrow(try SignerInfo(derEncoded: try handWrittenSignerInfo(signedAttrs: attributes)))
        // Not in DER order: rejected.
        assertThrowsCode(.notDER) {
            try SignerInfo(derEncoded: try self.handWrittenSignerInfo(signedAttrs: attributes, keepSignedAttrsOrder: true))
        }
    }

    func testUnsortedDigestAlgorithmsAreNotDER() throws {
        let encoded = try der { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(1)
                try coder.serializeSequenceOf([CMSAlgorithmIdentifier.sha512, .sha256], identifier: .set)
                try coder.serialize(EncapsulatedContentInfo())
                try coder.serializeSetOf([SignerInfo](), identifier: .set)
            }
        }
        assertThrowsCode(.notDER) { try SignedData(derEncoded: encoded) }
    }

    func testUnsortedAttributeValuesAreNotDER() {
        assertThrowsCode(.notDER) { try CMSAttribute(derEncoded: hex("3013 06092a864886f70d010904 3106 040102 040101")) }
    }

    func testCertificateSetKeepsReceivedOrderButBuildsInDEROrder() throws {
        let token = try XCTUnwrap(try TimeStampResp(derEncoded: Vectors.timeStampResponseGranted).timeStampToken)
        var signedData = try token.signedData()
        let received = try XCTUnwrap(signedData.certificates)
        XCTAssertEqual(try signedData.x509Certificates().map(\.serialNumber).first, Certificate.SerialNumber(bytes: [0xF1]))
        XCTAssertEqual(try signedData.derEncoded(), try token.content.derBytes, "received order is preserved")

        try signedData.setCertificates(received)
        XCTAssertEqual(signedData.certificates, Array(received.reversed()), "building sorts into DER order")
        XCTAssertNotEqual(try signedData.x509Certificates().map(\.serialNumber).first, Certificate.SerialNumber(bytes: [0xF1]))
    }

    // MARK: SIZE (1..MAX) and OPTIONAL/DEFAULT omission

    func testEmptySignedAttrsAreRejected() throws {
        assertThrowsCode(.malformed) { try SignerInfo(derEncoded: try self.handWrittenSignerInfo(signedAttrs: [])) }
        assertThrowsCode(.malformed) {
            try SignerInfo(sid: self.ski, digestAlgorithm: .sha256, signedAttrs: [], signatureAlgorithm: .ecdsaWithSHA256, signature: [])
        }
    }

    func testEmptyUnsignedAttrsIsOmitted() throws {
        let signerInfo = try SignerInfo(
            sid: ski,
            digestAlgorithm: .sha256,
            signedAttrs: nil,
            signatureAlgorithm: .ecdsaWithSHA256,
            signature: [1, 2, 3],
            unsignedAttrs: []
        )
        let encoded = try signerInfo.derEncoded()
        XCTAssertEqual(encoded, try handWrittenSignerInfo())
        XCTAssertEqual(Array(encoded.suffix(5)), [0x04, 0x03, 0x01, 0x02, 0x03], "the signature is the last element")
        XCTAssertTrue(try SignerInfo(derEncoded: encoded).unsignedAttrs.isEmpty)
    }

    func testEmptyUnsignedAttrsSetIsRejected() {
        assertThrowsCode(.malformed) { try SignerInfo(derEncoded: try self.handWrittenSignerInfo(unsignedAttrs: [])) }
    }

    func testESSCertIDv2DefaultSHA256IsOmitted() throws {
        let expected = hex("3022 0420") + dataSHA256
        XCTAssertEqual(try ESSCertIDv2(hashAlgorithm: .sha256, certHash: dataSHA256).derEncoded(), expected)
        let sha256WithNull = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.sha256, parameters: try ASN1Any(erasing: ASN1Null()))
        XCTAssertEqual(try ESSCertIDv2(hashAlgorithm: sha256WithNull, certHash: dataSHA256).derEncoded(), expected)
    }

    func testESSCertIDv2ExplicitSHA256IsAccepted() throws {
        let explicit = hex("302f 300b0609608648016503040201 0420") + dataSHA256
        let parsed = try ESSCertIDv2(derEncoded: explicit)
        XCTAssertTrue(parsed.hashAlgorithmIsDefault)
        XCTAssertEqual(parsed.certHash, dataSHA256)
        XCTAssertEqual(try parsed.derEncoded(), hex("3022 0420") + dataSHA256, "re-serialized in DER (omitted) form")
    }

    func testTimeStampReqCertReqFalseIsOmitted() throws {
        let request = TimeStampReq(messageImprint: MessageImprint(hashAlgorithm: .sha256, hashedMessage: dataSHA256), certReq: false)
        let encoded = try request.derEncoded()
        XCTAssertEqual(encoded, hex("3034 020101 302f 300b0609608648016503040201 0420") + dataSHA256)
        XCTAssertNil(encoded.firstRange(of: [0x01, 0x01, 0x00]))
    }

    func testTimeStampReqExplicitCertReqFalseIsNotDER() {
        let encoded = hex("3037 020101 302f 300b0609608648016503040201 0420") + dataSHA256 + hex("010100")
        assertThrowsCode(.notDER) { try TimeStampReq(derEncoded: encoded) }
    }

    func testTSTInfoExplicitOrderingFalseIsNotDER() throws {
        let tstInfo = TSTInfo(
            policy: try ASN1ObjectIdentifier(dotRepresentation: "1.2.3"),
            messageImprint: MessageImprint(hashAlgorithm: .sha256, hashedMessage: dataSHA256),
            serialNumber: [1],
            genTime: try GeneralizedTime(year: 2026, month: 1, day: 1, hours: 0, minutes: 0, seconds: 0, fractionalSeconds: 0)
        )
        var encoded = try tstInfo.derEncoded()
        XCTAssertNil(encoded.firstRange(of: [0x01, 0x01, 0x00]), "ordering FALSE is omitted")
        encoded += [0x01, 0x01, 0x00]
        encoded[1] += 3
        assertThrowsCode(.notDER) { try TSTInfo(derEncoded: encoded) }
    }

    func testRSASSAPSSDefaultValueEncodedIsNotDER() {
        assertThrowsCode(.notDER) { try RSASSAPSSParameters(derEncoded: hex("3005 a203 020114")) }
        assertThrowsCode(.notDER) { try RSASSAPSSParameters(derEncoded: hex("3005 a303 020101")) }
        assertThrowsCode(.notDER) { try RSASSAPSSParameters(derEncoded: hex("300d a00b 3009 06052b0e03021a 0500")) }
    }

    func testRSASSAPSSTrailerFieldOtherThanOneIsRejected() {
        assertThrowsCode(.valueOutOfRange) { try RSASSAPSSParameters(derEncoded: hex("3005 a303 020102")) }
        assertThrowsCode(.valueOutOfRange) { try RSASSAPSSParameters(trailerField: 2) }
    }

    func testPKIFailureInfoTrailingZeroBitsAreNotDER() {
        XCTAssertEqual(try PKIFailureInfo(derEncoded: hex("03020780")), .badAlg)
        assertThrowsCode(.notDER) { try PKIFailureInfo(derEncoded: hex("03020080")) }
        assertThrowsCode(.notDER) { try PKIFailureInfo(derEncoded: hex("0303078000")) }
        assertThrowsCode(.valueOutOfRange) { try PKIFailureInfo(derEncoded: hex("0306070000000080")) }
    }

    // MARK: Value ranges

    func testAccuracyMillisOutOfRangeIsRejected() {
        assertThrowsCode(.valueOutOfRange) { try Accuracy(millis: 0) }
        assertThrowsCode(.valueOutOfRange) { try Accuracy(micros: 1000) }
        assertThrowsCode(.valueOutOfRange) { try Accuracy(seconds: -1) }
        assertThrowsCode(.valueOutOfRange) { try Accuracy(derEncoded: hex("3003 800100")) }
        assertThrowsCode(.valueOutOfRange) { try Accuracy(derEncoded: hex("3004 800203e8")) }
    }

    func testPKIStatusUnknownValueIsRejected() {
        assertThrowsCode(.valueOutOfRange) { try PKIStatusInfo(derEncoded: hex("3003 020106")) }
    }

    func testNegativeNonceIsMalformed() {
        let encoded = hex("3037 020101 302f 300b0609608648016503040201 0420") + dataSHA256 + hex("020180")
        assertThrowsCode(.malformed) { try TimeStampReq(derEncoded: encoded) }
    }

    // MARK: Structural rules

    func testGrantedResponseWithoutTokenIsRejected() {
        assertThrowsCode(.malformed) { try TimeStampResp(derEncoded: hex("3005 3003 020100")) }
        assertThrowsCode(.malformed) { try TimeStampResp(status: PKIStatusInfo(status: .granted)) }
    }

    func testRejectedResponseWithTokenIsRejected() throws {
        let token = try XCTUnwrap(try TimeStampResp(derEncoded: Vectors.timeStampResponseGranted).timeStampToken)
        assertThrowsCode(.malformed) { try TimeStampResp(status: PKIStatusInfo(status: .rejection), timeStampToken: token) }
    }

    func testIssuerSerialWithEmptyGeneralNamesIsRejected() {
        assertThrowsCode(.malformed) { try IssuerSerial(derEncoded: hex("3005 3000 020101")) }
        assertThrowsCode(.malformed) { try IssuerSerial(issuer: [], serialNumber: Certificate.SerialNumber(bytes: [1])) }
    }

    func testEmptyStatusStringIsRejected() {
        assertThrowsCode(.malformed) { try PKIStatusInfo(derEncoded: hex("3005 020102 3000")) }
    }

    func testSignerIdentifierUnknownTagIsRejected() {
        assertThrowsCode(.malformed) { try SignerIdentifier(derEncoded: hex("810100")) }
    }

    func testSignedDataFromNonSignedDataContentInfoIsRejected() throws {
        let contentInfo = ContentInfo(contentType: CMSObjectIdentifiers.idData, content: try ASN1Any(erasing: ASN1OctetString(contentBytes: [1])))
        assertThrowsCode(.unexpectedContentType) { try contentInfo.signedData() }
    }

    func testTSTInfoFromNonTSTInfoTokenIsRejected() throws {
        let notAToken = try ContentInfo(derEncoded: Vectors.cmsDetachedNoAttrs)
        assertThrowsCode(.unexpectedContentType) { try TSTInfo(timeStampToken: notAToken) }
    }

    // MARK: Attribute accessors

    func testMultiValuedMessageDigestIsInvalidAttribute() throws {
        let attribute = CMSAttribute(
            attrType: CMSObjectIdentifiers.messageDigest,
            attrValues: [try ASN1Any(erasing: ASN1OctetString(contentBytes: [1])), try ASN1Any(erasing: ASN1OctetString(contentBytes: [2]))]
        )
        let signerInfo = try SignerInfo(sid: ski, digestAlgorithm: .sha256, signedAttrs: [attribute], signatureAlgorithm: .ecdsaWithSHA256, signature: [])
        assertThrowsCode(.invalidAttribute) { try signerInfo.messageDigest }
    }

    func testDuplicateSignedAttributeIsInvalidAttribute() throws {
        let signerInfo = try SignerInfo(
            sid: ski,
            digestAlgorithm: .sha256,
            signedAttrs: [try .messageDigest([1]), try .messageDigest([2])],
            signatureAlgorithm: .ecdsaWithSHA256,
            signature: []
        )
        assertThrowsCode(.invalidAttribute) { try signerInfo.messageDigest }
    }

    func testWronglyTypedAttributeValueIsInvalidAttribute() throws {
        let attribute = try CMSAttribute(attrType: CMSObjectIdentifiers.messageDigest, value: ASN1Null())
        let signerInfo = try SignerInfo(sid: ski, digestAlgorithm: .sha256, signedAttrs: [attribute], signatureAlgorithm: .ecdsaWithSHA256, signature: [])
        assertThrowsCode(.invalidAttribute) { try signerInfo.messageDigest }
    }
}
