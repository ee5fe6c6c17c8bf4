import CMSStructures
import Crypto
import _CryptoExtras
import X509
import Foundation

/// RSA signature schemes.
public enum RSAPadding: String, Sendable, Hashable, Codable {
    /// RSASSA-PKCS1-v1_5 (`sha*WithRSAEncryption`).
    case pkcs1v15
    /// RSASSA-PSS, MGF1 with the same hash, salt length = hash length.
    case pss
}

/// A private key held in memory: ECDSA P-256 / P-384 / P-521 or RSA 2048-4096 bits.
public enum SigningPrivateKey: @unchecked Sendable {
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    case p521(P521.Signing.PrivateKey)
    case rsa(_RSA.Signing.PrivateKey)

    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or PKCS#1
    /// (`RSA PRIVATE KEY`). Encrypted keys are refused with `key.encrypted`.
    public init(pem: String) throws {
        if pem.contains("ENCRYPTED") {
            throw CMSSigningError(.encryptedKey, "the private key file is password-protected; decrypt it first (e.g. `openssl pkey -in key.pem -out plain.pem`) and keep the plain key file mode 0600")
        }
        if pem.contains("BEGIN EC PRIVATE KEY") || pem.contains("BEGIN PRIVATE KEY") {
            if let k = try? P256.Signing.PrivateKey(pemRepresentation: pem) { self = .p256(k); return }
            if let k = try? P384.Signing.PrivateKey(pemRepresentation: pem) { self = .p384(k); return }
            if let k = try? P521.Signing.PrivateKey(pemRepresentation: pem) { self = .p521(k); return }
        }
        if pem.contains("BEGIN RSA PRIVATE KEY") || pem.contains("BEGIN PRIVATE KEY") {
            if let k = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) {
                guard k.keySizeInBits >= 2048, k.keySizeInBits <= 4096 else {
                    throw CMSSigningError(.unsupportedKey, "RSA keys of \(k.keySizeInBits) bits are not accepted; use 2048 to 4096 bits")
                }
                self = .rsa(k)
                return
            }
        }
        throw CMSSigningError(.unsupportedKey, "the key is not a PEM private key of a supported type (EC P-256/P-384/P-521 as PKCS#8 or SEC1, RSA 2048-4096 as PKCS#1 or PKCS#8)")
    }

    public var publicKey: Certificate.PublicKey {
        switch self {
        case .p256(let k): return Certificate.PublicKey(k.publicKey)
        case .p384(let k): return Certificate.PublicKey(k.publicKey)
        case .p521(let k): return Certificate.PublicKey(k.publicKey)
        case .rsa(let k): return Certificate.PublicKey(k.publicKey)
        }
    }
}

/// A ``CMSSigner`` over a ``SigningPrivateKey``.
public struct PrivateKeySigner: CMSSigner {
    public let key: SigningPrivateKey
    public let certificate: Certificate
    public let rsaPadding: RSAPadding

    public init(key: SigningPrivateKey, certificate: Certificate, rsaPadding: RSAPadding = .pkcs1v15) throws {
        guard key.publicKey == certificate.publicKey else {
            throw CMSSigningError(.keyCertificateMismatch, "the private key does not belong to the certificate (subject \(certificate.subject)); pass the matching --key and --cert")
        }
        try Self.checkKeyUsage(certificate)
        self.key = key
        self.certificate = certificate
        self.rsaPadding = rsaPadding
    }

    /// Validators reject signatures whose certificate's key usage allows neither
    /// digitalSignature nor nonRepudiation; refuse to produce them.
    static func checkKeyUsage(_ certificate: Certificate) throws {
        if let ku = try? certificate.extensions.keyUsage, !(ku.digitalSignature || ku.nonRepudiation) {
            throw CMSSigningError(.keyUsageNotForSigning, "the certificate (subject \(certificate.subject)) has a key usage without digitalSignature or nonRepudiation; validators reject such signatures: use a signing certificate")
        }
    }

    public func signatureAlgorithm(digest: DigestAlgorithm) throws -> CMSAlgorithmIdentifier {
        switch key {
        case .p256, .p384, .p521:
            switch digest {
            case .sha256: return .ecdsaWithSHA256
            case .sha384: return .ecdsaWithSHA384
            case .sha512: return .ecdsaWithSHA512
            }
        case .rsa:
            if rsaPadding == .pss { return try .rsassaPSS(hash: digest.identifier) }
            switch digest {
            case .sha256: return .sha256WithRSAEncryption
            case .sha384: return .sha384WithRSAEncryption
            case .sha512: return .sha512WithRSAEncryption
            }
        }
    }

    public var maximumSignatureSize: Int {
        switch key {
        case .p256: return 72
        case .p384: return 104
        case .p521: return 139
        case .rsa(let k): return k.keySizeInBits / 8
        }
    }

    public func sign(_ data: [UInt8], digest: DigestAlgorithm) async throws -> [UInt8] {
        do {
            switch (key, digest) {
            case (.p256(let k), .sha256): return Array(try k.signature(for: SHA256.hash(data: data)).derRepresentation)
            case (.p256(let k), .sha384): return Array(try k.signature(for: SHA384.hash(data: data)).derRepresentation)
            case (.p256(let k), .sha512): return Array(try k.signature(for: SHA512.hash(data: data)).derRepresentation)
            case (.p384(let k), .sha256): return Array(try k.signature(for: SHA256.hash(data: data)).derRepresentation)
            case (.p384(let k), .sha384): return Array(try k.signature(for: SHA384.hash(data: data)).derRepresentation)
            case (.p384(let k), .sha512): return Array(try k.signature(for: SHA512.hash(data: data)).derRepresentation)
            case (.p521(let k), .sha256): return Array(try k.signature(for: SHA256.hash(data: data)).derRepresentation)
            case (.p521(let k), .sha384): return Array(try k.signature(for: SHA384.hash(data: data)).derRepresentation)
            case (.p521(let k), .sha512): return Array(try k.signature(for: SHA512.hash(data: data)).derRepresentation)
            case (.rsa(let k), _):
                let padding: _RSA.Signing.Padding = rsaPadding == .pss ? .PSS : .insecurePKCS1v1_5
                switch digest {
                case .sha256: return Array(try k.signature(for: SHA256.hash(data: data), padding: padding).rawRepresentation)
                case .sha384: return Array(try k.signature(for: SHA384.hash(data: data), padding: padding).rawRepresentation)
                case .sha512: return Array(try k.signature(for: SHA512.hash(data: data), padding: padding).rawRepresentation)
                }
            }
        } catch let e as CMSSigningError {
            throw e
        } catch {
            throw CMSSigningError(.signerFailed, "the signing key failed: \(error)")
        }
    }
}
