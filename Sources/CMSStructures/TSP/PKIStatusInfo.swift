import SwiftASN1

/// ``PKIStatusInfo`` is defined in RFC 3161 §2.4.2 (from RFC 2510) as:
///
/// ```
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL  }
///
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
///
/// Invariants: ``statusString`` is `nil` when absent and never an empty array (an empty
/// PKIFreeText is rejected with `cms.malformed`, and an empty array is treated as absent when
/// serializing).
public struct PKIStatusInfo: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var status: PKIStatus
    public var statusString: [String]?
    public var failInfo: PKIFailureInfo?

    public init(status: PKIStatus, statusString: [String]? = nil, failInfo: PKIFailureInfo? = nil) {
        self.status = status
        self.statusString = statusString?.isEmpty == true ? nil : statusString
        self.failInfo = failInfo
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "PKIStatusInfo"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let status = try PKIStatus(derEncoded: CMSDER.next(&nodes, type: typeName, field: "status"))
            let statusString = try CMSDER.nextIfPresent(&nodes, identifier: .sequence).map { node in
                try CMSDER.sequenceOf(ASN1UTF8String.self, node: node, type: typeName, field: "statusString", allowEmpty: false)
                    .map { String(decoding: $0.bytes, as: UTF8.self) }
            }
            let failInfo = try DER.optionalImplicitlyTagged(&nodes, tag: .bitString) as PKIFailureInfo?
            return PKIStatusInfo(status: status, statusString: statusString, failInfo: failInfo)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.status)
            if let statusString = self.statusString, !statusString.isEmpty {
                try coder.serializeSequenceOf(statusString.map { ASN1UTF8String($0) })
            }
            if let failInfo = self.failInfo {
                try coder.serialize(failInfo)
            }
        }
    }
}
