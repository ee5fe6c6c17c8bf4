import SwiftASN1
import X509

/// ``TSTInfo`` is defined in RFC 3161 §2.4.2 as:
///
/// ```
/// TSTInfo ::= SEQUENCE  {
///     version                      INTEGER  { v1(1) },
///     policy                       TSAPolicyId,
///     messageImprint               MessageImprint,
///     serialNumber                 INTEGER,
///     genTime                      GeneralizedTime,
///     accuracy                     Accuracy                 OPTIONAL,
///     ordering                     BOOLEAN             DEFAULT FALSE,
///     nonce                        INTEGER                  OPTIONAL,
///     tsa                          [0] GeneralName          OPTIONAL,
///     extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
///
/// Invariants:
/// - ``version`` is always 1; other values are rejected with `cms.unsupportedVersion`.
/// - ``serialNumber`` and ``nonce`` are big-endian magnitudes of non-negative INTEGERs without
///   leading zero octets (RFC 3161 allows serial numbers up to 160 bits).
/// - ``genTime`` is swift-asn1's `GeneralizedTime`; fractional seconds are preserved exactly
///   (DER forbids trailing zeros, which swift-asn1 enforces).
/// - ``ordering`` FALSE is never encoded; an explicit FALSE is rejected with `cms.notDER`.
/// - ``tsa`` is `[0]` EXPLICIT (GeneralName is a CHOICE).
/// - ``extensions`` is the raw `Extensions` SEQUENCE re-tagged with the universal SEQUENCE tag
///   (0x30); it is written back under `[1] IMPLICIT` with the same content bytes.
public struct TSTInfo: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    static let tsaTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    static let extensionsTag = ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)

    /// Always 1.
    public var version: Int { 1 }
    public var policy: ASN1ObjectIdentifier
    public var messageImprint: MessageImprint
    public var serialNumber: ArraySlice<UInt8>
    public var genTime: GeneralizedTime
    public var accuracy: Accuracy?
    public var ordering: Bool
    public var nonce: ArraySlice<UInt8>?
    public var tsa: GeneralName?
    public var extensions: ASN1Any?

    public init(
        policy: ASN1ObjectIdentifier,
        messageImprint: MessageImprint,
        serialNumber: ArraySlice<UInt8>,
        genTime: GeneralizedTime,
        accuracy: Accuracy? = nil,
        ordering: Bool = false,
        nonce: ArraySlice<UInt8>? = nil,
        tsa: GeneralName? = nil,
        extensions: ASN1Any? = nil
    ) {
        self.policy = policy
        self.messageImprint = messageImprint
        self.serialNumber = CMSDER.canonicalUnsignedInteger(serialNumber)
        self.genTime = genTime
        self.accuracy = accuracy
        self.ordering = ordering
        self.nonce = nonce.map(CMSDER.canonicalUnsignedInteger)
        self.tsa = tsa
        self.extensions = extensions
    }

    /// Extracts the `TSTInfo` from a RFC 3161 TimeStampToken: a `ContentInfo` of type
    /// `id-signedData` whose `encapContentInfo` has eContentType `id-ct-TSTInfo` and an
    /// encapsulated (non-detached) eContent.
    ///
    /// - Throws: `cms.unexpectedContentType` if the token is not of that shape, or a decoding
    ///   error.
    public init(timeStampToken: ContentInfo) throws {
        try self.init(signedData: try timeStampToken.signedData())
    }

    /// The same from the token's already decoded `SignedData` (saves decoding it again).
    public init(signedData: SignedData) throws {
        let encapsulated = signedData.encapContentInfo
        guard encapsulated.eContentType == CMSObjectIdentifiers.idCTTSTInfo else {
            throw CMSStructuresError(
                code: .unexpectedContentType,
                message: "eContentType is not id-ct-TSTInfo",
                context: ["type": "TSTInfo", "eContentType": encapsulated.eContentType.description]
            )
        }
        guard let content = encapsulated.eContent else {
            throw CMSStructuresError(
                code: .unexpectedContentType,
                message: "time-stamp token has no encapsulated TSTInfo",
                context: ["type": "TSTInfo"]
            )
        }
        self = try TSTInfo(derEncoded: content)
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "TSTInfo"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try CMSDER.integer(CMSDER.next(&nodes, type: typeName, field: "version"), type: typeName, field: "version")
            guard version == 1 else {
                throw CMSStructuresError.unsupportedVersion(version, expected: 1, type: typeName)
            }
            let policy = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let messageImprint = try MessageImprint(derEncoded: &nodes)
            let serialNumber = try ArraySlice<UInt8>(derEncoded: &nodes)
            let genTime = try GeneralizedTime(derEncoded: &nodes)
            let accuracy = try DER.optionalImplicitlyTagged(&nodes, tag: Accuracy.defaultIdentifier) as Accuracy?
            let ordering = try DER.optionalImplicitlyTagged(&nodes, tag: .boolean) as Bool?
            if ordering == false {
                throw CMSStructuresError.notDER("ordering encoded at its DEFAULT value FALSE", type: typeName, field: "ordering")
            }
            let nonce = try DER.optionalImplicitlyTagged(&nodes, tag: .integer) as ArraySlice<UInt8>?
            let tsa = try CMSDER.nextIfPresent(&nodes, identifier: Self.tsaTag).map {
                try GeneralName(derEncoded: CMSDER.explicitChild(of: $0, type: typeName, field: "tsa"))
            }
            let extensions = try CMSDER.nextIfPresent(&nodes, identifier: Self.extensionsTag).map {
                try CMSDER.retaggedToUniversal($0, universalTag: 0x30, type: typeName, field: "extensions")
            }
            return TSTInfo(
                policy: policy,
                messageImprint: messageImprint,
                serialNumber: serialNumber,
                genTime: genTime,
                accuracy: accuracy,
                ordering: ordering ?? false,
                nonce: nonce,
                tsa: tsa,
                extensions: extensions
            )
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.version)
            try coder.serialize(self.policy)
            try coder.serialize(self.messageImprint)
            try coder.serialize(self.serialNumber)
            try coder.serialize(self.genTime)
            if let accuracy = self.accuracy {
                try coder.serialize(accuracy)
            }
            if self.ordering {
                try coder.serialize(true)
            }
            if let nonce = self.nonce {
                try coder.serialize(nonce)
            }
            if let tsa = self.tsa {
                try coder.serialize(tsa, explicitlyTaggedWithIdentifier: Self.tsaTag)
            }
            if let extensions = self.extensions {
                try CMSDER.serializeRetagged(
                    extensions,
                    expectedUniversalTag: 0x30,
                    contextTagNumber: 1,
                    into: &coder,
                    type: "TSTInfo",
                    field: "extensions"
                )
            }
        }
    }
}
