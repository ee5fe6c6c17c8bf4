import CMSStructures
import Foundation
import SwiftASN1
import X509

/// The signed part of a CRL (RFC 5280 5.1.2):
///
/// ```
/// TBSCertList ::= SEQUENCE {
///     version             Version OPTIONAL,  -- if present, MUST be v2
///     signature           AlgorithmIdentifier,
///     issuer              Name,
///     thisUpdate          Time,
///     nextUpdate          Time OPTIONAL,
///     revokedCertificates SEQUENCE OF SEQUENCE { ... } OPTIONAL,
///     crlExtensions       [0] EXPLICIT Extensions OPTIONAL }
/// ```
///
/// Written as v2 (INTEGER 1) always; an empty revokedCertificates list is omitted (5.1.2.6).
public struct TBSCertList: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    /// 1 means v2; nil when absent (v1).
    public var version: Int?
    public var signature: CMSAlgorithmIdentifier
    public var issuer: DistinguishedName
    public var thisUpdate: Date
    public var nextUpdate: Date?
    public var revokedCertificates: [RevokedCertificate]
    public var extensions: [Certificate.Extension]

    public init(signature: CMSAlgorithmIdentifier, issuer: DistinguishedName, thisUpdate: Date, nextUpdate: Date?,
                revokedCertificates: [RevokedCertificate], extensions: [Certificate.Extension]) {
        self.version = 1
        self.signature = signature
        self.issuer = issuer
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.revokedCertificates = revokedCertificates
        self.extensions = extensions
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try DER.optionalImplicitlyTagged(&nodes, tag: .integer) as Int?
            if let version, version != 1 { throw ASN1Error.invalidASN1Object(reason: "CRL version \(version); only v2 (1) may be encoded") }
            let signature = try CMSAlgorithmIdentifier(derEncoded: &nodes)
            guard let issuerNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "CRL without issuer") }
            let issuer = try DistinguishedName(derEncoded: issuerNode)
            guard let thisNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "CRL without thisUpdate") }
            let thisUpdate = try X509Time(derEncoded: thisNode).date
            var nextUpdate: Date?
            if let id = nodes.peekIdentifier(), id == .utcTime || id == .generalizedTime {
                nextUpdate = try X509Time(derEncoded: nodes.next()!).date
            }
            var revoked: [RevokedCertificate] = []
            if nodes.peekIdentifier() == .sequence {
                revoked = try DER.sequence(of: RevokedCertificate.self, identifier: .sequence, nodes: &nodes)
            }
            let extensions = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: node)
            } ?? []
            var tbs = TBSCertList(signature: signature, issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
                                  revokedCertificates: revoked, extensions: extensions)
            tbs.version = version
            return tbs
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            if let version { try coder.serialize(version) }
            try coder.serialize(signature)
            try coder.serialize(issuer)
            try coder.serialize(try X509Time(thisUpdate))
            if let nextUpdate { try coder.serialize(try X509Time(nextUpdate)) }
            if !revokedCertificates.isEmpty { try coder.serializeSequenceOf(revokedCertificates) }
            if !extensions.isEmpty {
                try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                    try coder.serializeSequenceOf(extensions)
                }
            }
        }
    }

    /// The cRLNumber extension's value, if present.
    public var crlNumber: Int64? {
        guard let ext = extensions.first(where: { $0.oid == CRLExtensions.crlNumberOID }) else { return nil }
        return try? Int64(derEncoded: ext.value)
    }
}
