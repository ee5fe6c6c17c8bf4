import DatabaseSupport
import Foundation
import GRDB

/// The state database: users, devices, CSRs, certificates, encrypted cloud-mode keys, renewal
/// attempts and used authorization nonces. SQLite in WAL mode through GRDB, with forward-only
/// named migrations and constraints in the schema. One record type per table; writes go through
/// intent-named methods.
public final class StateDatabase: Sendable {
    public let writer: any DatabaseWriter
    /// Every write goes through here: durable (`synchronous = FULL`) and shared with concurrent
    /// callers' writes in one commit (GroupCommit).
    public let commits: GroupCommit

    /// Opens (creating if needed) the database file, mode 0600, and migrates it.
    public init(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        // No memory-mapped I/O (tried: within the noise, ~5 %): with it, a read error or a
        // truncated file would be a SIGBUS that kills the daemon instead of an error.
        let pool = try DatabasePool(path: path, configuration: config)
        chmod(path, 0o600)
        writer = pool
        try GroupCommit.makeDurable(pool)
        commits = GroupCommit(pool)
        try Self.migrator.migrate(pool)
    }

    /// An in-memory database (tests).
    public init() throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        let queue = try DatabaseQueue(configuration: config)
        writer = queue
        commits = GroupCommit(queue)
        try Self.migrator.migrate(queue)
    }

    /// A write transaction, committed together with concurrent callers' (GroupCommit).
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try commits.write(body)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-devices-certificates") { db in
            try db.create(table: "user") { t in
                t.primaryKey("id", .text).check { length($0) > 0 }
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "device") { t in
                t.primaryKey("id", .text).check { length($0) > 0 }
                t.belongsTo("user", onDelete: .restrict).notNull()
                t.column("publicKeyDER", .blob)
                t.column("status", .text).notNull().check { ["ACTIVE", "BLOCKED", "REMOVED"].contains($0) }
                t.column("failedAttempts", .integer).notNull().defaults(to: 0).check { $0 >= 0 }
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "csr") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("device", onDelete: .restrict).notNull()
                t.column("der", .blob).notNull()
                t.column("origin", .text).notNull().check { ["external", "cloud"].contains($0) }
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "certificate") { t in
                t.primaryKey("serial", .text)
                t.belongsTo("device", onDelete: .restrict).notNull()
                t.belongsTo("csr", onDelete: .restrict)
                t.column("userId", .text).notNull()
                t.column("der", .blob).notNull()
                t.column("subject", .text).notNull()
                t.column("issuer", .text).notNull()
                t.column("profile", .text).notNull()
                t.column("notBefore", .datetime).notNull()
                t.column("notAfter", .datetime).notNull()
                t.column("status", .text).notNull().check { ["active", "superseded", "revoked", "expired"].contains($0) }
                t.column("revokedAt", .datetime)
                t.column("revocationReason", .text)
                t.column("supersededBy", .text)
                t.column("renewalFailures", .integer).notNull().defaults(to: 0)
                t.column("nextRenewalAttempt", .datetime)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(index: "certificate_on_status_notAfter", on: "certificate", columns: ["status", "notAfter"])
            try db.create(table: "cloudKey") { t in
                t.primaryKey("deviceId", .text).references("device", onDelete: .restrict)
                t.column("sealedKey", .text).notNull() // JSON EncryptedBlob
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "renewalAttempt") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("serial", .text).notNull().references("certificate", onDelete: .restrict)
                t.column("at", .datetime).notNull()
                t.column("outcome", .text).notNull().check { ["renewed", "failed"].contains($0) }
                t.column("newSerial", .text)
                t.column("message", .text)
            }
            try db.create(table: "usedNonce") { t in
                t.primaryKey("nonce", .text)
                t.column("deviceId", .text).notNull()
                t.column("expiresAt", .datetime).notNull()
            }
        }
        m.registerMigration("v2-jobs") { db in
            try db.create(table: "job") { t in
                t.primaryKey("jobId", .text)
                t.column("spool", .text).notNull()
                t.column("state", .text).notNull().check { ["claimed", "authorized", "signed", "delivered", "failed"].contains($0) }
                t.column("documentSha256", .text).notNull()
                t.column("userId", .text).notNull()
                t.column("deviceId", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("nextAttemptAt", .datetime)
                t.column("errorCode", .text)
                t.column("resultPath", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(index: "job_on_state", on: "job", columns: ["state"])
        }
        m.registerMigration("v3-nonce-job") { db in
            // The job that used a reference: a job resumed after a crash may use it again.
            try db.alter(table: "usedNonce") { t in t.add(column: "jobId", .text) }
        }
        m.registerMigration("v4-external-mode") { db in
            // SQLite cannot alter a CHECK constraint: rebuild the table with the new state.
            try db.create(table: "job_v4") { t in
                t.primaryKey("jobId", .text)
                t.column("spool", .text).notNull()
                t.column("state", .text).notNull().check { ["claimed", "authorized", "awaitingSignature", "signed", "delivered", "failed"].contains($0) }
                t.column("documentSha256", .text).notNull()
                t.column("userId", .text).notNull()
                t.column("deviceId", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("nextAttemptAt", .datetime)
                t.column("errorCode", .text)
                t.column("resultPath", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.column("signatureDeadline", .datetime)
            }
            try db.execute(sql: """
                INSERT INTO job_v4 (jobId, spool, state, documentSha256, userId, deviceId, attempts, nextAttemptAt, errorCode, resultPath, createdAt, updatedAt)
                SELECT jobId, spool, state, documentSha256, userId, deviceId, attempts, nextAttemptAt, errorCode, resultPath, createdAt, updatedAt FROM job
                """)
            try db.drop(table: "job")
            try db.rename(table: "job_v4", to: "job")
            try db.create(index: "job_on_state", on: "job", columns: ["state"])
        }
        m.registerMigration("v5-nonce-indexes") { db in
            // Every consumption first deletes expired nonces: without an index on expiresAt that
            // walked the whole table once per job (10,000 queued jobs: 10,000 rows each time).
            try db.create(index: "usedNonce_on_expiresAt", on: "usedNonce", columns: ["expiresAt"])
            try db.create(index: "usedNonce_on_jobId", on: "usedNonce", columns: ["jobId"])
        }
        m.registerMigration("v6-job-approved-terms-interruptions") { db in
            // What the authorization approved besides the document (level, appearance digest),
            // fixed at the claim: a job resumed after the spool's defaults changed is refused
            // rather than signed with terms nobody approved. And the poison-job guard: whether an
            // attempt is under way (set while a worker runs the job, cleared when the attempt
            // ends) and how many attempts a crash interrupted.
            try db.alter(table: "job") { t in
                t.add(column: "level", .text)
                t.add(column: "appearanceSha256", .text)
                t.add(column: "attemptInProgress", .boolean).notNull().defaults(to: false)
                t.add(column: "interruptions", .integer).notNull().defaults(to: 0)
            }
        }
        m.registerMigration("v7-job-engine") { db in
            // The job engine's state machine (JobEngine.SignJob): the action a job waits for is
            // persisted with its state, with a version for compare-and-set and an owner and lease
            // for the attempt under way. Rows of older versions keep pendingAction NULL: the
            // action is derived from their state when they are read.
            try db.alter(table: "job") { t in
                t.add(column: "mode", .text)
                t.add(column: "pendingAction", .text)
                t.add(column: "failMessage", .text)
                t.add(column: "failRetryable", .boolean).notNull().defaults(to: false)
                t.add(column: "version", .integer).notNull().defaults(to: 0)
                t.add(column: "owner", .text)
                t.add(column: "leaseUntil", .datetime)
            }
            // Jobs due for their next step (the retry scan), without walking finished jobs.
            try db.create(index: "job_on_spool_state", on: "job", columns: ["spool", "state"])
        }
        // Unique indexes and the device lease (StateDatabase+Invariants.swift).
        m.registerMigration("v8-invariants", migrate: migrateV8Invariants)
        return m
    }
}
