import CMSStructures
import Crypto
import Foundation
import X509
import _CryptoExtras

/// A CA private key in memory with the signature algorithm the CA uses with it:
/// ECDSA with SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521, and
/// sha256WithRSAEncryption (PKCS #1 v1.5) for RSA (RFC 5758 3.2, RFC 4055 5).
struct CASigningKey: Sendable {
    let privateKey: Certificate.PrivateKey
    let keyType: KeyType
    /// The key's own DER (PKCS #8 for EC, PKCS #1 for RSA), which is what gets encrypted at rest.
    let derRepresentation: [UInt8]

    var publicKey: Certificate.PublicKey { privateKey.publicKey }

    var signatureAlgorithm: Certificate.SignatureAlgorithm {
        switch keyType {
        case .p256: return .ecdsaWithSHA256
        case .p384: return .ecdsaWithSHA384
        case .p521: return .ecdsaWithSHA512
        case .rsa2048, .rsa3072, .rsa4096: return .sha256WithRSAEncryption
        }
    }

    /// The AlgorithmIdentifier of ``signatureAlgorithm`` (ECDSA: parameters absent; RSA: NULL).
    var algorithmIdentifier: CMSAlgorithmIdentifier {
        switch keyType {
        case .p256: return .ecdsaWithSHA256
        case .p384: return .ecdsaWithSHA384
        case .p521: return .ecdsaWithSHA512
        case .rsa2048, .rsa3072, .rsa4096: return .sha256WithRSAEncryption
        }
    }

    /// The signature value over `bytes` (ECDSA: DER ECDSA-Sig-Value; RSA: the raw block).
    func sign(_ bytes: [UInt8]) throws -> [UInt8] {
        try privateKey.sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm).rawRepresentation
    }

    /// A fresh key.
    static func generate(_ type: KeyType) throws -> CASigningKey {
        switch type {
        case .p256:
            let k = P256.Signing.PrivateKey()
            return CASigningKey(privateKey: .init(k), keyType: type, derRepresentation: Array(k.derRepresentation))
        case .p384:
            let k = P384.Signing.PrivateKey()
            return CASigningKey(privateKey: .init(k), keyType: type, derRepresentation: Array(k.derRepresentation))
        case .p521:
            let k = P521.Signing.PrivateKey()
            return CASigningKey(privateKey: .init(k), keyType: type, derRepresentation: Array(k.derRepresentation))
        case .rsa2048, .rsa3072, .rsa4096:
            let size: _RSA.Signing.KeySize = type == .rsa2048 ? .bits2048 : type == .rsa3072 ? .bits3072 : .bits4096
            let k = try _RSA.Signing.PrivateKey(keySize: size)
            return CASigningKey(privateKey: .init(k), keyType: type, derRepresentation: Array(k.derRepresentation))
        }
    }

    /// Loads a key of `type` from its DER.
    static func load(der: [UInt8], type: KeyType) throws -> CASigningKey {
        switch type {
        case .p256: return CASigningKey(privateKey: .init(try P256.Signing.PrivateKey(derRepresentation: der)), keyType: type, derRepresentation: der)
        case .p384: return CASigningKey(privateKey: .init(try P384.Signing.PrivateKey(derRepresentation: der)), keyType: type, derRepresentation: der)
        case .p521: return CASigningKey(privateKey: .init(try P521.Signing.PrivateKey(derRepresentation: der)), keyType: type, derRepresentation: der)
        case .rsa2048, .rsa3072, .rsa4096:
            return CASigningKey(privateKey: .init(try _RSA.Signing.PrivateKey(derRepresentation: der)), keyType: type, derRepresentation: der)
        }
    }
}
