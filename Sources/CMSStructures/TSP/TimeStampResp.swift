import SwiftASN1

/// ``TimeStampResp`` is defined in RFC 3161 §2.4.2 as:
///
/// ```
/// TimeStampResp ::= SEQUENCE  {
///     status                  PKIStatusInfo,
///     timeStampToken          TimeStampToken     OPTIONAL  }
///
/// TimeStampToken ::= ContentInfo
///     -- contentType is id-signedData ([CMS])
///     -- content is SignedData ([CMS])
/// ```
///
/// Invariants (RFC 3161 §2.4.2): when the status is `granted` or `grantedWithMods` a
/// ``timeStampToken`` MUST be present, otherwise it MUST NOT be present. Both the initialiser
/// and the parser enforce this (`cms.malformed`). The token is kept as a ``ContentInfo`` whose
/// content is raw DER, so it can be embedded in a signature byte-identically.
public struct TimeStampResp: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public let status: PKIStatusInfo
    public let timeStampToken: ContentInfo?

    /// - Throws: `cms.malformed` if the presence of `timeStampToken` contradicts `status`.
    public init(status: PKIStatusInfo, timeStampToken: ContentInfo? = nil) throws {
        guard status.status.isGranted == (timeStampToken != nil) else {
            throw CMSStructuresError.malformed(
                status.status.isGranted
                    ? "a granted response must carry a timeStampToken"
                    : "a response with status \(status.status) must not carry a timeStampToken",
                type: "TimeStampResp",
                field: "timeStampToken"
            )
        }
        self.status = status
        self.timeStampToken = timeStampToken
    }

    /// Decodes the `TSTInfo` carried by ``timeStampToken``, or `nil` when there is no token.
    public func tstInfo() throws -> TSTInfo? {
        try self.timeStampToken.map { try TSTInfo(timeStampToken: $0) }
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let status = try PKIStatusInfo(derEncoded: &nodes)
            let token = try DER.optionalImplicitlyTagged(&nodes, tag: ContentInfo.defaultIdentifier) as ContentInfo?
            return try TimeStampResp(status: status, timeStampToken: token)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.status)
            if let token = self.timeStampToken {
                try coder.serialize(token)
            }
        }
    }
}
