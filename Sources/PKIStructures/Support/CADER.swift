import SwiftASN1

/// Small DER helpers shared by the CA's own ASN.1 types.
package enum CADER {
    /// The DER encoding of a value.
    package static func encode<T: DERSerializable>(_ value: T) throws -> [UInt8] {
        var coder = DER.Serializer()
        try coder.serialize(value)
        return coder.serializedBytes
    }

    /// The children of a constructed node with the given identifier.
    package static func children(of node: ASN1Node, identifier: ASN1Identifier = .sequence) throws -> ASN1NodeCollection {
        guard node.identifier == identifier, case .constructed(let children) = node.content else {
            throw ASN1Error.unexpectedFieldType(node.identifier)
        }
        return children
    }

    /// An ENUMERATED value (X.690 8.4), as used by CRLReason and OCSPResponseStatus.
    package static func serializeEnumerated(_ value: Int, into coder: inout DER.Serializer) throws {
        try value.serialize(into: &coder, withIdentifier: .enumerated)
    }

    package static func enumerated(_ node: ASN1Node) throws -> Int {
        try Int(derEncoded: node, withIdentifier: .enumerated)
    }
}
