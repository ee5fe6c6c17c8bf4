import CMSSigning
import PAdES
import SigndCore

extension KeyFiles {
    /// The signing key in a PEM file (PKCS#8 or SEC1 EC, or RSA).
    public static func privateKey(path: String) throws -> SigningPrivateKey {
        try SigningPrivateKey(pem: read(path))
    }
}
