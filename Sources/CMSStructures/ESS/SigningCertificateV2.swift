import SwiftASN1

/// ``SigningCertificateV2`` is defined in RFC 5035 §3 as:
///
/// ```
/// SigningCertificateV2 ::= SEQUENCE {
///     certs SEQUENCE OF ESSCertIDv2,
///     policies SEQUENCE OF PolicyInformation OPTIONAL }
///
/// id-aa-signingCertificateV2 OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840)
///     rsadsi(113549) pkcs(1) pkcs9(9) smime(16) id-aa(2) 47 }
/// ```
///
/// Invariants: the attribute value is this SEQUENCE itself (not wrapped in an OCTET STRING);
/// build the attribute with ``CMSAttribute/signingCertificateV2(_:)``. The first element of
/// ``certs`` identifies the signing certificate. ``policies`` is kept as the raw DER of the
/// `SEQUENCE OF PolicyInformation` (tag 0x30) and round-trips unchanged.
public struct SigningCertificateV2: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var certs: [ESSCertIDv2]
    public var policies: ASN1Any?

    public init(certs: [ESSCertIDv2], policies: ASN1Any? = nil) {
        self.certs = certs
        self.policies = policies
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "SigningCertificateV2"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let certs = try CMSDER.sequenceOf(
                ESSCertIDv2.self,
                node: CMSDER.next(&nodes, type: typeName, field: "certs"),
                type: typeName,
                field: "certs"
            )
            let policies = CMSDER.nextIfPresent(&nodes, identifier: .sequence).map { ASN1Any(derEncoded: $0) }
            return SigningCertificateV2(certs: certs, policies: policies)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serializeSequenceOf(self.certs)
            if let policies = self.policies {
                try coder.serialize(policies)
            }
        }
    }
}
