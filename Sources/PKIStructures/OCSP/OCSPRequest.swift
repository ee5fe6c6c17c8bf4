import SwiftASN1

/// An OCSP request (RFC 6960 4.1.1):
///
/// ```
/// OCSPRequest ::= SEQUENCE {
///     tbsRequest                  TBSRequest,
///     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
/// ```
///
/// The embedded responder does not require signed requests (RFC 6960 4.1.2 makes the signature
/// optional); a signature, when present, is kept as raw bytes and not checked.
public struct OCSPRequest: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var tbsRequest: OCSPTBSRequest
    /// The encoded `[0] EXPLICIT Signature`, if the request is signed.
    public var optionalSignature: ASN1Any?

    public init(tbsRequest: OCSPTBSRequest) {
        self.tbsRequest = tbsRequest
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            var request = OCSPRequest(tbsRequest: try OCSPTBSRequest(derEncoded: &nodes))
            request.optionalSignature = nodes.next().map { ASN1Any(derEncoded: $0) }
            return request
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(tbsRequest)
            if let optionalSignature { try coder.serialize(optionalSignature) }
        }
    }
}
