import PKIStructures
import SwiftASN1
import X509

/// The CRL distribution points extension (RFC 5280 4.2.1.13, id-ce 31), with one distribution
/// point per URI, each a `fullName` of one uniformResourceIdentifier; non-critical.
///
/// ```
/// CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
/// DistributionPoint ::= SEQUENCE {
///     distributionPoint [0] DistributionPointName OPTIONAL,
///     reasons           [1] ReasonFlags OPTIONAL,
///     cRLIssuer         [2] GeneralNames OPTIONAL }
/// DistributionPointName ::= CHOICE {
///     fullName                [0] GeneralNames,
///     nameRelativeToCRLIssuer [1] RelativeDistinguishedName }
/// ```
///
/// `[0] distributionPoint` tags a CHOICE and is therefore explicit; `[0] fullName` is implicit.
struct CRLDistributionPoints: CertificateExtensionConvertible {
    static let oid: ASN1ObjectIdentifier = [2, 5, 29, 31]
    var uris: [String]

    func makeCertificateExtension() throws -> Certificate.Extension {
        var coder = DER.Serializer()
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            for uri in uris {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                        try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                            try coder.serialize(GeneralName.uniformResourceIdentifier(uri))
                        }
                    }
                }
            }
        }
        return Certificate.Extension(oid: Self.oid, critical: false, value: coder.serializedBytes[...])
    }

    /// The URIs of the fullName distribution points of an extension value.
    static func uris(in value: ArraySlice<UInt8>) throws -> [String] {
        try CADER.children(of: try DER.parse(value)).flatMap { point -> [String] in
            guard case .constructed(let fields) = point.content, let dpn = fields.first(where: { $0.identifier.tagNumber == 0 }),
                  case .constructed(let choice) = dpn.content, let full = Array(choice).first, full.identifier.tagNumber == 0,
                  case .constructed(let names) = full.content else { return [] }
            return names.compactMap { node -> String? in
                guard case .uniformResourceIdentifier(let uri) = try? GeneralName(derEncoded: node) else { return nil }
                return uri
            }
        }
    }
}
