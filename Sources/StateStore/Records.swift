import Foundation
import GRDB

public enum DeviceStatus: String, Codable, Sendable, DatabaseValueConvertible {
    case active = "ACTIVE", blocked = "BLOCKED", removed = "REMOVED"
}

public enum CertificateStatus: String, Codable, Sendable, DatabaseValueConvertible {
    case active, superseded, revoked, expired
}

public struct UserRecord: Codable, Sendable, FetchableRecord, PersistableRecord, Hashable {
    public static let databaseTableName = "user"
    public var id: String
    public var createdAt: Date
}

public struct DeviceRecord: Codable, Sendable, FetchableRecord, PersistableRecord, Hashable {
    public static let databaseTableName = "device"
    public var id: String
    public var userId: String
    public var publicKeyDER: Data?
    public var status: DeviceStatus
    public var failedAttempts: Int
    public var createdAt: Date
    public var updatedAt: Date
}

public struct CSRRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord, Hashable {
    public static let databaseTableName = "csr"
    public var id: Int64?
    public var deviceId: String
    public var der: Data
    /// `external` (the device's CSR) or `cloud` (signd made the key and the CSR).
    public var origin: String
    public var createdAt: Date
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

public struct CertificateRecord: Codable, Sendable, FetchableRecord, PersistableRecord, Hashable {
    public static let databaseTableName = "certificate"
    /// Serial number, lowercase hex.
    public var serial: String
    public var deviceId: String
    public var csrId: Int64?
    public var userId: String
    public var der: Data
    public var subject: String
    public var issuer: String
    public var profile: String
    public var notBefore: Date
    public var notAfter: Date
    public var status: CertificateStatus
    public var revokedAt: Date?
    public var revocationReason: String?
    public var supersededBy: String?
    public var renewalFailures: Int
    public var nextRenewalAttempt: Date?
    public var createdAt: Date

    public init(serial: String, deviceId: String, csrId: Int64?, userId: String, der: Data, subject: String, issuer: String,
                profile: String, notBefore: Date, notAfter: Date, status: CertificateStatus, revokedAt: Date? = nil,
                revocationReason: String? = nil, supersededBy: String? = nil, renewalFailures: Int = 0,
                nextRenewalAttempt: Date? = nil, createdAt: Date) {
        self.serial = serial.lowercased()
        self.deviceId = deviceId
        self.csrId = csrId
        self.userId = userId
        self.der = der
        self.subject = subject
        self.issuer = issuer
        self.profile = profile
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.status = status
        self.revokedAt = revokedAt
        self.revocationReason = revocationReason
        self.supersededBy = supersededBy
        self.renewalFailures = renewalFailures
        self.nextRenewalAttempt = nextRenewalAttempt
        self.createdAt = createdAt
    }
}

public struct CloudKeyRecord: Codable, Sendable, FetchableRecord, PersistableRecord, Hashable {
    public static let databaseTableName = "cloudKey"
    public var deviceId: String
    /// JSON of an `EncryptedBlob` (AES-256-GCM under the KEK); never the plain key.
    public var sealedKey: String
    public var createdAt: Date
}

public struct RenewalAttemptRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord, Hashable {
    public static let databaseTableName = "renewalAttempt"
    public var id: Int64?
    public var serial: String
    public var at: Date
    public var outcome: String
    public var newSerial: String?
    public var message: String?
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
