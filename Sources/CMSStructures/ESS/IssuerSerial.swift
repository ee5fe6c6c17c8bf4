import SwiftASN1
import X509

/// ``IssuerSerial`` is defined in RFC 2634 §5.4.1 (reused unchanged by RFC 5035) as:
///
/// ```
/// IssuerSerial ::= SEQUENCE {
///     issuer GeneralNames,
///     serialNumber CertificateSerialNumber }
///
/// GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
/// ```
///
/// Invariants: ``issuer`` is non-empty (an empty GeneralNames is rejected with `cms.malformed`);
/// for a certificate it holds a single `.directoryName` (`[4]`) with the certificate's issuer
/// DN, as RFC 5035 §4 requires.
public struct IssuerSerial: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public private(set) var issuer: [GeneralName]
    public var serialNumber: Certificate.SerialNumber

    /// - Throws: `cms.malformed` if `issuer` is empty (GeneralNames is SIZE (1..MAX)).
    public init(issuer: [GeneralName], serialNumber: Certificate.SerialNumber) throws {
        guard !issuer.isEmpty else {
            throw CMSStructuresError.malformed("GeneralNames must not be empty", type: "IssuerSerial", field: "issuer")
        }
        self.issuer = issuer
        self.serialNumber = serialNumber
    }

    /// `{ issuer: [directoryName(certificate.issuer)], serialNumber: certificate.serialNumber }`.
    public init(certificate: Certificate) {
        self.issuer = [.directoryName(certificate.issuer)]
        self.serialNumber = certificate.serialNumber
    }

    /// The issuer distinguished name when ``issuer`` is a single `directoryName`.
    public var issuerDirectoryName: DistinguishedName? {
        guard self.issuer.count == 1, case .directoryName(let name) = self.issuer[0] else {
            return nil
        }
        return name
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "IssuerSerial"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let issuer = try CMSDER.sequenceOf(
                GeneralName.self,
                node: CMSDER.next(&nodes, type: typeName, field: "issuer"),
                type: typeName,
                field: "issuer",
                allowEmpty: false
            )
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            return try IssuerSerial(issuer: issuer, serialNumber: Certificate.SerialNumber(bytes: serial))
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serializeSequenceOf(self.issuer)
            try coder.serialize(self.serialNumber.bytes)
        }
    }
}
