import Audit
import Foundation
import JobEngine
import Logging
import SigndCore
import StateStore

/// How long finished jobs' files stay in a spool (docs/configuration.md `retention.*`). A limit
/// of nil or 0 keeps that directory's files forever; retention is off unless a limit is set.
public struct RetentionPolicy: Sendable, Hashable {
    /// done/: signed PDFs and result files, counted from the result file's mtime.
    public var doneDays: Double?
    /// archive/: originals and manifests of delivered jobs, counted from the job's finish time.
    public var archiveDays: Double?
    /// failed/: inputs and error reports, counted from the newest error report's mtime.
    public var failedDays: Double?
    /// Time between purge runs of the daemon.
    public var interval: TimeInterval

    public static let defaultInterval: TimeInterval = 3_600

    public init(doneDays: Double? = nil, archiveDays: Double? = nil, failedDays: Double? = nil, interval: TimeInterval = RetentionPolicy.defaultInterval) {
        self.doneDays = doneDays
        self.archiveDays = archiveDays
        self.failedDays = failedDays
        self.interval = interval
    }

    /// The age limit for a directory in seconds; nil: kept forever.
    public func limit(for directory: RetentionDirectory) -> TimeInterval? {
        let days: Double?
        switch directory {
        case .done: days = doneDays
        case .archive: days = archiveDays
        case .failed: days = failedDays
        }
        guard let days, days > 0 else { return nil }
        return days * 86_400
    }

    public var isEnabled: Bool { RetentionDirectory.allCases.contains { limit(for: $0) != nil } }
}

/// The spool directories retention may purge. incoming/, work/, pending/ and signatures/ hold
/// jobs that are not finished and are never purged.
public enum RetentionDirectory: String, Sendable, CaseIterable, Hashable {
    case done, archive, failed
}

/// What one purge of one spool removed (or, in a dry run, would remove).
public struct RetentionReport: Sendable {
    public struct Removal: Sendable, Hashable {
        public var directory: RetentionDirectory
        /// The job id (or, for rejected inputs, the base name) the files belong to.
        public var job: String
        /// Absolute paths, in the order they are removed.
        public var files: [String]
    }
    public var spool: String
    public var dryRun: Bool
    public var removals: [Removal] = []
    /// Files that could not be removed (path: reason); the rest of their job is kept.
    public var errors: [String] = []
    /// Groups kept because their job is not finished in the state database.
    public var keptUnfinished: [String] = []

    public var fileCount: Int { removals.reduce(0) { $0 + $1.files.count } }
    public func removals(in directory: RetentionDirectory) -> [Removal] { removals.filter { $0.directory == directory } }
}

/// Deletes the files of finished jobs that are older than the configured limits from one spool.
///
/// Rules (docs/operations.md "Retention"):
/// - only done/, archive/ and failed/ are looked at, never recursively; only regular files are
///   removed (`lstat`; symbolic links, directories and special files are neither followed nor
///   removed);
/// - a job's files in a directory form one group and go together: done/<job>.pdf with
///   done/<job>.result.json, judged by the result file; failed/ groups judged by their newest
///   `*.error.json`; archive/ groups by the job's finish time in the state database (the
///   originals keep their producers' mtimes), or by their newest mtime when there is no row;
///   in every directory a group also waits until its newest file is older than the limit
///   (numbered names can put a fresh file into an old group), so nothing younger is deleted;
/// - the `retention.purged` event is written before the files are removed; when it cannot be
///   written nothing is removed;
/// - a group without its completion marker (done/ without result.json, failed/ without an error
///   report) is never purged: the job was not finished when the files were written;
/// - a group whose job has a state row that is not `delivered` or `failed` is kept;
/// - hidden files (temporary files of writers) are judged one by one by their own mtime.
public struct RetentionPurger: Sendable {
    public let layout: SpoolLayout
    public let policy: RetentionPolicy
    let database: StateDatabase?
    let audit: AuditLog?
    let clock: @Sendable () -> Date
    let logger: Logger?

    /// Job ids listed in one `retention.purged` audit event at most.
    public static let auditJobIdLimit = 100

    public init(layout: SpoolLayout, policy: RetentionPolicy, database: StateDatabase?, audit: AuditLog?,
                clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger? = nil) {
        self.layout = layout
        self.policy = policy
        self.database = database
        self.audit = audit
        self.clock = clock
        self.logger = logger
    }

    /// One purge run. With `dryRun` nothing is removed and nothing is audited; the report says
    /// what would go.
    public func purge(dryRun: Bool = false) -> RetentionReport {
        var report = RetentionReport(spool: layout.name, dryRun: dryRun)
        let now = clock()
        for directory in RetentionDirectory.allCases {
            guard let limit = policy.limit(for: directory) else { continue }
            let planned = plan(directory: directory, olderThan: now.addingTimeInterval(-limit), report: &report)
            guard !planned.isEmpty else { continue }
            if dryRun {
                report.removals += planned
                continue
            }
            // Recorded before anything is deleted: a kill between the two leaves an event and the
            // files (the next run records them again), never deletions without a record. When the
            // event cannot be written, nothing is deleted.
            guard record(directory: directory, removals: planned, limit: limit) else {
                report.errors.append("\(path(of: directory)): nothing removed: the retention.purged audit event could not be written")
                continue
            }
            let removals = remove(planned, in: path(of: directory), report: &report)
            report.removals += removals
            log(directory: directory, removals: removals)
        }
        for error in report.errors {
            logger?.warning("retention could not remove a file", metadata: ["spool": .string(layout.name), "error": .string(error)])
        }
        return report
    }

    func path(of directory: RetentionDirectory) -> String {
        switch directory {
        case .done: return layout.done
        case .archive: return layout.archive
        case .failed: return layout.failed
        }
    }

    private struct Entry {
        var name: String
        var mtime: Date
    }

    /// The groups of `directory` that are due, in removal order (markers last); nothing is removed.
    private func plan(directory: RetentionDirectory, olderThan cutoff: Date, report: inout RetentionReport) -> [RetentionReport.Removal] {
        let dir = path(of: directory)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        var groups: [String: [Entry]] = [:]
        var hidden: [Entry] = []
        for name in names {
            guard let mtime = Self.regularFileMTime(dir + "/" + name) else { continue }
            if name.hasPrefix(".") {
                hidden.append(Entry(name: name, mtime: mtime))
            } else {
                groups[Self.groupKey(name), default: []].append(Entry(name: name, mtime: mtime))
            }
        }
        var planned: [RetentionReport.Removal] = []
        for entry in hidden where entry.mtime < cutoff {
            planned.append(.init(directory: directory, job: entry.name, files: [dir + "/" + entry.name]))
        }
        for key in groups.keys.sorted() {
            guard let entries = groups[key], let newest = entries.map(\.mtime).max() else { continue }
            let markers = entries.filter { Self.isMarker($0.name, in: directory) }
            var row: JobRecord?
            if let database {
                do { row = try database.job(key) } catch {
                    report.errors.append("\(dir)/\(key).*: state database not readable: \(error)")
                    continue
                }
            }
            if let row, row.state != .delivered, row.state != .failed {
                report.keptUnfinished.append("\(directory.rawValue)/\(key)")
                continue
            }
            // A group is judged by its newest file as well: numbered names can put a fresh file
            // (e.g. failed/X.duplicate.pdf of a new rejection) into an old group, and nothing
            // younger than the limit is ever deleted.
            let finishedAt: Date?
            switch directory {
            case .done, .failed: finishedAt = markers.map(\.mtime).max().map { max($0, newest) }
            case .archive: finishedAt = max(row?.updatedAt ?? newest, newest)
            }
            guard let finishedAt, finishedAt < cutoff else { continue }
            // Markers last: a purge interrupted half-way leaves a group that is still complete
            // and is finished by the next run.
            let ordered = entries.filter { !Self.isMarker($0.name, in: directory) }.map(\.name) + markers.map(\.name)
            planned.append(.init(directory: directory, job: key, files: ordered.map { dir + "/" + $0 }))
        }
        return planned
    }

    /// Removes each planned group's files in order; a group stops at its first failure (the rest
    /// of it stays). Returns what was removed.
    private func remove(_ planned: [RetentionReport.Removal], in dir: String, report: inout RetentionReport) -> [RetentionReport.Removal] {
        var removals: [RetentionReport.Removal] = []
        for group in planned {
            var removed: [String] = []
            for path in group.files {
                // Re-checked just before: only a regular file is removed (unlink never follows links).
                guard Self.regularFileMTime(path) != nil else { continue }
                guard unlink(path) == 0 else {
                    report.errors.append("\(path): \(String(cString: strerror(errno)))")
                    break
                }
                removed.append(path)
            }
            if !removed.isEmpty { removals.append(.init(directory: group.directory, job: group.job, files: removed)) }
        }
        if !removals.isEmpty { SpoolFiles.fsyncDirectory(dir) }
        return removals
    }

    /// One `retention.purged` event per directory and run that is about to remove something,
    /// written before the removal. False when the event could not be written (nothing may then
    /// be removed); true without an audit log (nothing to record in).
    private func record(directory: RetentionDirectory, removals: [RetentionReport.Removal], limit: TimeInterval) -> Bool {
        guard let audit else { return true }
        let jobs = removals.map(\.job)
        let listed = jobs.prefix(Self.auditJobIdLimit)
        let files = removals.reduce(0) { $0 + $1.files.count }
        let details: [String: String] = [
            "spool": layout.name, "directory": directory.rawValue, "files": String(files), "jobs": String(jobs.count),
            "jobIds": listed.joined(separator: ","), "jobIdsOmitted": String(jobs.count - listed.count),
            "olderThanDays": Self.format(limit / 86_400),
        ]
        do {
            try audit.append(AuditEntry(type: .retentionPurged, outcome: "info", details: details))
            return true
        } catch {
            logger?.error("retention audit event could not be written; nothing removed", metadata: [
                "spool": .string(layout.name), "directory": .string(directory.rawValue), "error": .string("\(error)"),
            ])
            return false
        }
    }

    private func log(directory: RetentionDirectory, removals: [RetentionReport.Removal]) {
        guard !removals.isEmpty else { return }
        let files = removals.reduce(0) { $0 + $1.files.count }
        logger?.info("retention purged", metadata: [
            "spool": .string(layout.name), "directory": .string(directory.rawValue), "files": .string(String(files)),
            "jobs": .string(String(removals.count)),
        ])
        for removal in removals {
            logger?.info("retention purged job", metadata: [
                "job": .string(removal.job), "spool": .string(layout.name), "directory": .string(directory.rawValue),
                "files": .string(String(removal.files.count)),
            ])
        }
    }

    static func format(_ days: Double) -> String {
        days == days.rounded() ? String(Int(days)) : String(days)
    }

    /// The mtime of a regular file (not a symbolic link); nil for anything else.
    static func regularFileMTime(_ path: String) -> Date? {
        // lstat: a symbolic link is reported as a link, never followed.
        guard let status = FileStatus(path: path), status.kind == .regular else { return nil }
        return Date(timeIntervalSince1970: status.modified)
    }

    /// The job a file belongs to: its name without the suffix signd gives it. Job ids may contain
    /// dots, so only known suffixes are removed, else the last extension.
    static func groupKey(_ name: String) -> String {
        for suffix in [".result.json", ".signature.error.json", ".error.json", ".signature.json", ".dtbs.json"] where name.hasSuffix(suffix) && name.count > suffix.count {
            return String(name.dropLast(suffix.count))
        }
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { return String(name[..<dot]) }
        return name
    }

    /// The file signd writes when a job is finished: its mtime is the job's finish time.
    static func isMarker(_ name: String, in directory: RetentionDirectory) -> Bool {
        switch directory {
        case .done: return name.hasSuffix(".result.json")
        case .failed: return name.hasSuffix(".error.json")
        case .archive: return false
        }
    }
}

/// Runs the purgers once at start and then every `interval` until cancelled (the daemon's
/// shutdown). Sleeps in between; never polls.
public struct RetentionScheduler: Sendable {
    public let purgers: [RetentionPurger]
    public let interval: TimeInterval
    let logger: Logger

    public init(purgers: [RetentionPurger], interval: TimeInterval, logger: Logger) {
        self.purgers = purgers
        self.interval = interval
        self.logger = logger
    }

    static func describe(_ days: Double?) -> String {
        guard let days, days > 0 else { return "off" }
        return RetentionPurger.format(days)
    }

    /// Returns only when cancelled.
    public func run() async {
        logger.info("retention scheduled", metadata: [
            "spools": .string(purgers.map(\.layout.name).joined(separator: ",")), "intervalSeconds": .string(String(Int(interval))),
            "doneDays": .string(Self.describe(purgers.first?.policy.doneDays)),
            "archiveDays": .string(Self.describe(purgers.first?.policy.archiveDays)),
            "failedDays": .string(Self.describe(purgers.first?.policy.failedDays)),
        ])
        while !Task.isCancelled {
            for purger in purgers where !Task.isCancelled { _ = purger.purge() }
            do { try await Task.sleep(nanoseconds: UInt64(max(1, interval) * 1e9)) } catch { break }
        }
    }
}
