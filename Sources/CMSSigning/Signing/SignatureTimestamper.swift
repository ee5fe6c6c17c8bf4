/// Adds an unsigned attribute (a signature timestamp) to a SignerInfo before it is embedded.
/// Given the signature value, returns the DER `ContentInfo` of a timestamp token.
public protocol SignatureTimestamper: Sendable {
    /// Bytes to reserve in `/Contents` for the token.
    var reservedTokenSize: Int { get }
    func timestampToken(forSignatureValue signature: [UInt8]) async throws -> [UInt8]
}
