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
    /// The job id or command operation id whose enrollment or renewal stored this certificate
    /// (unique: one certificate per operation); nil for certificates stored before v8. A job
    /// resumed after a crash finds what it issued by this column.
    public var issuedByJob: String?
    /// The job id or command operation id that marked this certificate revoked; nil before v8.
    public var revokedByJob: String?

    public init(serial: String, deviceId: String, csrId: Int64?, userId: String, der: Data, subject: String, issuer: String,
                profile: String, notBefore: Date, notAfter: Date, status: CertificateStatus, revokedAt: Date? = nil,
                revocationReason: String? = nil, supersededBy: String? = nil, renewalFailures: Int = 0,
                nextRenewalAttempt: Date? = nil, createdAt: Date, issuedByJob: String? = nil, revokedByJob: String? = nil) {
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
        self.issuedByJob = issuedByJob
        self.revokedByJob = revokedByJob
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

/// Who holds a device's lease: a spool job (until it is delivered or failed) or a command.
public enum DeviceLeaseKind: String, Codable, Sendable, DatabaseValueConvertible {
    case job, command
}

/// The one unfinished administrative operation of a device (table `deviceLease`, one row per
/// device: the primary key is the invariant). Taken before an administrative job or command
/// changes the device or its certificates; a job's lease ends when the job row reaches
/// `delivered` or `failed` (a trigger deletes it in that transaction), a command's when the
/// command releases it or, if it died, at `expiresAt`.
public struct DeviceLeaseRecord: Codable, Sendable, FetchableRecord, PersistableRecord, Hashable {
    public static let databaseTableName = "deviceLease"
    public var deviceId: String
    /// The job id (`kind` job) or the command's operation id (`kind` command).
    public var holder: String
    public var kind: DeviceLeaseKind
    public var acquiredAt: Date
    /// Commands only: when a lease the command did not release lapses. Jobs: nil.
    public var expiresAt: Date?
}
