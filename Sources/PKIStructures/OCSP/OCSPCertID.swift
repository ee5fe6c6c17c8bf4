import CMSStructures
import SwiftASN1

/// Identifies a certificate in OCSP (RFC 6960 4.1.1):
///
/// ```
/// CertID ::= SEQUENCE {
///     hashAlgorithm   AlgorithmIdentifier,
///     issuerNameHash  OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash   OCTET STRING, -- Hash of issuer's public key
///     serialNumber    CertificateSerialNumber }
/// ```
///
/// A CertID parsed from a request keeps its exact encoding, so the response repeats it byte for
/// byte (clients match responses to requests by CertID).
public struct OCSPCertID: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var hashAlgorithm: CMSAlgorithmIdentifier
    public var issuerNameHash: ASN1OctetString
    public var issuerKeyHash: ASN1OctetString
    /// Big-endian magnitude of the serial number.
    public var serialNumber: ArraySlice<UInt8>
    private var receivedEncoding: ArraySlice<UInt8>?

    public init(hashAlgorithm: CMSAlgorithmIdentifier, issuerNameHash: [UInt8], issuerKeyHash: [UInt8], serialNumber: ArraySlice<UInt8>) {
        self.hashAlgorithm = hashAlgorithm
        self.issuerNameHash = ASN1OctetString(contentBytes: issuerNameHash[...])
        self.issuerKeyHash = ASN1OctetString(contentBytes: issuerKeyHash[...])
        self.serialNumber = serialNumber
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let algorithm = try CMSAlgorithmIdentifier(derEncoded: &nodes)
            let nameHash = try ASN1OctetString(derEncoded: &nodes)
            let keyHash = try ASN1OctetString(derEncoded: &nodes)
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            var id = OCSPCertID(hashAlgorithm: algorithm, issuerNameHash: Array(nameHash.bytes), issuerKeyHash: Array(keyHash.bytes), serialNumber: serial)
            id.receivedEncoding = rootNode.encodedBytes
            return id
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        if let receivedEncoding, identifier == Self.defaultIdentifier {
            coder.serializeRawBytes(receivedEncoding)
            return
        }
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(hashAlgorithm)
            try coder.serialize(issuerNameHash)
            try coder.serialize(issuerKeyHash)
            try coder.serialize(serialNumber)
        }
    }
}
