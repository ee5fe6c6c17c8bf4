import Foundation
import SwiftASN1
import X509

/// The signed part of a basic OCSP response (RFC 6960 4.2.1):
///
/// ```
/// ResponseData ::= SEQUENCE {
///     version              [0] EXPLICIT Version DEFAULT v1,
///     responderID              ResponderID,
///     producedAt               GeneralizedTime,
///     responses                SEQUENCE OF SingleResponse,
///     responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
/// ```
public struct OCSPResponseData: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var version: Int
    public var responderID: OCSPResponderID
    public var producedAt: Date
    public var responses: [OCSPSingleResponse]
    public var responseExtensions: [Certificate.Extension]

    public init(responderID: OCSPResponderID, producedAt: Date, responses: [OCSPSingleResponse], responseExtensions: [Certificate.Extension]) {
        self.version = 0
        self.responderID = responderID
        self.producedAt = producedAt
        self.responses = responses
        self.responseExtensions = responseExtensions
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { try Int(derEncoded: $0) } ?? 0
            guard let idNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "ResponseData without responderID") }
            let responderID = try OCSPResponderID(derEncoded: idNode)
            let producedAt = X509Time.date(try GeneralizedTime(derEncoded: &nodes))
            let responses = try DER.sequence(of: OCSPSingleResponse.self, identifier: .sequence, nodes: &nodes)
            let extensions = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) { node in
                try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: node)
            } ?? []
            var data = OCSPResponseData(responderID: responderID, producedAt: producedAt, responses: responses, responseExtensions: extensions)
            data.version = version
            return data
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            if version != 0 {
                try coder.serialize(version, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
            }
            try coder.serialize(responderID)
            try coder.serialize(try X509Time.generalizedTime(producedAt))
            try coder.serializeSequenceOf(responses)
            if !responseExtensions.isEmpty {
                try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { coder in
                    try coder.serializeSequenceOf(responseExtensions)
                }
            }
        }
    }
}
