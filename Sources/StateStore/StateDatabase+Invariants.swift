import Foundation
import GRDB

// MARK: - Migration v8-invariants

extension StateDatabase {
    /// v8: invariants that used to live in one daemon's memory or were inferred from the audit
    /// log, now in the schema (docs/architecture.md, "Invariants in the state database"):
    ///
    /// - `certificate.issuedByJob` / `revokedByJob`: the job id (or command operation id) that
    ///   stored or revoked the certificate; a resumed job finds its own work by them. Nullable:
    ///   rows of older versions have none. At most one certificate per `issuedByJob`.
    /// - At most one `active` certificate per (device, profile): a partial unique index. Older
    ///   databases that break it are repaired first: per (device, profile) the newest active
    ///   certificate (createdAt, then notAfter, then serial) stays active, the others become
    ///   `superseded` by it.
    /// - `deviceLease`: at most one unfinished administrative job or command per device (primary
    ///   key); a trigger ends a job's lease in the transaction that makes the job `delivered` or
    ///   `failed`, and one when the job row is deleted. A migration that rebuilds the job table
    ///   must create both triggers again.
    static func migrateV8Invariants(_ db: Database) throws {
        try db.alter(table: "certificate") { t in
            t.add(column: "issuedByJob", .text)
            t.add(column: "revokedByJob", .text)
        }
        // The newest active certificate of each (device, profile) stays active. The kept row
        // is never changed by this statement, so the subquery finds the same row throughout.
        try db.execute(sql: """
            UPDATE certificate
               SET status = 'superseded',
                   supersededBy = COALESCE(supersededBy, (
                       SELECT k.serial FROM certificate k
                        WHERE k.deviceId = certificate.deviceId AND k.profile = certificate.profile AND k.status = 'active'
                        ORDER BY k.createdAt DESC, k.notAfter DESC, k.serial DESC LIMIT 1))
             WHERE status = 'active'
               AND serial != (SELECT k.serial FROM certificate k
                               WHERE k.deviceId = certificate.deviceId AND k.profile = certificate.profile AND k.status = 'active'
                               ORDER BY k.createdAt DESC, k.notAfter DESC, k.serial DESC LIMIT 1)
            """)
        try db.execute(sql: """
            CREATE UNIQUE INDEX certificate_one_active_per_device_profile ON certificate (deviceId, profile) WHERE status = 'active'
            """)
        try db.execute(sql: "CREATE UNIQUE INDEX certificate_on_issuedByJob ON certificate (issuedByJob) WHERE issuedByJob IS NOT NULL")
        try db.execute(sql: "CREATE INDEX certificate_on_revokedByJob ON certificate (revokedByJob) WHERE revokedByJob IS NOT NULL")
        try db.create(table: "deviceLease") { t in
            // No foreign key to device: a register job holds the lease of a device not yet registered.
            t.primaryKey("deviceId", .text).check { length($0) > 0 }
            t.column("holder", .text).notNull().check { length($0) > 0 }
            t.column("kind", .text).notNull().check { ["job", "command"].contains($0) }
            t.column("acquiredAt", .datetime).notNull()
            t.column("expiresAt", .datetime)
            t.check(sql: "(kind = 'job') = (expiresAt IS NULL)")
        }
        try db.execute(sql: "CREATE INDEX deviceLease_on_holder ON deviceLease (holder)")
        try db.execute(sql: """
            CREATE TRIGGER job_end_releases_device_lease AFTER UPDATE OF state ON job
             WHEN NEW.state IN ('delivered', 'failed')
            BEGIN
                DELETE FROM deviceLease WHERE kind = 'job' AND holder = NEW.jobId;
            END
            """)
        try db.execute(sql: """
            CREATE TRIGGER job_delete_releases_device_lease AFTER DELETE ON job
            BEGIN
                DELETE FROM deviceLease WHERE kind = 'job' AND holder = OLD.jobId;
            END
            """)
    }
}

// MARK: - Device leases

/// Who asks for a device's lease.
public enum DeviceLeaseHolder: Sendable, Hashable {
    /// A spool job (its row must exist and be unfinished); held until the job is delivered or failed.
    case job(String)
    /// A command (`signd enroll`, `signd ca revoke`, `signd device remove`): released by the
    /// command; lapses at `expiresAt` if the command died.
    case command(String, expiresAt: Date)

    public var id: String {
        switch self {
        case .job(let id), .command(let id, _): return id
        }
    }

    var kind: DeviceLeaseKind {
        if case .job = self { return .job }
        return .command
    }

    var expiresAt: Date? {
        if case .command(_, let at) = self { return at }
        return nil
    }
}

public enum DeviceLeaseOutcome: Sendable, Hashable {
    case acquired
    /// Another job or command holds the device: its job id or operation id.
    case busy(holder: String)
}

extension StateDatabase {
    /// Takes the device's lease for `holder` in one transaction: free, lapsed (a command's past
    /// `expiresAt`; a job's whose row is delivered, failed or gone) or already held by the same
    /// holder (a resumed job) → acquired; held by another → busy. A job's lease is granted only
    /// while the job's row is unfinished.
    public func acquireDeviceLease(_ deviceId: String, for holder: DeviceLeaseHolder, now: Date) throws -> DeviceLeaseOutcome {
        try write { db in
            if let lease = try DeviceLeaseRecord.fetchOne(db, key: deviceId) {
                if lease.holder == holder.id && lease.kind == holder.kind {
                    if let expiresAt = holder.expiresAt, expiresAt != lease.expiresAt {
                        try db.execute(sql: "UPDATE deviceLease SET expiresAt = ? WHERE deviceId = ?", arguments: [expiresAt, deviceId])
                    }
                    return .acquired
                }
                guard try Self.hasLapsed(lease, db, now: now) else { return .busy(holder: lease.holder) }
                try lease.delete(db)
            }
            if case .job(let jobId) = holder {
                let state = try String.fetchOne(db, sql: "SELECT state FROM job WHERE jobId = ?", arguments: [jobId])
                guard let state, state != "delivered", state != "failed" else {
                    throw StateStoreError(code: .internal, message: "job \(jobId) asked for the lease of device \(deviceId) but is \(state ?? "not in the job table")")
                }
            }
            try DeviceLeaseRecord(deviceId: deviceId, holder: holder.id, kind: holder.kind, acquiredAt: now, expiresAt: holder.expiresAt).insert(db)
            return .acquired
        }
    }

    /// The job or command holding the device now (nil: free, or its holder's lease lapsed).
    public func deviceLeaseHolder(_ deviceId: String, now: Date) throws -> String? {
        try writer.read { db in
            guard let lease = try DeviceLeaseRecord.fetchOne(db, key: deviceId), !(try Self.hasLapsed(lease, db, now: now)) else { return nil }
            return lease.holder
        }
    }

    /// Ends `holder`'s lease of the device (nothing when another holds it). Jobs need not call
    /// it: their lease ends with their final state.
    public func releaseDeviceLease(_ deviceId: String, holder: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM deviceLease WHERE deviceId = ? AND holder = ?", arguments: [deviceId, holder])
        }
    }

    /// Waits for the device's lease: polls (a read) every `pollInterval` seconds, `attempts`
    /// times at most, and takes it (a write) when it looks free. `.busy` when it stayed taken.
    /// `now` and `sleep` are injected.
    public func waitForDeviceLease(_ deviceId: String, for holder: DeviceLeaseHolder, attempts: Int, pollInterval: TimeInterval,
                                   now: () -> Date, sleep: (TimeInterval) async throws -> Void) async throws -> DeviceLeaseOutcome {
        var outcome = DeviceLeaseOutcome.busy(holder: "")
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { try await sleep(pollInterval) }
            let current = try deviceLeaseHolder(deviceId, now: now())
            if let current, current != holder.id {
                outcome = .busy(holder: current)
                continue
            }
            outcome = try acquireDeviceLease(deviceId, for: holder, now: now())
            if outcome == .acquired { return outcome }
        }
        return outcome
    }

    static func hasLapsed(_ lease: DeviceLeaseRecord, _ db: Database, now: Date) throws -> Bool {
        switch lease.kind {
        case .command:
            return (lease.expiresAt ?? .distantPast) <= now
        case .job:
            let state = try String.fetchOne(db, sql: "SELECT state FROM job WHERE jobId = ?", arguments: [lease.holder])
            return state == nil || state == "delivered" || state == "failed"
        }
    }
}
