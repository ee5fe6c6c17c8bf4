import SwiftASN1

/// ``EncapsulatedContentInfo`` is defined in RFC 5652 §5.2 as:
///
/// ```
/// EncapsulatedContentInfo ::= SEQUENCE {
///     eContentType ContentType,
///     eContent [0] EXPLICIT OCTET STRING OPTIONAL }
///
/// ContentType ::= OBJECT IDENTIFIER
/// ```
///
/// Invariants: ``eContent`` `nil` means the content is detached (as in PAdES signatures);
/// an empty array is a present-but-empty OCTET STRING. Only the DER (primitive) OCTET STRING
/// form is accepted.
public struct EncapsulatedContentInfo: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var eContentType: ASN1ObjectIdentifier
    public var eContent: [UInt8]?

    public init(eContentType: ASN1ObjectIdentifier = CMSObjectIdentifiers.idData, eContent: [UInt8]? = nil) {
        self.eContentType = eContentType
        self.eContent = eContent
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let eContentType = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let eContent = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                try ASN1OctetString(derEncoded: node)
            }
            return EncapsulatedContentInfo(eContentType: eContentType, eContent: eContent.map { Array($0.bytes) })
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.eContentType)
            if let eContent = self.eContent {
                try coder.serialize(
                    ASN1OctetString(contentBytes: eContent[...]),
                    explicitlyTaggedWithTagNumber: 0,
                    tagClass: .contextSpecific
                )
            }
        }
    }
}
