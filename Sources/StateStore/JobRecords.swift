import Foundation
import GRDB

/// Persisted state of a spool job. A job id is claimed once (primary key), so a job is
/// processed exactly once across crashes and restarts; each step records its state before the
/// next begins.
public enum JobState: String, Codable, Sendable, DatabaseValueConvertible {
    /// Inputs moved to work/<job>/; authorization not yet consumed.
    case claimed
    /// SCA authorization verified and consumed; must not be re-run.
    case authorized
    /// External mode: the data to be signed is in pending/; waiting for the device's signature.
    case awaitingSignature
    /// Signed output written (and verified) in work/<job>/; not yet delivered.
    case signed
    case delivered
    case failed
}

public struct JobRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job"
    public var jobId: String
    public var spool: String
    public var state: JobState
    public var documentSha256: String
    public var userId: String
    public var deviceId: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var errorCode: String?
    public var resultPath: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// External mode: the device's signature must arrive before this time.
    public var signatureDeadline: Date?
    /// The level and appearance digest the job was claimed (and so authorized) with; nil for
    /// jobs of older versions.
    public var level: String?
    public var appearanceSha256: String?
    /// True while a worker runs an attempt of the job: found true at start, the attempt was
    /// interrupted by a crash.
    public var attemptInProgress: Bool = false
    /// Attempts a crash interrupted (the poison-job guard fails the job at the configured limit).
    public var interruptions: Int = 0

    public init(jobId: String, spool: String, state: JobState, documentSha256: String, userId: String, deviceId: String, now: Date) {
        self.jobId = jobId
        self.spool = spool
        self.state = state
        self.documentSha256 = documentSha256
        self.userId = userId
        self.deviceId = deviceId
        self.attempts = 0
        self.createdAt = now
        self.updatedAt = now
    }
}

extension StateDatabase {
    /// Claims a job id. Returns nil when the id is already known (a duplicate), with the
    /// existing record.
    public func claimJob(_ record: JobRecord) throws -> (claimed: Bool, existing: JobRecord?) {
        try write { db in
            if let existing = try JobRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM job WHERE jobId = ?"), arguments: [record.jobId]) {
                return (false, existing)
            }
            try record.insert(db)
            return (true, nil)
        }
    }

    public func job(_ id: String) throws -> JobRecord? {
        // Cached statement: read several times per job.
        try writer.read { try JobRecord.fetchOne($0.cachedStatement(sql: "SELECT * FROM job WHERE jobId = ?"), arguments: [id]) }
    }

    public func setJobState(_ id: String, _ state: JobState, now: Date, errorCode: String? = nil, resultPath: String? = nil) throws {
        // One cached statement (several state changes per job); a missing job changes nothing.
        // A state change ends any scheduled retry (the retry is what made the progress); a
        // final state ends the attempt.
        let final = state == .delivered || state == .failed
        try write { db in
            try db.cachedStatement(sql: """
                UPDATE job SET state = ?, updatedAt = ?, errorCode = COALESCE(?, errorCode), resultPath = COALESCE(?, resultPath),
                               nextAttemptAt = NULL, attemptInProgress = CASE WHEN ? THEN 0 ELSE attemptInProgress END
                WHERE jobId = ?
                """).execute(arguments: [state.rawValue, now, errorCode, resultPath, final, id])
        }
    }

    /// Marks an attempt of the job as under way (a job claimed just now is inserted so).
    public func beginJobAttempt(_ id: String) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE job SET attemptInProgress = 1 WHERE jobId = ? AND attemptInProgress = 0")
                .execute(arguments: [id])
        }
    }

    /// Marks the attempt as ended without a final state (waiting for a retry, a signature, a PDF).
    public func endJobAttempt(_ id: String) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE job SET attemptInProgress = 0 WHERE jobId = ? AND attemptInProgress = 1")
                .execute(arguments: [id])
        }
    }

    /// At start: an attempt found under way was interrupted by a crash. Counts it, ends it, and
    /// returns the job's interruptions so far (nil when no attempt was under way).
    public func countInterruptedAttempt(_ id: String) throws -> Int? {
        try write { db in
            guard var job = try JobRecord.fetchOne(db, key: id), job.attemptInProgress,
                  job.state != .delivered, job.state != .failed else { return nil }
            job.attemptInProgress = false
            job.interruptions += 1
            try job.update(db)
            return job.interruptions
        }
    }

    /// Notes the code a job is failing with before its files move, so that a failure cut short
    /// by a crash keeps its code.
    public func noteJobError(_ id: String, code: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE job SET errorCode = ? WHERE jobId = ?", arguments: [code, id])
        }
    }

    public func awaitSignature(_ id: String, deadline: Date, now: Date) throws {
        try write { db in
            guard var job = try JobRecord.fetchOne(db, key: id) else { return }
            job.state = .awaitingSignature
            job.signatureDeadline = deadline
            job.updatedAt = now
            job.attemptInProgress = false
            try job.update(db)
        }
    }

    public func scheduleJobRetry(_ id: String, at date: Date, now: Date, errorCode: String) throws {
        try write { db in
            guard var job = try JobRecord.fetchOne(db, key: id) else { return }
            job.attempts += 1
            job.nextAttemptAt = date
            job.errorCode = errorCode
            job.updatedAt = now
            job.attemptInProgress = false
            try job.update(db)
        }
    }

    /// Jobs not yet delivered or failed (resumed after a restart).
    public func unfinishedJobs(spool: String) throws -> [JobRecord] {
        try writer.read { db in
            try JobRecord.filter(Column("spool") == spool && ["claimed", "authorized", "awaitingSignature", "signed"].contains(Column("state")))
                .order(Column("createdAt")).fetchAll(db)
        }
    }

    public func jobCounts() throws -> [String: Int] {
        try writer.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM job GROUP BY state") {
                out[row["state"]] = row["n"]
            }
            return out
        }
    }
}
