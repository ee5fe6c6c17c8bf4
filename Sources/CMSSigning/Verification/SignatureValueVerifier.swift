import CMSStructures
import Crypto
import _CryptoExtras
import X509

/// Checks a CMS signature value with a certificate's public key, for the algorithms PAdES allows.
public enum SignatureValueVerifier {
    /// The digest algorithm implied by a signature algorithm identifier (nil: use SignerInfo's).
    static func digest(for algorithm: CMSAlgorithmIdentifier) throws -> DigestAlgorithm? {
        switch algorithm.algorithm {
        case CMSObjectIdentifiers.ecdsaWithSHA256, CMSObjectIdentifiers.sha256WithRSAEncryption: return .sha256
        case CMSObjectIdentifiers.ecdsaWithSHA384, CMSObjectIdentifiers.sha384WithRSAEncryption: return .sha384
        case CMSObjectIdentifiers.ecdsaWithSHA512, CMSObjectIdentifiers.sha512WithRSAEncryption: return .sha512
        case CMSObjectIdentifiers.rsassaPSS:
            return DigestAlgorithm(identifier: try algorithm.rsassaPSSParameters().hashAlgorithm)
        default: return nil
        }
    }

    /// Whether `signature` is a valid signature over `data`.
    /// - Parameter fallbackDigest: SignerInfo's digest algorithm, used when the signature algorithm
    ///   does not name one (`rsaEncryption`).
    public static func isValid(signature: [UInt8], over data: [UInt8], algorithm: CMSAlgorithmIdentifier,
                               fallbackDigest: DigestAlgorithm, publicKey: Certificate.PublicKey) throws -> Bool {
        let oid = algorithm.algorithm
        let isECDSA = [CMSObjectIdentifiers.ecdsaWithSHA256, CMSObjectIdentifiers.ecdsaWithSHA384, CMSObjectIdentifiers.ecdsaWithSHA512].contains(oid)
        let isPSS = oid == CMSObjectIdentifiers.rsassaPSS
        let isPKCS1 = [CMSObjectIdentifiers.sha256WithRSAEncryption, CMSObjectIdentifiers.sha384WithRSAEncryption,
                       CMSObjectIdentifiers.sha512WithRSAEncryption, CMSObjectIdentifiers.rsaEncryption].contains(oid)
        guard isECDSA || isPSS || isPKCS1 else {
            throw CMSSigningError(.unsupportedAlgorithm, "signature algorithm \(oid) is not supported")
        }
        let digest = try Self.digest(for: algorithm) ?? fallbackDigest
        if isECDSA {
            if let k = P256.Signing.PublicKey(publicKey) {
                guard let s = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return verifyEC(digest, data) { k.isValidSignature(s, for: $0) } _: { k.isValidSignature(s, for: $0) } _: { k.isValidSignature(s, for: $0) }
            }
            if let k = P384.Signing.PublicKey(publicKey) {
                guard let s = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return verifyEC(digest, data) { k.isValidSignature(s, for: $0) } _: { k.isValidSignature(s, for: $0) } _: { k.isValidSignature(s, for: $0) }
            }
            if let k = P521.Signing.PublicKey(publicKey) {
                guard let s = try? P521.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return verifyEC(digest, data) { k.isValidSignature(s, for: $0) } _: { k.isValidSignature(s, for: $0) } _: { k.isValidSignature(s, for: $0) }
            }
            return false
        }
        guard let k = _RSA.Signing.PublicKey(publicKey) else { return false }
        let s = _RSA.Signing.RSASignature(rawRepresentation: signature)
        let padding: _RSA.Signing.Padding = isPSS ? .PSS : .insecurePKCS1v1_5
        switch digest {
        case .sha256: return k.isValidSignature(s, for: SHA256.hash(data: data), padding: padding)
        case .sha384: return k.isValidSignature(s, for: SHA384.hash(data: data), padding: padding)
        case .sha512: return k.isValidSignature(s, for: SHA512.hash(data: data), padding: padding)
        }
    }

    private static func verifyEC(_ digest: DigestAlgorithm, _ data: [UInt8],
                                 _ v256: (SHA256.Digest) -> Bool, _ v384: (SHA384.Digest) -> Bool, _ v512: (SHA512.Digest) -> Bool) -> Bool {
        switch digest {
        case .sha256: return v256(SHA256.hash(data: data))
        case .sha384: return v384(SHA384.hash(data: data))
        case .sha512: return v512(SHA512.hash(data: data))
        }
    }
}
