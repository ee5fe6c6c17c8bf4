import PKIStructures
import SwiftASN1
import X509

/// The certificate policies extension (RFC 5280 4.2.1.4, id-ce 32) with bare policy
/// identifiers (no qualifiers); non-critical.
///
/// ```
/// certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation
/// PolicyInformation ::= SEQUENCE {
///     policyIdentifier   CertPolicyId,
///     policyQualifiers   SEQUENCE SIZE (1..MAX) OF PolicyQualifierInfo OPTIONAL }
/// ```
struct CertificatePolicies: CertificateExtensionConvertible {
    static let oid: ASN1ObjectIdentifier = [2, 5, 29, 32]
    var policies: [ASN1ObjectIdentifier]

    func makeCertificateExtension() throws -> Certificate.Extension {
        var coder = DER.Serializer()
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            for policy in policies {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(policy)
                }
            }
        }
        return Certificate.Extension(oid: Self.oid, critical: false, value: coder.serializedBytes[...])
    }

    /// The policy identifiers of an extension value.
    static func policies(in value: ArraySlice<UInt8>) throws -> [ASN1ObjectIdentifier] {
        try CADER.children(of: try DER.parse(value)).map { info in
            try DER.sequence(info, identifier: .sequence) { nodes in
                let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
                while nodes.next() != nil {}
                return oid
            }
        }
    }
}
