import SwiftASN1

/// ``SigningCertificate`` is defined in RFC 2634 §5.4 as:
///
/// ```
/// SigningCertificate ::= SEQUENCE {
///     certs SEQUENCE OF ESSCertID,
///     policies SEQUENCE OF PolicyInformation OPTIONAL }
///
/// id-aa-signingCertificate OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840)
///     rsadsi(113549) pkcs(1) pkcs9(9) smime(16) id-aa(2) 12 }
/// ```
///
/// Invariants: the attribute value is this SEQUENCE itself (not wrapped in an OCTET STRING).
/// This v1 form (SHA-1 cert hashes) appears in time-stamp tokens; new signatures use
/// ``SigningCertificateV2``. ``policies`` is kept as raw DER and round-trips unchanged.
public struct SigningCertificate: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var certs: [ESSCertID]
    public var policies: ASN1Any?

    public init(certs: [ESSCertID], policies: ASN1Any? = nil) {
        self.certs = certs
        self.policies = policies
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "SigningCertificate"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let certs = try CMSDER.sequenceOf(
                ESSCertID.self,
                node: CMSDER.next(&nodes, type: typeName, field: "certs"),
                type: typeName,
                field: "certs"
            )
            let policies = CMSDER.nextIfPresent(&nodes, identifier: .sequence).map { ASN1Any(derEncoded: $0) }
            return SigningCertificate(certs: certs, policies: policies)
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
