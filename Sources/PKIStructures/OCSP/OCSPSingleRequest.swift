import SwiftASN1
import X509

/// One certificate asked about (RFC 6960 4.1.1):
///
/// ```
/// Request ::= SEQUENCE {
///     reqCert                    CertID,
///     singleRequestExtensions    [0] EXPLICIT Extensions OPTIONAL }
/// ```
public struct OCSPSingleRequest: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var certID: OCSPCertID
    public var extensions: [Certificate.Extension]

    public init(certID: OCSPCertID, extensions: [Certificate.Extension] = []) {
        self.certID = certID
        self.extensions = extensions
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let certID = try OCSPCertID(derEncoded: &nodes)
            let extensions = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: node)
            } ?? []
            return OCSPSingleRequest(certID: certID, extensions: extensions)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(certID)
            if !extensions.isEmpty {
                try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                    try coder.serializeSequenceOf(extensions)
                }
            }
        }
    }
}
