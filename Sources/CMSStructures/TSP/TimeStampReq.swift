import SwiftASN1

/// ``TimeStampReq`` is defined in RFC 3161 §2.4.1 as:
///
/// ```
/// TimeStampReq ::= SEQUENCE  {
///     version                  INTEGER  { v1(1) },
///     messageImprint           MessageImprint,
///     reqPolicy                TSAPolicyId                OPTIONAL,
///     nonce                    INTEGER                    OPTIONAL,
///     certReq                  BOOLEAN                    DEFAULT FALSE,
///     extensions               [0] IMPLICIT Extensions    OPTIONAL  }
///
/// TSAPolicyId ::= OBJECT IDENTIFIER
/// ```
///
/// Invariants:
/// - ``version`` is always 1; other values are rejected with `cms.unsupportedVersion`.
/// - ``nonce`` is the big-endian magnitude of a non-negative INTEGER without leading zero
///   octets (zero is the empty slice), so nonces of 64 bits and more are supported.
/// - ``certReq`` FALSE is never encoded (DER DEFAULT rule); an explicitly encoded FALSE is
///   rejected with `cms.notDER`.
/// - ``extensions`` is the raw `Extensions` SEQUENCE re-tagged with the universal SEQUENCE tag
///   (0x30); it is written back under `[0] IMPLICIT` with the same content bytes.
public struct TimeStampReq: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    static let extensionsTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)

    /// Always 1.
    public var version: Int { 1 }
    public var messageImprint: MessageImprint
    public var reqPolicy: ASN1ObjectIdentifier?
    public var nonce: ArraySlice<UInt8>?
    public var certReq: Bool
    public var extensions: ASN1Any?

    public init(
        messageImprint: MessageImprint,
        reqPolicy: ASN1ObjectIdentifier? = nil,
        nonce: ArraySlice<UInt8>? = nil,
        certReq: Bool = false,
        extensions: ASN1Any? = nil
    ) {
        self.messageImprint = messageImprint
        self.reqPolicy = reqPolicy
        self.nonce = nonce.map(CMSDER.canonicalUnsignedInteger)
        self.certReq = certReq
        self.extensions = extensions
    }

    /// The big-endian bytes of `value` as an unsigned INTEGER magnitude (no leading zeros).
    public static func nonce(_ value: UInt64) -> ArraySlice<UInt8> {
        let bytes = (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
        return CMSDER.canonicalUnsignedInteger(bytes[...])
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "TimeStampReq"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try CMSDER.integer(CMSDER.next(&nodes, type: typeName, field: "version"), type: typeName, field: "version")
            guard version == 1 else {
                throw CMSStructuresError.unsupportedVersion(version, expected: 1, type: typeName)
            }
            let messageImprint = try MessageImprint(derEncoded: &nodes)
            let reqPolicy = try DER.optionalImplicitlyTagged(&nodes, tag: .objectIdentifier) as ASN1ObjectIdentifier?
            let nonce = try DER.optionalImplicitlyTagged(&nodes, tag: .integer) as ArraySlice<UInt8>?
            let certReq = try DER.optionalImplicitlyTagged(&nodes, tag: .boolean) as Bool?
            if certReq == false {
                throw CMSStructuresError.notDER("certReq encoded at its DEFAULT value FALSE", type: typeName, field: "certReq")
            }
            let extensions = try CMSDER.nextIfPresent(&nodes, identifier: Self.extensionsTag).map {
                try CMSDER.retaggedToUniversal($0, universalTag: 0x30, type: typeName, field: "extensions")
            }
            return TimeStampReq(
                messageImprint: messageImprint,
                reqPolicy: reqPolicy,
                nonce: nonce,
                certReq: certReq ?? false,
                extensions: extensions
            )
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.version)
            try coder.serialize(self.messageImprint)
            if let reqPolicy = self.reqPolicy {
                try coder.serialize(reqPolicy)
            }
            if let nonce = self.nonce {
                try coder.serialize(nonce)
            }
            if self.certReq {
                try coder.serialize(true)
            }
            if let extensions = self.extensions {
                try CMSDER.serializeRetagged(
                    extensions,
                    expectedUniversalTag: 0x30,
                    contextTagNumber: 0,
                    into: &coder,
                    type: "TimeStampReq",
                    field: "extensions"
                )
            }
        }
    }
}
