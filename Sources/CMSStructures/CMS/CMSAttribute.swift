import SwiftASN1

/// ``CMSAttribute`` is defined in RFC 5652 §5.3 as:
///
/// ```
/// Attribute ::= SEQUENCE {
///     attrType OBJECT IDENTIFIER,
///     attrValues SET OF AttributeValue }
///
/// AttributeValue ::= ANY
/// ```
///
/// Invariants:
/// - ``attrValues`` is serialized as a DER SET OF (elements sorted by their encodings, via
///   `serializeSetOf`); a parsed SET OF whose elements are not in DER order is rejected with
///   `cms.notDER`.
/// - Each value is kept as raw DER (`ASN1Any`), so unknown attributes round-trip unchanged.
public struct CMSAttribute: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var attrType: ASN1ObjectIdentifier
    public var attrValues: [ASN1Any]

    public init(attrType: ASN1ObjectIdentifier, attrValues: [ASN1Any]) {
        self.attrType = attrType
        self.attrValues = attrValues
    }

    /// An attribute with a single value.
    public init<Value: DERSerializable>(attrType: ASN1ObjectIdentifier, value: Value) throws {
        self.init(attrType: attrType, attrValues: [try ASN1Any(erasing: value)])
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let attrType = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let valuesNode = try CMSDER.next(&nodes, type: "CMSAttribute", field: "attrValues")
            let attrValues = try CMSDER.setOf(ASN1Any.self, node: valuesNode, type: "CMSAttribute", field: "attrValues")
            return CMSAttribute(attrType: attrType, attrValues: attrValues)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.attrType)
            try coder.serializeSetOf(self.attrValues)
        }
    }
}

// MARK: - Value access

extension CMSAttribute {
    /// The single value of this attribute, decoded as `Value`.
    ///
    /// - Throws: `cms.invalidAttribute` if the attribute does not have exactly one value or the
    ///   value does not decode as `Value`.
    public func singleValue<Value: DERParseable>(as type: Value.Type) throws -> Value {
        guard self.attrValues.count == 1 else {
            throw CMSStructuresError.invalidAttribute(
                "attribute must have exactly one value, found \(self.attrValues.count)",
                attribute: self.attrType.description
            )
        }
        do {
            return try CMSDER.decode(Value.self, from: self.attrValues[0].cmsDERBytes[...])
        } catch let error as CMSStructuresError {
            throw CMSStructuresError(
                code: .invalidAttribute,
                message: "attribute value is not a valid \(Value.self): \(error.message)",
                context: ["attribute": self.attrType.description, "cause": error.code.rawValue]
            )
        }
    }
}

// MARK: - Builders for the CMS attributes of RFC 5652 §11

extension CMSAttribute {
    /// `content-type` attribute (RFC 5652 §11.1).
    public static func contentType(_ contentType: ASN1ObjectIdentifier) throws -> CMSAttribute {
        try CMSAttribute(attrType: CMSObjectIdentifiers.contentType, value: contentType)
    }

    /// `message-digest` attribute (RFC 5652 §11.2).
    public static func messageDigest(_ digest: [UInt8]) throws -> CMSAttribute {
        try CMSAttribute(attrType: CMSObjectIdentifiers.messageDigest, value: ASN1OctetString(contentBytes: digest[...]))
    }

    /// `signing-time` attribute (RFC 5652 §11.3). Per the RFC, dates from 1950 through 2049 are
    /// encoded as UTCTime, other dates as GeneralizedTime. Fractional seconds are dropped for
    /// UTCTime.
    public static func signingTime(_ time: GeneralizedTime) throws -> CMSAttribute {
        if (1950...2049).contains(time.year) {
            let utcTime = try UTCTime(
                year: time.year,
                month: time.month,
                day: time.day,
                hours: time.hours,
                minutes: time.minutes,
                seconds: time.seconds
            )
            return try CMSAttribute(attrType: CMSObjectIdentifiers.signingTime, value: utcTime)
        }
        return try CMSAttribute(attrType: CMSObjectIdentifiers.signingTime, value: time)
    }

    /// `signatureTimeStampToken` unsigned attribute (RFC 3161 Appendix A / ETSI EN 319 122):
    /// the value is the TimeStampToken (a `ContentInfo`).
    public static func signatureTimeStampToken(_ token: ContentInfo) throws -> CMSAttribute {
        try CMSAttribute(attrType: CMSObjectIdentifiers.signatureTimeStampToken, value: token)
    }

    /// `signing-certificate-v2` attribute (RFC 5035 §3): the value is the `SigningCertificateV2`
    /// SEQUENCE itself.
    public static func signingCertificateV2(_ value: SigningCertificateV2) throws -> CMSAttribute {
        try CMSAttribute(attrType: CMSObjectIdentifiers.signingCertificateV2, value: value)
    }

    /// `signing-certificate` attribute (RFC 2634 §5.4): the value is the `SigningCertificate`
    /// SEQUENCE itself.
    public static func signingCertificate(_ value: SigningCertificate) throws -> CMSAttribute {
        try CMSAttribute(attrType: CMSObjectIdentifiers.signingCertificate, value: value)
    }
}
