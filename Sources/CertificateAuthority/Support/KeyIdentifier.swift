import Crypto
import X509

/// Key identifiers per RFC 5280 4.2.1.2 method (1): the SHA-1 of the BIT STRING
/// subjectPublicKey (without tag, length and unused-bits octet). Used for SKI/AKI and for the
/// OCSP ResponderID byKey and CertID issuerKeyHash (RFC 6960 4.1.1, 4.2.1).
enum KeyIdentifier {
    static func sha1(_ publicKey: Certificate.PublicKey) -> [UInt8] {
        Array(Insecure.SHA1.hash(data: Array(publicKey.subjectPublicKeyInfoBytes)))
    }
}
