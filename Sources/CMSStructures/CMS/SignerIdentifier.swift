import SwiftASN1
import X509

/// ``SignerIdentifier`` is defined in RFC 5652 §5.3 as:
///
/// ```
/// SignerIdentifier ::= CHOICE {
///     issuerAndSerialNumber IssuerAndSerialNumber,
///     subjectKeyIdentifier [0] SubjectKeyIdentifier }
///
/// SubjectKeyIdentifier ::= OCTET STRING
/// ```
///
/// Invariants: the CHOICE is untagged, so this type is not implicitly taggable; the
/// `subjectKeyIdentifier` alternative is encoded as `[0] IMPLICIT OCTET STRING` (0x80).
/// The alternative determines the `SignerInfo` version: 1 for issuerAndSerialNumber,
/// 3 for subjectKeyIdentifier.
public enum SignerIdentifier: DERParseable, DERSerializable, CMSDERCodable {
    case issuerAndSerialNumber(IssuerAndSerialNumber)
    case subjectKeyIdentifier(SubjectKeyIdentifier)

    static let subjectKeyIdentifierTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)

    /// `.issuerAndSerialNumber` for `certificate`.
    public init(issuerAndSerialNumberOf certificate: Certificate) {
        self = .issuerAndSerialNumber(IssuerAndSerialNumber(certificate: certificate))
    }

    /// The `SignerInfo.version` this choice requires (RFC 5652 §5.3).
    public var signerInfoVersion: Int {
        switch self {
        case .issuerAndSerialNumber: return 1
        case .subjectKeyIdentifier: return 3
        }
    }

    public init(derEncoded node: ASN1Node) throws {
        switch node.identifier {
        case IssuerAndSerialNumber.defaultIdentifier:
            self = .issuerAndSerialNumber(try IssuerAndSerialNumber(derEncoded: node))
        case Self.subjectKeyIdentifierTag:
            let octets = try ASN1OctetString(derEncoded: node, withIdentifier: Self.subjectKeyIdentifierTag)
            self = .subjectKeyIdentifier(SubjectKeyIdentifier(keyIdentifier: octets.bytes))
        default:
            throw CMSStructuresError.malformed("unexpected tag \(node.identifier) for SignerIdentifier", type: "SignerIdentifier")
        }
    }

    public func serialize(into coder: inout DER.Serializer) throws {
        switch self {
        case .issuerAndSerialNumber(let issuerAndSerialNumber):
            try coder.serialize(issuerAndSerialNumber)
        case .subjectKeyIdentifier(let subjectKeyIdentifier):
            try ASN1OctetString(contentBytes: subjectKeyIdentifier.keyIdentifier)
                .serialize(into: &coder, withIdentifier: Self.subjectKeyIdentifierTag)
        }
    }
}
