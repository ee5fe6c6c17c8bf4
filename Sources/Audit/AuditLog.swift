import Crypto
import DatabaseSupport
import Foundation
import GRDB
import SigndCore

enum AuditHash {
    static func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(Array(SHA256.hash(data: bytes))) }
    static let genesis = String(repeating: "0", count: 64)
}

/// The tamper-evident audit log: a separate SQLite file (auditors get this file alone), one
/// append-only row per event, each carrying the hash of the previous row. UPDATE and DELETE are
/// refused by triggers; `verify` recomputes the chain and names the first bad row, so edits made
/// around the triggers (e.g. with the sqlite3 shell) are detected. Anchors store RFC 3161 tokens
/// over the chain head so that even an operator cannot rewrite history unnoticed.
public final class AuditLog: Sendable {
    public let writer: any DatabaseWriter
    /// Appends are durable (`synchronous = FULL`) and concurrent ones share a commit (GroupCommit).
    let commits: GroupCommit
    let clock: @Sendable () -> Date

    public init(path: String, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: config)
        chmod(path, 0o640)
        writer = pool
        try GroupCommit.makeDurable(pool)
        commits = GroupCommit(pool)
        self.clock = clock
        try Self.migrator.migrate(pool)
    }

    /// Opens an existing audit database read-only (auditors).
    public init(readOnlyPath path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AuditError(code: .missing, message: "no audit database at \(path); check --data-dir")
        }
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        writer = queue
        commits = GroupCommit(queue)
        clock = { Date() }
    }

    public init(inMemoryWithClock clock: @escaping @Sendable () -> Date = { Date() }) throws {
        let queue = try DatabaseQueue()
        writer = queue
        commits = GroupCommit(queue)
        self.clock = clock
        try Self.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-events") { db in
            try db.create(table: "event") { t in
                t.primaryKey("seq", .integer)
                t.column("at", .text).notNull()
                t.column("type", .text).notNull()
                t.column("jobId", .text)
                t.column("userId", .text)
                t.column("deviceId", .text)
                t.column("documentSha256", .text)
                t.column("certificateSerial", .text)
                t.column("outcome", .text).notNull()
                t.column("details", .text).notNull()
                t.column("prevHash", .text).notNull()
                t.column("hash", .text).notNull()
            }
            for column in ["jobId", "userId", "deviceId", "type", "at"] {
                try db.create(index: "event_on_\(column)", on: "event", columns: [column])
            }
            try db.execute(sql: "CREATE TRIGGER event_no_update BEFORE UPDATE ON event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
            try db.execute(sql: "CREATE TRIGGER event_no_delete BEFORE DELETE ON event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
            try db.create(table: "anchor") { t in
                t.primaryKey("seq", .integer) // the event seq whose hash is anchored
                t.column("hash", .text).notNull()
                t.column("token", .blob).notNull()
                t.column("at", .text).notNull()
            }
        }
        m.registerMigration("v2-anchor-append-only") { db in
            try db.execute(sql: "CREATE TRIGGER anchor_no_update BEFORE UPDATE ON anchor BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END")
            try db.execute(sql: "CREATE TRIGGER anchor_no_delete BEFORE DELETE ON anchor BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END")
        }
        m.registerMigration("v3-event-job-type-index") { db in
            // The once-per-job check looks a step up by job and type; with only single-column
            // indexes SQLite may pick the type index and walk every event of that type.
            try db.create(index: "event_on_jobId_type", on: "event", columns: ["jobId", "type"])
        }
        return m
    }

    static func timestamp(_ date: Date) -> String { Timestamps.iso8601Milliseconds(date) }

    /// Appends an event. Serialized by the database writer, so concurrent callers chain correctly.
    /// With `oncePerJob`, an event of the same type for the same job that is already recorded is
    /// returned instead (checked in the same transaction): a step redone after a crash is
    /// recorded exactly once.
    @discardableResult
    public func append(_ entry: AuditEntry, oncePerJob: Bool = false) throws -> AuditEventRecord {
        let at = Self.timestamp(clock())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let details = String(decoding: try encoder.encode(entry.details), as: UTF8.self)
        // Cached prepared statements: this runs several times per job.
        return try commits.write { db in
            if oncePerJob, let jobId = entry.jobId,
               let existing = try AuditEventRecord.fetchOne(
                   db.cachedStatement(sql: "SELECT * FROM event WHERE jobId = ? AND type = ? ORDER BY seq LIMIT 1"),
                   arguments: [jobId, entry.type.rawValue]) {
                return existing
            }
            let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM event ORDER BY seq DESC LIMIT 1"))
            var record = AuditEventRecord(
                seq: (last?["seq"] as Int64? ?? 0) + 1, at: at, type: entry.type.rawValue, jobId: entry.jobId, userId: entry.userId,
                deviceId: entry.deviceId, documentSha256: entry.documentSha256, certificateSerial: entry.certificateSerial,
                outcome: entry.outcome, details: details, prevHash: last?["hash"] as String? ?? AuditHash.genesis, hash: "")
            record.hash = record.computedHash()
            try db.cachedStatement(sql: """
                INSERT INTO event (seq, at, type, jobId, userId, deviceId, documentSha256, certificateSerial, outcome, details, prevHash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [record.seq, record.at, record.type, record.jobId, record.userId, record.deviceId,
                                         record.documentSha256, record.certificateSerial, record.outcome, record.details,
                                         record.prevHash, record.hash])
            return record
        }
    }

    /// Result of checking the chain.
    public struct VerificationResult: Sendable {
        public var events: Int
        /// First row that does not fit the chain, with the reason; nil when intact.
        public var firstBad: (seq: Int64, reason: String)?
        public var anchors: Int
    }

    /// Recomputes every hash in order. Detects edited rows (hash mismatch), deleted or inserted
    /// rows (sequence gap / prevHash mismatch) and reordered rows.
    public func verify() throws -> VerificationResult {
        try writer.read { db in
            var expectedPrev = AuditHash.genesis
            var expectedSeq: Int64 = 1
            var count = 0
            let cursor = try AuditEventRecord.order(Column("seq")).fetchCursor(db)
            while let row = try cursor.next() {
                count += 1
                if row.seq != expectedSeq {
                    return VerificationResult(events: count, firstBad: (row.seq, "sequence jumps from \(expectedSeq - 1) to \(row.seq): rows were deleted or inserted"), anchors: 0)
                }
                if row.prevHash != expectedPrev {
                    return VerificationResult(events: count, firstBad: (row.seq, "previous-hash link broken: rows were deleted, inserted or reordered"), anchors: 0)
                }
                if row.computedHash() != row.hash {
                    return VerificationResult(events: count, firstBad: (row.seq, "content does not match its hash: the row was edited"), anchors: 0)
                }
                expectedPrev = row.hash
                expectedSeq += 1
            }
            // Anchors must name hashes that are in the chain.
            let anchors = try Row.fetchAll(db, sql: "SELECT seq, hash FROM anchor ORDER BY seq")
            for a in anchors {
                let seq: Int64 = a["seq"], hash: String = a["hash"]
                let stored = try String.fetchOne(db, sql: "SELECT hash FROM event WHERE seq = ?", arguments: [seq])
                if stored != hash {
                    return VerificationResult(events: count, firstBad: (seq, "an anchor timestamped this row with another hash: history was rewritten"), anchors: anchors.count)
                }
            }
            return VerificationResult(events: count, firstBad: nil, anchors: anchors.count)
        }
    }

    /// The newest event (the chain head), if any.
    public func head() throws -> AuditEventRecord? {
        try writer.read { try AuditEventRecord.order(Column("seq").desc).fetchOne($0) }
    }

    /// Whether the newest event is already anchored.
    public func headIsAnchored() throws -> Bool {
        try writer.read { db in
            guard let head = try AuditEventRecord.order(Column("seq").desc).fetchOne(db) else { return true }
            return try Row.fetchOne(db, sql: "SELECT 1 FROM anchor WHERE seq = ?", arguments: [head.seq]) != nil
        }
    }

    /// Stores an RFC 3161 token over the head's hash (caller obtains and verifies it).
    public func storeAnchor(seq: Int64, hash: String, token: [UInt8]) throws {
        try commits.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO anchor (seq, hash, token, at) VALUES (?, ?, ?, ?)",
                           arguments: [seq, hash, Data(token), Self.timestamp(clock())])
        }
    }

    public struct Query: Sendable {
        public var jobId: String?
        public var userId: String?
        public var deviceId: String?
        public var type: String?
        public var since: Date?
        public var until: Date?
        public var limit: Int = 10_000
        public init() {}
    }

    public func query(_ q: Query) throws -> [AuditEventRecord] {
        try writer.read { db in
            var request = AuditEventRecord.order(Column("seq"))
            if let v = q.jobId { request = request.filter(Column("jobId") == v) }
            if let v = q.userId { request = request.filter(Column("userId") == v) }
            if let v = q.deviceId { request = request.filter(Column("deviceId") == v) }
            if let v = q.type { request = request.filter(Column("type") == v) }
            if let v = q.since { request = request.filter(Column("at") >= Self.timestamp(v)) }
            if let v = q.until { request = request.filter(Column("at") <= Self.timestamp(v)) }
            return try request.limit(q.limit).fetchAll(db)
        }
    }
}

public struct AuditError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }
        /// No audit database at the path (read-only commands never create one).
        public static let missing = Code(rawValue: "audit.missing")
    }
    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public init(code: String, message: String) {
        self.init(code: Code(rawValue: code), message: message)
    }
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}

/// Audit's documented codes (``AuditError/Code``); SQLite failures are `state.*`.
public enum AuditErrorCodes {
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(AuditError.Code.missing.rawValue, .audit, meaning: "`signd audit` (or the audit HTTP endpoint): no audit database at the path; check `--data-dir`"),
    ]
}
