import SwiftASN1

/// ``MessageImprint`` is defined in RFC 3161 §2.4.1 as:
///
/// ```
/// MessageImprint ::= SEQUENCE  {
///     hashAlgorithm                AlgorithmIdentifier,
///     hashedMessage                OCTET STRING  }
/// ```
///
/// Invariants: ``hashAlgorithm`` keeps its parameters exactly as given/received (absent vs NULL);
/// compare algorithms with ``CMSAlgorithmIdentifier/isEquivalent(to:)``. The length of
/// ``hashedMessage`` is not checked against the algorithm.
public struct MessageImprint: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var hashAlgorithm: CMSAlgorithmIdentifier
    public var hashedMessage: [UInt8]

    public init(hashAlgorithm: CMSAlgorithmIdentifier, hashedMessage: [UInt8]) {
        self.hashAlgorithm = hashAlgorithm
        self.hashedMessage = hashedMessage
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let hashAlgorithm = try CMSAlgorithmIdentifier(derEncoded: &nodes)
            let hashedMessage = try ASN1OctetString(derEncoded: &nodes)
            return MessageImprint(hashAlgorithm: hashAlgorithm, hashedMessage: Array(hashedMessage.bytes))
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.hashAlgorithm)
            try coder.serialize(ASN1OctetString(contentBytes: self.hashedMessage[...]))
        }
    }
}
