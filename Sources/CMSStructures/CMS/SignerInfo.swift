import SwiftASN1

/// ``SignerInfo`` is defined in RFC 5652 §5.3 as:
///
/// ```
/// SignerInfo ::= SEQUENCE {
///     version CMSVersion,
///     sid SignerIdentifier,
///     digestAlgorithm DigestAlgorithmIdentifier,
///     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
///     signatureAlgorithm SignatureAlgorithmIdentifier,
///     signature SignatureValue,
///     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
///
/// SignedAttributes ::= SET SIZE (1..MAX) OF Attribute
/// UnsignedAttributes ::= SET SIZE (1..MAX) OF Attribute
/// SignatureValue ::= OCTET STRING
/// ```
///
/// Invariants:
/// - ``version`` is derived from ``sid``: 1 for `issuerAndSerialNumber`, 3 for
///   `subjectKeyIdentifier`. Parsing rejects any other combination with `cms.unsupportedVersion`.
/// - ``signedAttrsDERForSignature`` is *the* byte string that is signed and verified
///   (RFC 5652 §5.4): the signed attributes encoded as a DER `SET OF` with the universal SET tag
///   0x31. When parsed, it is the received `[0]` element with its first octet 0xA0 replaced by
///   0x31, i.e. exactly the bytes as received. When built, it is computed with
///   ``signedAttrsDER(for:)`` (swift-asn1 `serializeSetOf`, DER order). On serialization the
///   same bytes are emitted under the `[0] IMPLICIT` tag, so what is embedded is always what
///   was signed. ``signedAttrs`` and ``signedAttrsDERForSignature`` can only be changed
///   together, via ``setSignedAttrs(_:)``.
/// - ``signedAttrs`` is stored in DER SET order. Parsed signed attributes that are not in DER
///   order are rejected with `cms.notDER` (RFC 5652 §5.3 requires DER for signedAttrs);
///   an empty signedAttrs SET is rejected with `cms.malformed` (SIZE (1..MAX)).
/// - An empty ``unsignedAttrs`` array means "absent": the `[1]` element is never serialized
///   empty, and an empty `[1]` SET is rejected when parsing.
public struct SignerInfo: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    static let signedAttrsTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    static let unsignedAttrsTag = ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)

    /// `CMSVersion`, derived from ``sid`` (1 or 3).
    public var version: Int { self.sid.signerInfoVersion }
    /// Identifies the signer's certificate.
    public var sid: SignerIdentifier
    /// The digest algorithm used for the content and for the signed attributes.
    public var digestAlgorithm: CMSAlgorithmIdentifier
    /// The signed attributes in DER SET order, or `nil` when absent.
    public private(set) var signedAttrs: [CMSAttribute]?
    /// The DER encoding (tag 0x31) of the signed attributes over which the signature is computed,
    /// or `nil` when there are no signed attributes.
    public private(set) var signedAttrsDERForSignature: [UInt8]?
    /// The signature algorithm.
    public var signatureAlgorithm: CMSAlgorithmIdentifier
    /// The signature value (content of the OCTET STRING).
    public var signature: [UInt8]
    /// The unsigned attributes; empty means absent.
    public var unsignedAttrs: [CMSAttribute]

    /// Builds a `SignerInfo`.
    ///
    /// - Parameters:
    ///   - signedAttrs: the signed attributes in any order; they are stored and encoded in DER
    ///     SET order. Pass `nil` for a SignerInfo without signed attributes.
    ///   - signature: the signature over ``signedAttrsDERForSignature`` (or over the content when
    ///     there are no signed attributes). Use an empty array as placeholder before signing.
    /// - Throws: `cms.malformed` if `signedAttrs` is an empty array (SIZE (1..MAX)).
    public init(
        sid: SignerIdentifier,
        digestAlgorithm: CMSAlgorithmIdentifier,
        signedAttrs: [CMSAttribute]?,
        signatureAlgorithm: CMSAlgorithmIdentifier,
        signature: [UInt8],
        unsignedAttrs: [CMSAttribute] = []
    ) throws {
        self.sid = sid
        self.digestAlgorithm = digestAlgorithm
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = signature
        self.unsignedAttrs = unsignedAttrs
        self.signedAttrs = nil
        self.signedAttrsDERForSignature = nil
        try self.setSignedAttrs(signedAttrs)
    }

    /// Replaces the signed attributes and recomputes ``signedAttrsDERForSignature``.
    ///
    /// - Throws: `cms.malformed` if `attributes` is an empty array (SIZE (1..MAX)).
    public mutating func setSignedAttrs(_ attributes: [CMSAttribute]?) throws {
        guard let attributes else {
            self.signedAttrs = nil
            self.signedAttrsDERForSignature = nil
            return
        }
        guard !attributes.isEmpty else {
            throw CMSStructuresError.malformed("signedAttrs must not be empty", type: "SignerInfo", field: "signedAttrs")
        }
        self.signedAttrsDERForSignature = try Self.signedAttrsDER(for: attributes)
        self.signedAttrs = try CMSDER.sortedInSetOrder(attributes)
    }

    /// The DER encoding (universal SET tag 0x31, elements in DER order) of `attributes`: the
    /// message that is signed when these are the signed attributes (RFC 5652 §5.4).
    public static func signedAttrsDER(for attributes: [CMSAttribute]) throws -> [UInt8] {
        try CMSDER.encodeSetOf(attributes, identifier: .set)
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "SignerInfo"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try CMSDER.integer(CMSDER.next(&nodes, type: typeName, field: "version"), type: typeName, field: "version")
            let sid = try SignerIdentifier(derEncoded: CMSDER.next(&nodes, type: typeName, field: "sid"))
            guard version == sid.signerInfoVersion else {
                throw CMSStructuresError.unsupportedVersion(version, expected: sid.signerInfoVersion, type: typeName)
            }
            let digestAlgorithm = try CMSAlgorithmIdentifier(derEncoded: &nodes)

            var signedAttrs: [CMSAttribute]?
            var signedAttrsDER: [UInt8]?
            if let node = CMSDER.nextIfPresent(&nodes, identifier: Self.signedAttrsTag) {
                signedAttrs = try CMSDER.setOf(
                    CMSAttribute.self,
                    node: node,
                    identifier: Self.signedAttrsTag,
                    type: typeName,
                    field: "signedAttrs",
                    allowEmpty: false
                )
                var bytes = Array(node.encodedBytes)
                bytes[0] = 0x31
                signedAttrsDER = bytes
            }

            let signatureAlgorithm = try CMSAlgorithmIdentifier(derEncoded: &nodes)
            let signature = try ASN1OctetString(derEncoded: &nodes)

            var unsignedAttrs: [CMSAttribute] = []
            if let node = CMSDER.nextIfPresent(&nodes, identifier: Self.unsignedAttrsTag) {
                unsignedAttrs = try CMSDER.setOf(
                    CMSAttribute.self,
                    node: node,
                    identifier: Self.unsignedAttrsTag,
                    type: typeName,
                    field: "unsignedAttrs",
                    allowEmpty: false
                )
            }

            return SignerInfo(
                sid: sid,
                digestAlgorithm: digestAlgorithm,
                signedAttrs: signedAttrs,
                signedAttrsDERForSignature: signedAttrsDER,
                signatureAlgorithm: signatureAlgorithm,
                signature: Array(signature.bytes),
                unsignedAttrs: unsignedAttrs
            )
        }
    }

    /// Parsing initialiser: keeps the received signed-attribute bytes.
    private init(
        sid: SignerIdentifier,
        digestAlgorithm: CMSAlgorithmIdentifier,
        signedAttrs: [CMSAttribute]?,
        signedAttrsDERForSignature: [UInt8]?,
        signatureAlgorithm: CMSAlgorithmIdentifier,
        signature: [UInt8],
        unsignedAttrs: [CMSAttribute]
    ) {
        self.sid = sid
        self.digestAlgorithm = digestAlgorithm
        self.signedAttrs = signedAttrs
        self.signedAttrsDERForSignature = signedAttrsDERForSignature
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = signature
        self.unsignedAttrs = unsignedAttrs
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.version)
            try coder.serialize(self.sid)
            try coder.serialize(self.digestAlgorithm)
            if var signedAttrsBytes = self.signedAttrsDERForSignature {
                // Same bytes as signed, re-tagged [0] IMPLICIT (0x31 -> 0xA0).
                signedAttrsBytes[0] = 0xA0
                coder.serializeRawBytes(signedAttrsBytes)
            }
            try coder.serialize(self.signatureAlgorithm)
            try coder.serialize(ASN1OctetString(contentBytes: self.signature[...]))
            if !self.unsignedAttrs.isEmpty {
                try coder.serializeSetOf(self.unsignedAttrs, identifier: Self.unsignedAttrsTag)
            }
        }
    }
}

// MARK: - Attribute access

extension SignerInfo {
    /// All signed attributes of type `oid` (normally zero or one).
    public func signedAttribute(_ oid: ASN1ObjectIdentifier) -> [CMSAttribute] {
        (self.signedAttrs ?? []).filter { $0.attrType == oid }
    }

    /// All unsigned attributes of type `oid`.
    public func unsignedAttribute(_ oid: ASN1ObjectIdentifier) -> [CMSAttribute] {
        self.unsignedAttrs.filter { $0.attrType == oid }
    }

    /// The single signed attribute of type `oid`, or `nil` if absent.
    ///
    /// - Throws: `cms.invalidAttribute` if the attribute occurs more than once
    ///   (RFC 5652 §11: these attributes MUST NOT occur more than once).
    public func uniqueSignedAttribute(_ oid: ASN1ObjectIdentifier) throws -> CMSAttribute? {
        let matches = self.signedAttribute(oid)
        guard matches.count <= 1 else {
            throw CMSStructuresError.invalidAttribute("signed attribute occurs \(matches.count) times", attribute: oid.description)
        }
        return matches.first
    }

    /// The `content-type` signed attribute value (RFC 5652 §11.1), or `nil` if absent.
    public var contentType: ASN1ObjectIdentifier? {
        get throws {
            try self.uniqueSignedAttribute(CMSObjectIdentifiers.contentType)?.singleValue(as: ASN1ObjectIdentifier.self)
        }
    }

    /// The `message-digest` signed attribute value (RFC 5652 §11.2), or `nil` if absent.
    public var messageDigest: [UInt8]? {
        get throws {
            try self.uniqueSignedAttribute(CMSObjectIdentifiers.messageDigest)
                .map { Array(try $0.singleValue(as: ASN1OctetString.self).bytes) }
        }
    }

    /// The `signing-time` signed attribute (RFC 5652 §11.3), converted to `GeneralizedTime`
    /// when it was encoded as UTCTime; `nil` if absent.
    public var signingTime: GeneralizedTime? {
        get throws {
            guard let attribute = try self.uniqueSignedAttribute(CMSObjectIdentifiers.signingTime) else {
                return nil
            }
            let value = try attribute.singleValue(as: ASN1Any.self).cmsDERBytes
            if value.first == 0x17 {
                let utcTime = try UTCTime(derEncoded: value)
                return try GeneralizedTime(
                    year: utcTime.year,
                    month: utcTime.month,
                    day: utcTime.day,
                    hours: utcTime.hours,
                    minutes: utcTime.minutes,
                    seconds: utcTime.seconds,
                    fractionalSeconds: 0
                )
            }
            return try attribute.singleValue(as: GeneralizedTime.self)
        }
    }

    /// The `signing-certificate-v2` signed attribute (RFC 5035), or `nil` if absent.
    public var signingCertificateV2: SigningCertificateV2? {
        get throws {
            try self.uniqueSignedAttribute(CMSObjectIdentifiers.signingCertificateV2)?
                .singleValue(as: SigningCertificateV2.self)
        }
    }

    /// The `signing-certificate` (v1) signed attribute (RFC 2634), or `nil` if absent.
    public var signingCertificate: SigningCertificate? {
        get throws {
            try self.uniqueSignedAttribute(CMSObjectIdentifiers.signingCertificate)?
                .singleValue(as: SigningCertificate.self)
        }
    }

    /// All `signatureTimeStampToken` unsigned attribute values, in order.
    public var signatureTimeStampTokens: [ContentInfo] {
        get throws {
            try self.unsignedAttribute(CMSObjectIdentifiers.signatureTimeStampToken).flatMap { attribute in
                try attribute.attrValues.map { value in
                    do {
                        return try ContentInfo(derEncoded: value.cmsDERBytes)
                    } catch let error as CMSStructuresError {
                        throw CMSStructuresError(
                            code: .invalidAttribute,
                            message: "signatureTimeStampToken value is not a ContentInfo: \(error.message)",
                            context: ["attribute": attribute.attrType.description, "cause": error.code.rawValue]
                        )
                    }
                }
            }
        }
    }

    /// Appends a `signatureTimeStampToken` unsigned attribute holding `token`.
    public mutating func addSignatureTimeStampToken(_ token: ContentInfo) throws {
        self.unsignedAttrs.append(try CMSAttribute.signatureTimeStampToken(token))
    }
}
