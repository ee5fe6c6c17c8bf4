import CMSStructures
import X509

/// A ``CMSSigner`` for keys held elsewhere (a phone, a remote HSM): it knows the certificate and
/// algorithm, and the signature value arrives later through the two-phase API. Calling `sign`
/// is a programming error reported as `signature.signerFailed`.
public struct ExternalSigner: CMSSigner {
    public let certificate: Certificate
    public let algorithm: CMSAlgorithmIdentifier
    public let maximumSignatureSize: Int

    public init(certificate: Certificate, algorithm: CMSAlgorithmIdentifier, maximumSignatureSize: Int) {
        self.certificate = certificate
        self.algorithm = algorithm
        self.maximumSignatureSize = maximumSignatureSize
    }

    /// ECDSA P-256 with SHA-256, the algorithm of device keys.
    public static func p256(certificate: Certificate) -> ExternalSigner {
        ExternalSigner(certificate: certificate, algorithm: .ecdsaWithSHA256, maximumSignatureSize: 72)
    }

    public func signatureAlgorithm(digest: DigestAlgorithm) throws -> CMSAlgorithmIdentifier { algorithm }

    public func sign(_ signedAttributesDER: [UInt8], digest: DigestAlgorithm) async throws -> [UInt8] {
        throw CMSSigningError(.signerFailed, "this signer's key is held externally; use the two-phase prepare/complete API")
    }
}
