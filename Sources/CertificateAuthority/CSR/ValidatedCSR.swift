import X509

/// A PKCS#10 request that passed ``CSRValidator``: self-signature verified, key allowed by the
/// profile (and equal to the expected key when one was given), subject rebuilt from the allowed
/// attributes.
public struct ValidatedCSR: Sendable {
    /// The parsed request as received.
    public let request: CertificateSigningRequest
    /// The request's DER bytes.
    public let der: [UInt8]
    public let keyType: KeyType
    /// The subject for the certificate: the CSR's allowed attributes in their order, each
    /// re-encoded as its type requires, one attribute per RDN.
    public let subject: DistinguishedName
    /// The same attributes as (short name, value) pairs.
    public let subjectAttributes: [(name: String, value: String)]

    public var publicKey: Certificate.PublicKey { request.publicKey }
}
