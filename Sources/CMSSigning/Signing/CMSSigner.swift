import CMSStructures
import X509

/// Whoever holds the signing key: a key in memory, an HSM, a remote service or a phone. PAdES
/// only needs the certificate, the algorithm and a signature over the DER signed attributes.
///
/// `sign` receives the DER of the signed attributes (tag 0x31) — not their hash — and returns
/// the signature value as it goes into `SignerInfo.signature` (for ECDSA the DER
/// `SEQUENCE { r, s }`, for RSA the modulus-sized block).
public protocol CMSSigner: Sendable {
    var certificate: Certificate { get }
    /// `SignerInfo.signatureAlgorithm` for the given digest.
    func signatureAlgorithm(digest: DigestAlgorithm) throws -> CMSAlgorithmIdentifier
    /// Upper bound of the signature value's size in bytes, for sizing `/Contents`.
    var maximumSignatureSize: Int { get }
    func sign(_ signedAttributesDER: [UInt8], digest: DigestAlgorithm) async throws -> [UInt8]
}
