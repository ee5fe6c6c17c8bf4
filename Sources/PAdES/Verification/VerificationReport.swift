import CMSSigning
import Foundation

/// The result of verifying one signature. Serialised as the stable `signd verify --json` format
/// (docs/verify-json.md); fields are only ever added, never renamed.
public struct SignatureReport: Codable, Sendable {
    public var field: String
    /// `Sig` or `DocTimeStamp`.
    public var type: String
    public var subFilter: String?
    /// Signer certificate subject (RFC 4514 string) and serial (hex).
    public var signer: String?
    public var signerSerial: String?
    public var issuer: String?
    /// `/M` as ISO 8601 (UTC), and as written.
    public var signingTime: String?
    public var signingTimeRaw: String?
    public var reason: String?
    public var location: String?
    public var digestAlgorithm: String?
    public var signatureAlgorithm: String?
    /// Revision (1 = original file) whose end the byte range reaches.
    public var revision: Int?
    /// `/ByteRange` is `[0 a b c]`, the gap is exactly the `/Contents` string and it ends at the
    /// revision's `%%EOF`.
    public var coversWholeRevision: Bool
    public var laterRevisions: Bool
    /// `none`, `signatures-only` or `content`.
    public var laterChanges: String
    public var messageDigestValid: Bool
    public var signatureValid: Bool
    public var signingCertificateV2Valid: Bool
    /// Key usage allows signing (digitalSignature or nonRepudiation).
    public var keyUsageValid: Bool
    /// Chain to the given trust roots; nil when no roots were given.
    public var trusted: Bool?
    public var trustProblem: String?
    /// `B-B`, `B-T`, or `none` when the signature is not a PAdES baseline signature.
    public var level: String
    public var timestamp: TimestampReport?
    /// Stable codes of everything found wrong.
    public var problems: [String]
    /// Cryptographically intact and covering its revision, with no content change after it.
    public var intact: Bool
}

public struct VerificationReport: Codable, Sendable {
    public var file: String
    public var revisions: Int
    public var signatures: [SignatureReport]
    /// Every signature intact (and at least one signature present).
    public var allIntact: Bool
    /// Every signature trusted, when trust roots were given.
    public var allTrusted: Bool?
    public var warnings: [String]
}
