import CMSStructures
import SwiftASN1
import X509

/// The id-pkix-ocsp-basic response (RFC 6960 4.2.1):
///
/// ```
/// BasicOCSPResponse ::= SEQUENCE {
///     tbsResponseData      ResponseData,
///     signatureAlgorithm   AlgorithmIdentifier,
///     signature            BIT STRING,
///     certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ```
///
/// `tbsResponseDataBytes` keeps the exact signed bytes (parsed responses) for signature checks.
public struct BasicOCSPResponse: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var tbsResponseData: OCSPResponseData
    public let tbsResponseDataBytes: ArraySlice<UInt8>
    public var signatureAlgorithm: CMSAlgorithmIdentifier
    public var signature: ASN1BitString
    public var certs: [Certificate]

    package init(tbsResponseData: OCSPResponseData, tbsResponseDataBytes: [UInt8], signatureAlgorithm: CMSAlgorithmIdentifier,
         signature: [UInt8], certs: [Certificate]) {
        self.tbsResponseData = tbsResponseData
        self.tbsResponseDataBytes = tbsResponseDataBytes[...]
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = ASN1BitString(bytes: signature[...])
        self.certs = certs
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            guard let dataNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "BasicOCSPResponse without tbsResponseData") }
            let data = try OCSPResponseData(derEncoded: dataNode)
            let algorithm = try CMSAlgorithmIdentifier(derEncoded: &nodes)
            let signature = try ASN1BitString(derEncoded: &nodes)
            let certs = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                try DER.sequence(of: Certificate.self, identifier: .sequence, rootNode: node)
            } ?? []
            var response = BasicOCSPResponse(tbsResponseData: data, tbsResponseDataBytes: Array(dataNode.encodedBytes),
                                             signatureAlgorithm: algorithm, signature: Array(signature.bytes), certs: certs)
            response.signature = signature
            return response
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            coder.serializeRawBytes(tbsResponseDataBytes)
            try coder.serialize(signatureAlgorithm)
            try coder.serialize(signature)
            if !certs.isEmpty {
                try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                    try coder.serializeSequenceOf(certs)
                }
            }
        }
    }
}
