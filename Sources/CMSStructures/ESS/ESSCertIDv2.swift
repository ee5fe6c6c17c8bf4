import SwiftASN1

/// ``ESSCertIDv2`` is defined in RFC 5035 §4 as:
///
/// ```
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash Hash,
///     issuerSerial IssuerSerial OPTIONAL }
///
/// Hash ::= OCTET STRING
/// ```
///
/// Invariants:
/// - ``hashAlgorithm`` defaults to SHA-256. On serialization it is omitted when it is SHA-256
///   with absent or NULL parameters (DER: DEFAULT values are not encoded). On parsing both the
///   absent form and an explicitly encoded SHA-256 identifier are accepted (some producers
///   emit it); the explicit form is kept as parsed but re-serializes in the omitted form.
/// - ``certHash`` is the hash of the complete DER encoding of the certificate.
public struct ESSCertIDv2: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var hashAlgorithm: CMSAlgorithmIdentifier
    public var certHash: [UInt8]
    public var issuerSerial: IssuerSerial?

    public init(hashAlgorithm: CMSAlgorithmIdentifier = .sha256, certHash: [UInt8], issuerSerial: IssuerSerial? = nil) {
        self.hashAlgorithm = hashAlgorithm
        self.certHash = certHash
        self.issuerSerial = issuerSerial
    }

    /// Whether ``hashAlgorithm`` is the DEFAULT (SHA-256, parameters absent or NULL).
    public var hashAlgorithmIsDefault: Bool {
        self.hashAlgorithm.algorithm == CMSObjectIdentifiers.sha256 && self.hashAlgorithm.parametersAreAbsentOrNull
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "ESSCertIDv2"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            var hashAlgorithm = CMSAlgorithmIdentifier.sha256
            if let node = CMSDER.nextIfPresent(&nodes, identifier: .sequence) {
                hashAlgorithm = try CMSAlgorithmIdentifier(derEncoded: node)
            }
            let certHash = try ASN1OctetString(derEncoded: CMSDER.next(&nodes, type: typeName, field: "certHash"))
            let issuerSerial = try DER.optionalImplicitlyTagged(&nodes, tag: IssuerSerial.defaultIdentifier) as IssuerSerial?
            return ESSCertIDv2(hashAlgorithm: hashAlgorithm, certHash: Array(certHash.bytes), issuerSerial: issuerSerial)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            if !self.hashAlgorithmIsDefault {
                try coder.serialize(self.hashAlgorithm)
            }
            try coder.serialize(ASN1OctetString(contentBytes: self.certHash[...]))
            if let issuerSerial = self.issuerSerial {
                try coder.serialize(issuerSerial)
            }
        }
    }
}
