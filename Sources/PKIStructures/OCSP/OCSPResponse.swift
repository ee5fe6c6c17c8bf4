import SwiftASN1

/// An OCSP response (RFC 6960 4.2.1):
///
/// ```
/// OCSPResponse ::= SEQUENCE {
///     responseStatus         OCSPResponseStatus,
///     responseBytes      [0] EXPLICIT ResponseBytes OPTIONAL }
/// ResponseBytes ::= SEQUENCE {
///     responseType   OBJECT IDENTIFIER,
///     response       OCTET STRING }
/// ```
///
/// Only id-pkix-ocsp-basic responses are produced and understood; responseBytes is present
/// exactly when the status is `successful`.
public struct OCSPResponse: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }
    /// id-pkix-ocsp-basic.
    public static let basicResponseType: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 1]

    public var status: OCSPResponseStatus
    public var basicResponse: BasicOCSPResponse?

    public init(status: OCSPResponseStatus, basicResponse: BasicOCSPResponse? = nil) {
        self.status = status
        self.basicResponse = basicResponse
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            guard let statusNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "OCSPResponse without responseStatus") }
            let code = try CADER.enumerated(statusNode)
            guard let status = OCSPResponseStatus(rawValue: code) else {
                throw ASN1Error.invalidASN1Object(reason: "unknown OCSPResponseStatus \(code)")
            }
            let basic = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node -> BasicOCSPResponse in
                try DER.sequence(node, identifier: .sequence) { fields in
                    let type = try ASN1ObjectIdentifier(derEncoded: &fields)
                    guard type == Self.basicResponseType else {
                        throw ASN1Error.invalidASN1Object(reason: "response type \(type) is not id-pkix-ocsp-basic")
                    }
                    let octets = try ASN1OctetString(derEncoded: &fields)
                    return try BasicOCSPResponse(derEncoded: octets.bytes)
                }
            }
            guard (status == .successful) == (basic != nil) else {
                throw ASN1Error.invalidASN1Object(reason: "responseBytes must be present exactly for successful responses")
            }
            return OCSPResponse(status: status, basicResponse: basic)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try CADER.serializeEnumerated(status.rawValue, into: &coder)
            if let basicResponse {
                let inner = try CADER.encode(basicResponse)
                try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(Self.basicResponseType)
                        try coder.serialize(ASN1OctetString(contentBytes: inner[...]))
                    }
                }
            }
        }
    }
}
