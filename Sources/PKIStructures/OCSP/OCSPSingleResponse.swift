import Foundation
import SwiftASN1
import X509

/// The answer about one certificate (RFC 6960 4.2.1):
///
/// ```
/// SingleResponse ::= SEQUENCE {
///     certID                       CertID,
///     certStatus                   CertStatus,
///     thisUpdate                   GeneralizedTime,
///     nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
///     singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
/// ```
public struct OCSPSingleResponse: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var certID: OCSPCertID
    public var certStatus: OCSPCertStatus
    public var thisUpdate: Date
    public var nextUpdate: Date?
    public var extensions: [Certificate.Extension]

    public init(certID: OCSPCertID, certStatus: OCSPCertStatus, thisUpdate: Date, nextUpdate: Date?, extensions: [Certificate.Extension] = []) {
        self.certID = certID
        self.certStatus = certStatus
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.extensions = extensions
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let certID = try OCSPCertID(derEncoded: &nodes)
            guard let statusNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "SingleResponse without certStatus") }
            let status = try OCSPCertStatus(derEncoded: statusNode)
            let thisUpdate = X509Time.date(try GeneralizedTime(derEncoded: &nodes))
            let nextUpdate = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { X509Time.date(try GeneralizedTime(derEncoded: $0)) }
            let extensions = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) { node in
                try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: node)
            } ?? []
            return OCSPSingleResponse(certID: certID, certStatus: status, thisUpdate: thisUpdate, nextUpdate: nextUpdate, extensions: extensions)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(certID)
            try coder.serialize(certStatus)
            try coder.serialize(try X509Time.generalizedTime(thisUpdate))
            if let nextUpdate {
                try coder.serialize(try X509Time.generalizedTime(nextUpdate), explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
            }
            if !extensions.isEmpty {
                try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { coder in
                    try coder.serializeSequenceOf(extensions)
                }
            }
        }
    }
}
