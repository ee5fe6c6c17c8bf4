import CMSStructures
import SwiftASN1
import X509

/// An X.509 v2 CRL (RFC 5280 5.1.1):
///
/// ```
/// CertificateList ::= SEQUENCE {
///     tbsCertList        TBSCertList,
///     signatureAlgorithm AlgorithmIdentifier,
///     signatureValue     BIT STRING }
/// ```
///
/// swift-certificates has no public CRL type, so this one is ours, on swift-asn1.
/// `tbsCertListBytes` keeps the exact signed bytes of a parsed CRL for signature checks.
public struct CertificateList: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var tbsCertList: TBSCertList
    public var signatureAlgorithm: CMSAlgorithmIdentifier
    public var signatureValue: ASN1BitString
    /// The DER of `tbsCertList` as received (parsed CRLs) or as serialized.
    public let tbsCertListBytes: ArraySlice<UInt8>

    /// Builds the CRL from its parts; `signature` is the signature value over `tbsCertListBytes`.
    package init(tbsCertList: TBSCertList, tbsCertListBytes: [UInt8], signature: [UInt8]) {
        self.tbsCertList = tbsCertList
        self.signatureAlgorithm = tbsCertList.signature
        self.signatureValue = ASN1BitString(bytes: signature[...])
        self.tbsCertListBytes = tbsCertListBytes[...]
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            guard let tbsNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "CRL without tbsCertList") }
            let tbs = try TBSCertList(derEncoded: tbsNode)
            let algorithm = try CMSAlgorithmIdentifier(derEncoded: &nodes)
            let signature = try ASN1BitString(derEncoded: &nodes)
            guard algorithm == tbs.signature else {
                throw ASN1Error.invalidASN1Object(reason: "CRL signatureAlgorithm differs from tbsCertList.signature (RFC 5280 5.1.1.2)")
            }
            var list = CertificateList(tbsCertList: tbs, tbsCertListBytes: Array(tbsNode.encodedBytes), signature: Array(signature.bytes))
            list.signatureValue = signature
            return list
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            coder.serializeRawBytes(tbsCertListBytes)
            try coder.serialize(signatureAlgorithm)
            try coder.serialize(signatureValue)
        }
    }
}
