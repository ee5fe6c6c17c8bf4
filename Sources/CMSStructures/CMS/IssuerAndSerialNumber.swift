import SwiftASN1
import X509

/// ``IssuerAndSerialNumber`` is defined in RFC 5652 §10.2.4 as:
///
/// ```
/// IssuerAndSerialNumber ::= SEQUENCE {
///     issuer Name,
///     serialNumber CertificateSerialNumber }
///
/// CertificateSerialNumber ::= INTEGER
/// ```
///
/// Invariants: ``issuer`` is X509's `DistinguishedName` (which keeps the attribute string types
/// it was parsed with, so DER round-trips byte-identically); ``serialNumber`` holds the
/// big-endian magnitude of a non-negative INTEGER (negative serial numbers are rejected, as in
/// swift-certificates).
public struct IssuerAndSerialNumber: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var issuer: DistinguishedName
    public var serialNumber: Certificate.SerialNumber

    public init(issuer: DistinguishedName, serialNumber: Certificate.SerialNumber) {
        self.issuer = issuer
        self.serialNumber = serialNumber
    }

    /// The issuer and serial number of `certificate`.
    public init(certificate: Certificate) {
        self.init(issuer: certificate.issuer, serialNumber: certificate.serialNumber)
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let issuer = try DistinguishedName(derEncoded: CMSDER.next(&nodes, type: "IssuerAndSerialNumber", field: "issuer"))
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            return IssuerAndSerialNumber(issuer: issuer, serialNumber: Certificate.SerialNumber(bytes: serial))
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.issuer)
            try coder.serialize(self.serialNumber.bytes)
        }
    }
}
