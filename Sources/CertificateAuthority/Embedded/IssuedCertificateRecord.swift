import Foundation
import GRDB
import PKIStructures

/// One certificate the embedded CA issued, as kept in its registry (`<data>/ca/ca.sqlite`,
/// table `issuedCertificate`). Revocation state lives here; CRLs and OCSP answers are made
/// from it.
public struct IssuedCertificateRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "issuedCertificate"
    /// Serial number, canonical lowercase hex (no leading zero octets).
    public var serial: String
    public var der: Data
    /// The subject DN as text (RFC 4514 order as swift-certificates prints it).
    public var subject: String
    public var profile: String
    public var userId: String
    public var deviceId: String
    public var notBefore: Date
    public var notAfter: Date
    public var issuedAt: Date
    public var revokedAt: Date?
    public var revocationReason: RevocationReason?

    public var revocationStatus: RevocationStatus {
        guard let revokedAt else { return .good }
        return .revoked(at: revokedAt, reason: revocationReason ?? .unspecified)
    }
}

extension RevocationReason: DatabaseValueConvertible {}
