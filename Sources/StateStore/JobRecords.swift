import Foundation
import GRDB
import JobEngine

extension JobState: DatabaseValueConvertible {}

/// Persisted state of a spool job. A job id is claimed once (primary key), so a job is
/// processed exactly once across crashes and restarts. The state and the action the job waits
/// for (`pendingAction`) are written together, with compare-and-set on `version`
/// (`transitionJob`); recovery re-runs the pending action.
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
    /// Sign jobs: `cloud` or `external` (nil for administrative jobs and rows of older versions).
    public var mode: String?
    /// The action the job waits for (`JobAction.name`); nil for rows of older versions (derived
    /// from the state).
    public var pendingAction: String?
    /// A `fail` action's message and retryability (its code is `errorCode`).
    public var failMessage: String?
    public var failRetryable: Bool = false
    /// Bumped by every transition: the compare-and-set of `transitionJob`.
    public var version: Int = 0
    /// The instance running an attempt, and until when its lease holds (issue 15 adds instances
    /// that take over expired leases; one instance renews nothing and finds its own leases).
    public var owner: String?
    public var leaseUntil: Date?

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

    /// The pending `fail` action's failure, if one is recorded.
    public var recordedFailure: JobFailure? {
        guard pendingAction == "fail" || state == .failed, let code = errorCode else { return nil }
        return JobFailure(code: code, message: failMessage ?? "", retryable: failRetryable)
    }

    /// The sign job's state machine as this row holds it. `mode` of rows of older versions
    /// comes from the manifest (`fallbackMode`).
    public func signJob(fallbackMode: JobMode = .cloud, signatureTaken: Bool = false) -> SignJob {
        let mode = self.mode.flatMap(JobMode.init(rawValue:)) ?? fallbackMode
        let failure = recordedFailure
        return SignJob(id: jobId, mode: mode, state: state, action: pendingAction.flatMap { JobAction(name: $0, failure: failure) },
                       attempts: attempts, nextAttemptAt: nextAttemptAt, interruptions: interruptions,
                       signatureDeadline: signatureDeadline, lastFailure: errorCode.map { JobFailure(code: $0, message: failMessage ?? "", retryable: failRetryable) },
                       signatureTaken: signatureTaken)
    }

    /// The administrative job's machine as this row holds it (`resultWritten`: older rows keep
    /// no action; a result in work/ means the change was applied).
    public func administrativeJob(resultWritten: Bool = false) -> AdministrativeJob {
        let failure = recordedFailure
        let progress = JobProgress(attempts: attempts, nextAttemptAt: nextAttemptAt, interruptions: interruptions,
                                   lastFailure: errorCode.map { JobFailure(code: $0, message: failMessage ?? "", retryable: failRetryable) })
        return AdministrativeJob(id: jobId, state: state, action: pendingAction.flatMap { AdministrativeAction(name: $0, failure: failure) },
                                 progress: progress, resultWritten: resultWritten)
    }

    /// This row with the administrative machine's state applied (the caller persists it).
    public func applying(_ job: AdministrativeJob, now: Date) -> JobRecord {
        var row = self
        row.state = job.state
        row.pendingAction = job.action.name
        row.applyProgress(job.progress)
        row.updatedAt = now
        return row
    }

    mutating func applyProgress(_ progress: JobProgress) {
        attempts = progress.attempts
        nextAttemptAt = progress.nextAttemptAt
        interruptions = progress.interruptions
        if let failure = progress.lastFailure {
            errorCode = failure.code
            failMessage = failure.message
            failRetryable = failure.retryable
        }
        if state.isFinal {
            attemptInProgress = false
            owner = nil
            leaseUntil = nil
        }
    }

    /// This row with the machine's state applied (the caller persists it).
    public func applying(_ job: SignJob, now: Date) -> JobRecord {
        var row = self
        row.mode = job.mode.rawValue
        row.state = job.state
        row.pendingAction = job.action.name
        row.signatureDeadline = job.signatureDeadline
        row.applyProgress(job.progress)
        row.updatedAt = now
        return row
    }
}

/// A transition lost its compare-and-set: the job changed since it was read (another worker,
/// or another instance, moved it on). The caller reads the job again; it never overwrites.
public struct JobTransitionConflict: Error, CustomStringConvertible {
    public let jobId: String
    public let expectedVersion: Int
    public var description: String { "job \(jobId) changed since it was read (expected version \(expectedVersion)); not overwritten" }
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

    /// Writes `row` (state, pending action, counters) if the job is still at `row.version`;
    /// returns the row as written (version + 1). `JobTransitionConflict` otherwise.
    @discardableResult
    public func transitionJob(_ row: JobRecord) throws -> JobRecord {
        try write { db in
            var next = row
            next.version = row.version + 1
            try db.cachedStatement(sql: """
                UPDATE job SET state = ?, pendingAction = ?, mode = ?, attempts = ?, nextAttemptAt = ?, errorCode = ?, failMessage = ?,
                               failRetryable = ?, resultPath = ?, signatureDeadline = ?, interruptions = ?, attemptInProgress = ?,
                               owner = ?, leaseUntil = ?, updatedAt = ?, version = ?
                WHERE jobId = ? AND version = ?
                """).execute(arguments: [next.state.rawValue, next.pendingAction, next.mode, next.attempts, next.nextAttemptAt, next.errorCode,
                                          next.failMessage, next.failRetryable, next.resultPath, next.signatureDeadline, next.interruptions,
                                          next.attemptInProgress, next.owner, next.leaseUntil, next.updatedAt, next.version,
                                          row.jobId, row.version])
            guard db.changesCount == 1 else { throw JobTransitionConflict(jobId: row.jobId, expectedVersion: row.version) }
            return next
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
                               nextAttemptAt = NULL, attemptInProgress = CASE WHEN ? THEN 0 ELSE attemptInProgress END,
                               version = version + 1
                WHERE jobId = ?
                """).execute(arguments: [state.rawValue, now, errorCode, resultPath, final, id])
        }
    }

    /// Marks an attempt of the job as under way (a job claimed just now is inserted so).
    public func beginJobAttempt(_ id: String) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE job SET attemptInProgress = 1, version = version + 1 WHERE jobId = ? AND attemptInProgress = 0")
                .execute(arguments: [id])
        }
    }

    /// Marks the attempt as ended without a final state (waiting for a retry, a signature, a PDF).
    public func endJobAttempt(_ id: String) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE job SET attemptInProgress = 0, owner = NULL, leaseUntil = NULL, version = version + 1 WHERE jobId = ? AND attemptInProgress = 1")
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
            job.version += 1
            try job.update(db)
            return job.interruptions
        }
    }

    /// Notes the code a job is failing with before its files move, so that a failure cut short
    /// by a crash keeps its code.
    public func noteJobError(_ id: String, code: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE job SET errorCode = ?, version = version + 1 WHERE jobId = ?", arguments: [code, id])
        }
    }

    public func awaitSignature(_ id: String, deadline: Date, now: Date) throws {
        try write { db in
            guard var job = try JobRecord.fetchOne(db, key: id) else { return }
            job.state = .awaitingSignature
            job.signatureDeadline = deadline
            job.updatedAt = now
            job.attemptInProgress = false
            job.version += 1
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
            job.version += 1
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
