import SwiftASN1

/// ``ContentInfo`` is defined in RFC 5652 §3 as:
///
/// ```
/// ContentInfo ::= SEQUENCE {
///     contentType ContentType,
///     content [0] EXPLICIT ANY DEFINED BY contentType }
///
/// ContentType ::= OBJECT IDENTIFIER
/// ```
///
/// A RFC 3161 `TimeStampToken` is a ``ContentInfo`` whose content type is `id-signedData`.
///
/// Invariants: ``content`` is the raw DER of the inner element, so unknown content types
/// round-trip unchanged. Decode the content with ``signedData()``.
public struct ContentInfo: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var contentType: ASN1ObjectIdentifier
    public var content: ASN1Any

    public init(contentType: ASN1ObjectIdentifier, content: ASN1Any) {
        self.contentType = contentType
        self.content = content
    }

    /// A `ContentInfo` of type `id-signedData` wrapping `signedData`.
    public init(signedData: SignedData) throws {
        self.init(contentType: CMSObjectIdentifiers.idSignedData, content: try ASN1Any(erasing: signedData))
    }

    /// Decodes ``content`` as `SignedData`.
    ///
    /// - Throws: `cms.unexpectedContentType` if ``contentType`` is not `id-signedData`, otherwise
    ///   any decoding error of `SignedData` (as a ``CMSStructuresError``).
    public func signedData() throws -> SignedData {
        guard self.contentType == CMSObjectIdentifiers.idSignedData else {
            throw CMSStructuresError(
                code: .unexpectedContentType,
                message: "content type is not id-signedData",
                context: ["type": "ContentInfo", "contentType": self.contentType.description]
            )
        }
        return try SignedData(derEncoded: self.content.cmsDERBytes)
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let contentType = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let wrapper = try CMSDER.next(&nodes, type: "ContentInfo", field: "content")
            guard wrapper.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) else {
                throw CMSStructuresError.malformed("content must be [0] EXPLICIT", type: "ContentInfo", field: "content")
            }
            let content = ASN1Any(derEncoded: try CMSDER.explicitChild(of: wrapper, type: "ContentInfo", field: "content"))
            return ContentInfo(contentType: contentType, content: content)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.contentType)
            try coder.serialize(self.content, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
        }
    }
}
