import Foundation
import SwiftASN1

/// A certificate's status in an OCSP response (RFC 6960 4.2.1):
///
/// ```
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// UnknownInfo ::= NULL
/// ```
public enum OCSPCertStatus: DERParseable, DERSerializable, Hashable, Sendable {
    case good
    case revoked(time: Date, reason: RevocationReason?)
    case unknown

    package static let goodTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    package static let revokedTag = ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
    package static let unknownTag = ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)

    public init(derEncoded node: ASN1Node) throws {
        switch node.identifier {
        case Self.goodTag:
            _ = try ASN1Null(derEncoded: node, withIdentifier: Self.goodTag)
            self = .good
        case Self.unknownTag:
            _ = try ASN1Null(derEncoded: node, withIdentifier: Self.unknownTag)
            self = .unknown
        case Self.revokedTag:
            self = try DER.sequence(node, identifier: Self.revokedTag) { nodes in
                let time = try GeneralizedTime(derEncoded: &nodes)
                let code = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { try CADER.enumerated($0) }
                return .revoked(time: X509Time.date(time), reason: code.flatMap { c in RevocationReason.allCases.first { $0.code == c } })
            }
        default:
            throw ASN1Error.unexpectedFieldType(node.identifier)
        }
    }

    public func serialize(into coder: inout DER.Serializer) throws {
        switch self {
        case .good:
            ASN1Null().serialize(into: &coder, withIdentifier: Self.goodTag)
        case .unknown:
            ASN1Null().serialize(into: &coder, withIdentifier: Self.unknownTag)
        case .revoked(let time, let reason):
            try coder.appendConstructedNode(identifier: Self.revokedTag) { coder in
                try coder.serialize(try X509Time.generalizedTime(time))
                if let reason {
                    try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                        try CADER.serializeEnumerated(reason.code, into: &coder)
                    }
                }
            }
        }
    }
}
