import Crypto
import X509
import _CryptoExtras

/// A public key algorithm and size, as named in profiles and CA configuration.
///
/// RSA sizes are exact: `RSA-2048` allows a 2048-bit modulus only. Curves are the NIST curves of
/// RFC 5480 (id-ecPublicKey with namedCurve).
public enum KeyType: String, Codable, Sendable, CaseIterable, Hashable {
    case p256 = "P-256"
    case p384 = "P-384"
    case p521 = "P-521"
    case rsa2048 = "RSA-2048"
    case rsa3072 = "RSA-3072"
    case rsa4096 = "RSA-4096"

    /// The type of a public key, or nil for keys signd does not issue for (e.g. Ed25519, other
    /// RSA sizes).
    public init?(publicKey: Certificate.PublicKey) {
        if P256.Signing.PublicKey(publicKey) != nil { self = .p256; return }
        if P384.Signing.PublicKey(publicKey) != nil { self = .p384; return }
        if P521.Signing.PublicKey(publicKey) != nil { self = .p521; return }
        if let rsa = _RSA.Signing.PublicKey(publicKey) {
            switch rsa.keySizeInBits {
            case 2048: self = .rsa2048
            case 3072: self = .rsa3072
            case 4096: self = .rsa4096
            default: return nil
            }
            return
        }
        return nil
    }

    /// A human-readable name for any public key, e.g. `RSA-2304`, `Ed25519`.
    static func describe(_ publicKey: Certificate.PublicKey) -> String {
        if let type = KeyType(publicKey: publicKey) { return type.rawValue }
        if let rsa = _RSA.Signing.PublicKey(publicKey) { return "RSA-\(rsa.keySizeInBits)" }
        return publicKey.description
    }

    var isRSA: Bool {
        switch self {
        case .rsa2048, .rsa3072, .rsa4096: return true
        default: return false
        }
    }
}
