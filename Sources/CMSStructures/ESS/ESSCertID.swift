import SwiftASN1

/// ``ESSCertID`` is defined in RFC 2634 §5.4.1 as:
///
/// ```
/// ESSCertID ::= SEQUENCE {
///     certHash Hash,
///     issuerSerial IssuerSerial OPTIONAL }
///
/// Hash ::= OCTET STRING -- SHA1 hash of entire certificate
/// ```
///
/// Invariants: ``certHash`` is the SHA-1 hash of the complete DER encoding of the certificate
/// (its length is not checked, so malformed producers can still be inspected). Used by
/// time-stamp tokens that carry the v1 `signing-certificate` attribute.
public struct ESSCertID: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var certHash: [UInt8]
    public var issuerSerial: IssuerSerial?

    public init(certHash: [UInt8], issuerSerial: IssuerSerial? = nil) {
        self.certHash = certHash
        self.issuerSerial = issuerSerial
    }

    /// The hash algorithm of ``certHash``: always SHA-1.
    public var hashAlgorithm: CMSAlgorithmIdentifier { .sha1 }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let certHash = try ASN1OctetString(derEncoded: &nodes)
            let issuerSerial = try DER.optionalImplicitlyTagged(&nodes, tag: IssuerSerial.defaultIdentifier) as IssuerSerial?
            return ESSCertID(certHash: Array(certHash.bytes), issuerSerial: issuerSerial)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(ASN1OctetString(contentBytes: self.certHash[...]))
            if let issuerSerial = self.issuerSerial {
                try coder.serialize(issuerSerial)
            }
        }
    }
}
