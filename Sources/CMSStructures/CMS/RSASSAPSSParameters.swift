import SwiftASN1

/// ``RSASSAPSSParameters`` is defined in RFC 4055 §3.1 (module uses EXPLICIT tagging here) as:
///
/// ```
/// RSASSA-PSS-params  ::=  SEQUENCE  {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] INTEGER DEFAULT 1  }
///
/// sha1Identifier      AlgorithmIdentifier ::= { id-sha1, NULL }
/// mgf1SHA1Identifier  AlgorithmIdentifier ::= { id-mgf1, sha1Identifier }
/// ```
///
/// Invariants:
/// - Fields equal to their DEFAULT value are omitted on serialization, and rejected with
///   `cms.notDER` when found explicitly encoded at their default value while parsing.
/// - ``trailerField`` is always 1 (RFC 4055: "The value MUST be 1"); other values are rejected
///   with `cms.valueOutOfRange`. ``saltLength`` is non-negative.
public struct RSASSAPSSParameters: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    /// `sha1Identifier`: `{ id-sha1, NULL }`.
    public static let defaultHashAlgorithm = CMSAlgorithmIdentifier(
        algorithm: CMSObjectIdentifiers.sha1,
        parameters: .cmsNull
    )
    /// `mgf1SHA1Identifier`: `{ id-mgf1, sha1Identifier }`.
    public static let defaultMaskGenAlgorithm: CMSAlgorithmIdentifier = {
        // Serializing a well-formed AlgorithmIdentifier cannot fail.
        try! CMSAlgorithmIdentifier.mgf1(hash: defaultHashAlgorithm)
    }()
    public static let defaultSaltLength = 20
    public static let defaultTrailerField = 1

    public var hashAlgorithm: CMSAlgorithmIdentifier
    public var maskGenAlgorithm: CMSAlgorithmIdentifier
    public var saltLength: Int
    public private(set) var trailerField: Int

    /// - Throws: `cms.valueOutOfRange` if `saltLength` is negative or `trailerField` is not 1.
    public init(
        hashAlgorithm: CMSAlgorithmIdentifier = RSASSAPSSParameters.defaultHashAlgorithm,
        maskGenAlgorithm: CMSAlgorithmIdentifier = RSASSAPSSParameters.defaultMaskGenAlgorithm,
        saltLength: Int = RSASSAPSSParameters.defaultSaltLength,
        trailerField: Int = RSASSAPSSParameters.defaultTrailerField
    ) throws {
        guard saltLength >= 0 else {
            throw CMSStructuresError.valueOutOfRange("saltLength must be non-negative", type: "RSASSAPSSParameters", field: "saltLength")
        }
        guard trailerField == 1 else {
            throw CMSStructuresError.valueOutOfRange("trailerField must be 1", type: "RSASSAPSSParameters", field: "trailerField")
        }
        self.hashAlgorithm = hashAlgorithm
        self.maskGenAlgorithm = maskGenAlgorithm
        self.saltLength = saltLength
        self.trailerField = trailerField
    }

    /// The hash used by MGF1, if ``maskGenAlgorithm`` is `id-mgf1` with well-formed parameters.
    public var maskGenHashAlgorithm: CMSAlgorithmIdentifier? {
        guard self.maskGenAlgorithm.algorithm == CMSObjectIdentifiers.mgf1,
            let parameters = self.maskGenAlgorithm.parameters
        else {
            return nil
        }
        return try? CMSAlgorithmIdentifier(derEncoded: parameters.cmsDERBytes)
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "RSASSAPSSParameters"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            func explicitField<T>(_ tag: UInt, _ field: String, _ build: (ASN1Node) throws -> T) throws -> T? {
                guard let node = CMSDER.nextIfPresent(&nodes, identifier: ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific)) else {
                    return nil
                }
                return try build(try CMSDER.explicitChild(of: node, type: typeName, field: field))
            }

            let hash = try explicitField(0, "hashAlgorithm") { try CMSAlgorithmIdentifier(derEncoded: $0) }
            let maskGen = try explicitField(1, "maskGenAlgorithm") { try CMSAlgorithmIdentifier(derEncoded: $0) }
            let salt = try explicitField(2, "saltLength") { try CMSDER.integer($0, type: typeName, field: "saltLength") }
            let trailer = try explicitField(3, "trailerField") { try CMSDER.integer($0, type: typeName, field: "trailerField") }

            if hash == Self.defaultHashAlgorithm {
                throw CMSStructuresError.notDER("hashAlgorithm encoded at its DEFAULT value", type: typeName, field: "hashAlgorithm")
            }
            if maskGen == Self.defaultMaskGenAlgorithm {
                throw CMSStructuresError.notDER("maskGenAlgorithm encoded at its DEFAULT value", type: typeName, field: "maskGenAlgorithm")
            }
            if salt == Self.defaultSaltLength {
                throw CMSStructuresError.notDER("saltLength encoded at its DEFAULT value", type: typeName, field: "saltLength")
            }
            if trailer == Self.defaultTrailerField {
                throw CMSStructuresError.notDER("trailerField encoded at its DEFAULT value", type: typeName, field: "trailerField")
            }

            return try RSASSAPSSParameters(
                hashAlgorithm: hash ?? Self.defaultHashAlgorithm,
                maskGenAlgorithm: maskGen ?? Self.defaultMaskGenAlgorithm,
                saltLength: salt ?? Self.defaultSaltLength,
                trailerField: trailer ?? Self.defaultTrailerField
            )
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            if self.hashAlgorithm != Self.defaultHashAlgorithm {
                try coder.serialize(self.hashAlgorithm, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
            }
            if self.maskGenAlgorithm != Self.defaultMaskGenAlgorithm {
                try coder.serialize(self.maskGenAlgorithm, explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific)
            }
            if self.saltLength != Self.defaultSaltLength {
                try coder.serialize(self.saltLength, explicitlyTaggedWithTagNumber: 2, tagClass: .contextSpecific)
            }
            if self.trailerField != Self.defaultTrailerField {
                try coder.serialize(self.trailerField, explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific)
            }
        }
    }
}
