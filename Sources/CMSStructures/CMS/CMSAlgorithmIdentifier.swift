import SwiftASN1

/// ``CMSAlgorithmIdentifier`` is the X.509 `AlgorithmIdentifier` (RFC 5280 §4.1.1.2) as used by
/// CMS for `DigestAlgorithmIdentifier` and `SignatureAlgorithmIdentifier` (RFC 5652 §10.1):
///
/// ```
/// AlgorithmIdentifier ::= SEQUENCE {
///     algorithm   OBJECT IDENTIFIER,
///     parameters  ANY DEFINED BY algorithm OPTIONAL }
/// ```
///
/// Invariants:
/// - ``parameters`` is kept exactly as received: "absent" (`nil`) and an explicit NULL are
///   distinct values and round-trip unchanged.
/// - The static helpers follow the prevailing conventions: SHA-2 digest identifiers and
///   ECDSA signature identifiers have parameters ABSENT (RFC 5754 §2, RFC 5758 §3.2);
///   PKCS #1 v1.5 RSA identifiers have parameters NULL (RFC 4055 §5).
public struct CMSAlgorithmIdentifier: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    /// The algorithm OID.
    public var algorithm: ASN1ObjectIdentifier
    /// The raw parameters element, or `nil` when absent.
    public var parameters: ASN1Any?

    public init(algorithm: ASN1ObjectIdentifier, parameters: ASN1Any? = nil) {
        self.algorithm = algorithm
        self.parameters = parameters
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let algorithm = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let parameters = nodes.next().map { ASN1Any(derEncoded: $0) }
            return CMSAlgorithmIdentifier(algorithm: algorithm, parameters: parameters)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.algorithm)
            if let parameters = self.parameters {
                try coder.serialize(parameters)
            }
        }
    }
}

// MARK: - Well-known identifiers

extension CMSAlgorithmIdentifier {
    /// SHA-1, parameters absent. Only for legacy structures (ESSCertID, old TSA tokens).
    public static let sha1 = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.sha1)
    /// SHA-256, parameters absent.
    public static let sha256 = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.sha256)
    /// SHA-384, parameters absent.
    public static let sha384 = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.sha384)
    /// SHA-512, parameters absent.
    public static let sha512 = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.sha512)

    /// ecdsa-with-SHA256, parameters absent.
    public static let ecdsaWithSHA256 = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.ecdsaWithSHA256)
    /// ecdsa-with-SHA384, parameters absent.
    public static let ecdsaWithSHA384 = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.ecdsaWithSHA384)
    /// ecdsa-with-SHA512, parameters absent.
    public static let ecdsaWithSHA512 = CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.ecdsaWithSHA512)

    /// rsaEncryption, parameters NULL.
    public static let rsaEncryption = CMSAlgorithmIdentifier(
        algorithm: CMSObjectIdentifiers.rsaEncryption,
        parameters: .cmsNull
    )
    /// sha256WithRSAEncryption, parameters NULL.
    public static let sha256WithRSAEncryption = CMSAlgorithmIdentifier(
        algorithm: CMSObjectIdentifiers.sha256WithRSAEncryption,
        parameters: .cmsNull
    )
    /// sha384WithRSAEncryption, parameters NULL.
    public static let sha384WithRSAEncryption = CMSAlgorithmIdentifier(
        algorithm: CMSObjectIdentifiers.sha384WithRSAEncryption,
        parameters: .cmsNull
    )
    /// sha512WithRSAEncryption, parameters NULL.
    public static let sha512WithRSAEncryption = CMSAlgorithmIdentifier(
        algorithm: CMSObjectIdentifiers.sha512WithRSAEncryption,
        parameters: .cmsNull
    )

    /// Builds an `id-RSASSA-PSS` identifier with explicit parameters (RFC 4055 §3.1):
    /// `hashAlgorithm [0]` = the given hash, `maskGenAlgorithm [1]` = MGF1 with the same hash,
    /// `saltLength [2]` = the hash output length, `trailerField` omitted (DEFAULT 1).
    ///
    /// Inside the PSS parameters the hash identifiers carry NULL parameters, as emitted by OpenSSL
    /// and BouncyCastle (RFC 4055 §2.1 requires verifiers to accept both NULL and absent).
    ///
    /// - Parameter hash: one of ``sha256``, ``sha384``, ``sha512`` (parameters are ignored).
    /// - Throws: ``CMSStructuresError`` with code `cms.unsupportedAlgorithm` for any other hash.
    public static func rsassaPSS(hash: CMSAlgorithmIdentifier) throws -> CMSAlgorithmIdentifier {
        guard let length = hash.digestLength, hash.algorithm != CMSObjectIdentifiers.sha1 else {
            throw CMSStructuresError(
                code: .unsupportedAlgorithm,
                message: "RSASSA-PSS builder supports SHA-256, SHA-384 and SHA-512 only",
                context: ["algorithm": hash.algorithm.description]
            )
        }
        let hashWithNull = CMSAlgorithmIdentifier(algorithm: hash.algorithm, parameters: .cmsNull)
        let parameters = try RSASSAPSSParameters(
            hashAlgorithm: hashWithNull,
            maskGenAlgorithm: .mgf1(hash: hashWithNull),
            saltLength: length,
            trailerField: 1
        )
        return CMSAlgorithmIdentifier(
            algorithm: CMSObjectIdentifiers.rsassaPSS,
            parameters: try ASN1Any(erasing: parameters)
        )
    }

    /// An `id-mgf1` identifier whose parameters are the given hash `AlgorithmIdentifier`.
    public static func mgf1(hash: CMSAlgorithmIdentifier) throws -> CMSAlgorithmIdentifier {
        CMSAlgorithmIdentifier(algorithm: CMSObjectIdentifiers.mgf1, parameters: try ASN1Any(erasing: hash))
    }
}

// MARK: - Inspection

extension CMSAlgorithmIdentifier {
    /// The output length in bytes if ``algorithm`` is SHA-1, SHA-256, SHA-384 or SHA-512.
    public var digestLength: Int? {
        switch self.algorithm {
        case CMSObjectIdentifiers.sha1: return 20
        case CMSObjectIdentifiers.sha256: return 32
        case CMSObjectIdentifiers.sha384: return 48
        case CMSObjectIdentifiers.sha512: return 64
        default: return nil
        }
    }

    /// Whether ``parameters`` is absent or an explicit NULL.
    public var parametersAreAbsentOrNull: Bool {
        guard let parameters = self.parameters else { return true }
        return parameters == .cmsNull
    }

    /// Whether `self` and `other` name the same algorithm, treating absent and NULL parameters as
    /// equivalent (RFC 4055 §2.1, RFC 5754 §2).
    public func isEquivalent(to other: CMSAlgorithmIdentifier) -> Bool {
        guard self.algorithm == other.algorithm else { return false }
        if self.parametersAreAbsentOrNull && other.parametersAreAbsentOrNull { return true }
        return self.parameters == other.parameters
    }

    /// Parses ``parameters`` as RSASSA-PSS-params.
    ///
    /// - Throws: `cms.unsupportedAlgorithm` if ``algorithm`` is not `id-RSASSA-PSS`;
    ///   `cms.malformed` if the parameters are absent or malformed.
    public func rsassaPSSParameters() throws -> RSASSAPSSParameters {
        guard self.algorithm == CMSObjectIdentifiers.rsassaPSS else {
            throw CMSStructuresError(
                code: .unsupportedAlgorithm,
                message: "algorithm is not id-RSASSA-PSS",
                context: ["algorithm": self.algorithm.description]
            )
        }
        guard let parameters = self.parameters else {
            throw CMSStructuresError.malformed("id-RSASSA-PSS requires parameters", type: "CMSAlgorithmIdentifier", field: "parameters")
        }
        return try RSASSAPSSParameters(derEncoded: parameters.cmsDERBytes)
    }
}
