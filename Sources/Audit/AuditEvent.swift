import Foundation
import GRDB

/// Event types written to the audit log (docs/audit.md).
public enum AuditEventType: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case configurationLoaded = "configuration.loaded"
    case jobReceived = "job.received"
    case jobDTBSIssued = "job.dtbsIssued"
    case jobAuthorized = "job.authorized"
    case jobDenied = "job.denied"
    case jobSigned = "job.signed"
    case jobTimestamped = "job.timestamped"
    case jobDelivered = "job.delivered"
    case jobFailed = "job.failed"
    /// An input refused without touching the job it names: a manifest repeating a job id
    /// (`job.duplicate`), a signature file for an unknown or finished job. Its `jobId` is the id
    /// the input named; that job's own trail is unaffected (docs/audit.md).
    case inputRejected = "input.rejected"
    case certificateEnrolled = "certificate.enrolled"
    case certificateRenewed = "certificate.renewed"
    case certificateRenewalFailed = "certificate.renewalFailed"
    case certificateRevoked = "certificate.revoked"
    case deviceRegistered = "device.registered"
    case deviceBlocked = "device.blocked"
    case deviceUnblocked = "device.unblocked"
    case deviceRemoved = "device.removed"
    case anchorTimestamped = "audit.anchored"
    /// Retention removed finished jobs' files from a spool directory (docs/audit.md).
    case retentionPurged = "retention.purged"
}

/// What a caller records; the log adds sequence, time and the hash chain.
public struct AuditEntry: Sendable, Hashable {
    public var type: AuditEventType
    public var jobId: String?
    public var userId: String?
    public var deviceId: String?
    public var documentSha256: String?
    public var certificateSerial: String?
    /// `success`, `failure` or `info`.
    public var outcome: String
    /// Free-form facts (codes, precise reasons, paths); never secrets or document contents.
    public var details: [String: String]

    public init(type: AuditEventType, jobId: String? = nil, userId: String? = nil, deviceId: String? = nil,
                documentSha256: String? = nil, certificateSerial: String? = nil, outcome: String = "success", details: [String: String] = [:]) {
        self.type = type
        self.jobId = jobId
        self.userId = userId
        self.deviceId = deviceId
        self.documentSha256 = documentSha256
        self.certificateSerial = certificateSerial
        self.outcome = outcome
        self.details = details
    }
}

/// One row of the `event` table.
public struct AuditEventRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "event"
    public var seq: Int64
    /// RFC 3339 UTC with milliseconds (text, so the hashed bytes are exactly what is stored).
    public var at: String
    public var type: String
    public var jobId: String?
    public var userId: String?
    public var deviceId: String?
    public var documentSha256: String?
    public var certificateSerial: String?
    public var outcome: String
    /// JSON object with sorted keys.
    public var details: String
    public var prevHash: String
    public var hash: String

    /// `details` as a dictionary (every value the pipeline writes is a string); empty when the
    /// text is not such an object.
    public var detailFields: [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(details.utf8))) ?? [:]
    }

    /// The bytes hashed for this row: every field, length-prefixed, in a fixed order, after the
    /// previous row's hash. Any edit, deletion, insertion or reordering changes some row's hash.
    public func computedHash() -> String {
        var bytes: [UInt8] = Array("signd-audit-v1".utf8)
        func field(_ s: String?) {
            guard let s else { bytes += [0xFF]; return }
            let u = Array(s.utf8)
            bytes += withUnsafeBytes(of: UInt32(u.count).bigEndian, Array.init)
            bytes += u
        }
        field(prevHash); field(String(seq)); field(at); field(type); field(jobId); field(userId); field(deviceId)
        field(documentSha256); field(certificateSerial); field(outcome); field(details)
        return AuditHash.sha256Hex(bytes)
    }
}
