import Audit
import Daemon
import Foundation
import JobEngine
import StateStore
import TestSupport
import XCTest

/// The retention purger on a temporary spool with backdated mtimes and an injected clock.
final class RetentionTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var layout: SpoolLayout!
    private var database: StateDatabase!
    private var audit: AuditLog!
    /// The injected "now" of every purge in these tests.
    private let now = Date(timeIntervalSince1970: 1_800_000_000)
    private let day: TimeInterval = 86_400

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = try TemporaryDirectory(prefix: "signd-retention")
        layout = SpoolLayout(name: "default", spoolRoot: directory.path + "/spool")
        try layout.ensure()
        database = try StateDatabase()
        let fixed = now
        audit = try AuditLog(inMemoryWithClock: { fixed })
    }

    override func tearDown() {
        directory = nil
        super.tearDown()
    }

    // MARK: - Helpers

    private func purger(_ policy: RetentionPolicy, clock: Date? = nil) -> RetentionPurger {
        let at = clock ?? now
        return RetentionPurger(layout: layout, policy: policy, database: database, audit: audit, clock: { at })
    }

    /// Writes a file whose mtime is `age` seconds before `now`.
    @discardableResult
    private func file(_ path: String, age: TimeInterval, contents: String = "x") throws -> String {
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-age)], ofItemAtPath: path)
        return path
    }

    /// A delivered job's files in done/ (pdf + result) and archive/ (pdf + manifest).
    private func deliveredJob(_ job: String, age: TimeInterval, state: JobState? = .delivered) throws {
        try file(layout.done + "/\(job).pdf", age: age)
        try file(layout.done + "/\(job).result.json", age: age)
        try file(layout.archive + "/\(job).pdf", age: age)
        try file(layout.archive + "/\(job).json", age: age)
        if let state { try row(job, state: state, finishedAgo: age) }
    }

    private func row(_ job: String, state: JobState, finishedAgo age: TimeInterval) throws {
        let record = JobRecord(jobId: job, spool: layout.name, state: state, documentSha256: String(repeating: "a", count: 64),
                               userId: "alice", deviceId: "phone1", now: now.addingTimeInterval(-age))
        XCTAssertTrue(try database.claimJob(record).claimed)
    }

    private func exists(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)) != nil
    }

    private func retentionEvents() throws -> [AuditEventRecord] {
        var q = AuditLog.Query()
        q.type = AuditEventType.retentionPurged.rawValue
        return try audit.query(q)
    }

    private func details(_ record: AuditEventRecord) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(record.details.utf8)) as? [String: String]) ?? [:]
    }

    // MARK: - Unit tests

    func testOldDeliveredJobPurgedAsPairYoungJobKept() throws {
        try deliveredJob("old.job-1", age: 40 * day)
        try deliveredJob("young.job-2", age: 5 * day)
        let report = purger(RetentionPolicy(doneDays: 30)).purge()

        XCTAssertFalse(exists(layout.done + "/old.job-1.pdf"))
        XCTAssertFalse(exists(layout.done + "/old.job-1.result.json"))
        XCTAssertTrue(exists(layout.done + "/young.job-2.pdf"))
        XCTAssertTrue(exists(layout.done + "/young.job-2.result.json"))
        // archive/ has no limit here: untouched.
        XCTAssertTrue(exists(layout.archive + "/old.job-1.pdf"))
        XCTAssertEqual(report.removals.map(\.job), ["old.job-1"])
        XCTAssertEqual(report.removals.first?.files.map { ($0 as NSString).lastPathComponent }, ["old.job-1.pdf", "old.job-1.result.json"],
                       "the result file (the completion marker) goes last")
        XCTAssertEqual(report.fileCount, 2)
    }

    func testDoneGroupJudgedByResultFileAge() throws {
        // The PDF looks old, but the job finished (result written) recently: both stay.
        try file(layout.done + "/j1.pdf", age: 90 * day)
        try file(layout.done + "/j1.result.json", age: 2 * day)
        try row("j1", state: .delivered, finishedAgo: 2 * day)
        // The result is old, the PDF was written recently: both stay until the newest file of
        // the group is old (nothing younger than the limit is ever deleted).
        try file(layout.done + "/j2.pdf", age: 1 * day)
        try file(layout.done + "/j2.result.json", age: 60 * day)
        try row("j2", state: .delivered, finishedAgo: 60 * day)
        // Both old: both go together.
        try file(layout.done + "/j4.pdf", age: 50 * day)
        try file(layout.done + "/j4.result.json", age: 60 * day)
        try row("j4", state: .delivered, finishedAgo: 60 * day)
        // No result file: delivery never completed, never purged however old.
        try file(layout.done + "/j3.pdf", age: 90 * day)

        let report = purger(RetentionPolicy(doneDays: 30)).purge()
        XCTAssertTrue(exists(layout.done + "/j1.pdf"))
        XCTAssertTrue(exists(layout.done + "/j1.result.json"))
        XCTAssertTrue(exists(layout.done + "/j2.pdf"))
        XCTAssertTrue(exists(layout.done + "/j2.result.json"))
        XCTAssertTrue(exists(layout.done + "/j3.pdf"))
        XCTAssertFalse(exists(layout.done + "/j4.pdf"))
        XCTAssertFalse(exists(layout.done + "/j4.result.json"))
        XCTAssertEqual(report.removals.map(\.job), ["j4"])
    }

    func testFilesOfUnfinishedJobKept() throws {
        // Files that look finished and old, but the state database says the job is still running.
        try deliveredJob("running", age: 100 * day, state: .signed)
        try file(layout.failed + "/claimed.pdf", age: 100 * day)
        try file(layout.failed + "/claimed.error.json", age: 100 * day)
        try row("claimed", state: .claimed, finishedAgo: 100 * day)
        // Finished ones next to them go.
        try deliveredJob("finished", age: 100 * day)
        try file(layout.failed + "/failedjob.pdf", age: 100 * day)
        try file(layout.failed + "/failedjob.json", age: 100 * day)
        try file(layout.failed + "/failedjob.error.json", age: 100 * day)
        try row("failedjob", state: .failed, finishedAgo: 100 * day)

        let report = purger(RetentionPolicy(doneDays: 30, archiveDays: 30, failedDays: 30)).purge()
        for path in [layout.done + "/running.pdf", layout.done + "/running.result.json", layout.archive + "/running.pdf",
                     layout.archive + "/running.json", layout.failed + "/claimed.pdf", layout.failed + "/claimed.error.json"] {
            XCTAssertTrue(exists(path), "\(path) of an unfinished job was removed")
        }
        for path in [layout.done + "/finished.pdf", layout.archive + "/finished.json", layout.failed + "/failedjob.pdf",
                     layout.failed + "/failedjob.json", layout.failed + "/failedjob.error.json"] {
            XCTAssertFalse(exists(path), "\(path) of a finished job was kept")
        }
        XCTAssertEqual(Set(report.keptUnfinished), ["done/running", "archive/running", "failed/claimed"])
    }

    func testArchiveJudgedByJobFinishTimeNotProducerMTime() throws {
        // Originals keep their producer's mtime (e.g. copied with rsync -a): years old, but the
        // job was delivered yesterday.
        try file(layout.archive + "/fresh.pdf", age: 800 * day)
        try file(layout.archive + "/fresh.json", age: 800 * day)
        try row("fresh", state: .delivered, finishedAgo: 1 * day)
        try file(layout.archive + "/stale.pdf", age: 800 * day)
        try file(layout.archive + "/stale.json", age: 800 * day)
        try row("stale", state: .delivered, finishedAgo: 400 * day)

        let report = purger(RetentionPolicy(archiveDays: 365)).purge()
        XCTAssertTrue(exists(layout.archive + "/fresh.pdf"))
        XCTAssertTrue(exists(layout.archive + "/fresh.json"))
        XCTAssertFalse(exists(layout.archive + "/stale.pdf"))
        XCTAssertFalse(exists(layout.archive + "/stale.json"))
        XCTAssertEqual(report.removals.map(\.job), ["stale"])
    }

    func testSymlinksNeitherFollowedNorRemoved() throws {
        let outside = directory.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let victim = try file(outside + "/victim.pdf", age: 400 * day)
        try file(outside + "/nested.pdf", age: 400 * day)
        // Links in done/ to an old file and to a directory of old files.
        try FileManager.default.createSymbolicLink(atPath: layout.done + "/evil.pdf", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: layout.done + "/evil.result.json", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: layout.done + "/sub", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: layout.failed + "/x.error.json", withDestinationPath: victim)
        // An old regular job next to them still goes.
        try deliveredJob("real", age: 400 * day)

        let report = purger(RetentionPolicy(doneDays: 1, archiveDays: 1, failedDays: 1)).purge()
        XCTAssertTrue(exists(victim), "the target of a symbolic link was removed")
        XCTAssertTrue(exists(outside + "/nested.pdf"))
        for link in [layout.done + "/evil.pdf", layout.done + "/evil.result.json", layout.done + "/sub", layout.failed + "/x.error.json"] {
            XCTAssertTrue(exists(link), "\(link) was removed")
        }
        XCTAssertFalse(exists(layout.done + "/real.pdf"))
        XCTAssertFalse(report.removals.contains { $0.job == "evil" || $0.job == "x" }, "\(report.removals)")
    }

    func testNeverTouchesIncomingWorkPendingSignatures() throws {
        var untouchable: [String] = []
        for dir in [layout.incoming, layout.pending, layout.signatures] {
            untouchable.append(try file(dir + "/old.json", age: 400 * day))
            untouchable.append(try file(dir + "/old.result.json", age: 400 * day))
        }
        untouchable.append(try file(layout.work + "/old.document.pdf", age: 400 * day))
        let report = purger(RetentionPolicy(doneDays: 1, archiveDays: 1, failedDays: 1)).purge()
        for path in untouchable { XCTAssertTrue(exists(path), "\(path) was removed") }
        XCTAssertEqual(report.fileCount, 0)
    }

    func testHiddenTemporaryFilesJudgedByTheirOwnAge() throws {
        let young = try file(layout.done + "/.j.pdf.tmp-abc", age: 1 * day)
        let old = try file(layout.done + "/.k.pdf.tmp-def", age: 40 * day)
        _ = purger(RetentionPolicy(doneDays: 30)).purge()
        XCTAssertTrue(exists(young), "a writer's young temporary file was removed")
        XCTAssertFalse(exists(old))
    }

    func testRetentionOffRemovesNothing() throws {
        try deliveredJob("ancient", age: 4000 * day)
        try file(layout.failed + "/bad.error.json", age: 4000 * day)
        let off = RetentionPolicy(doneDays: 0, archiveDays: nil, failedDays: 0)
        XCTAssertFalse(off.isEnabled)
        XCTAssertTrue(RetentionPolicy(failedDays: 0.5).isEnabled)
        let report = purger(off).purge()
        XCTAssertEqual(report.fileCount, 0)
        XCTAssertTrue(exists(layout.done + "/ancient.pdf"))
        XCTAssertTrue(exists(layout.archive + "/ancient.pdf"))
        XCTAssertTrue(exists(layout.failed + "/bad.error.json"))
        XCTAssertEqual(try retentionEvents().count, 0)
    }

    func testDryRunRemovesNothingButReports() throws {
        try deliveredJob("old", age: 40 * day)
        let before = try FileManager.default.contentsOfDirectory(atPath: layout.done).sorted()
        let report = purger(RetentionPolicy(doneDays: 30, archiveDays: 30)).purge(dryRun: true)
        XCTAssertTrue(report.dryRun)
        XCTAssertEqual(report.fileCount, 4)
        XCTAssertEqual(Set(report.removals.map(\.directory)), [.done, .archive])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: layout.done).sorted(), before)
        XCTAssertTrue(exists(layout.archive + "/old.pdf"))
        XCTAssertEqual(try retentionEvents().count, 0, "a dry run records nothing")
        // The same purge for real removes exactly what the dry run listed.
        let real = purger(RetentionPolicy(doneDays: 30, archiveDays: 30)).purge()
        XCTAssertEqual(real.removals, report.removals)
    }

    func testInjectedClockDecides() throws {
        try deliveredJob("j", age: 10 * day)
        XCTAssertEqual(purger(RetentionPolicy(doneDays: 30)).purge().fileCount, 0)
        XCTAssertTrue(exists(layout.done + "/j.pdf"))
        XCTAssertEqual(purger(RetentionPolicy(doneDays: 30), clock: now.addingTimeInterval(21 * day)).purge().fileCount, 2)
        XCTAssertFalse(exists(layout.done + "/j.pdf"))
    }

    func testAuditEventPerDirectoryWithCountsAndJobIds() throws {
        for n in 0..<3 { try deliveredJob("job-\(n)", age: 40 * day) }
        try deliveredJob("young", age: 1 * day)
        try file(layout.failed + "/rejected.json", age: 50 * day)
        try file(layout.failed + "/rejected.error.json", age: 50 * day)
        _ = purger(RetentionPolicy(doneDays: 30, failedDays: 30)).purge()

        let events = try retentionEvents()
        XCTAssertEqual(events.count, 2, "one event per directory that lost files")
        let byDirectory = Dictionary(uniqueKeysWithValues: events.map { (details($0)["directory"] ?? "?", $0) })
        let done = try XCTUnwrap(byDirectory["done"])
        XCTAssertEqual(details(done)["files"], "6")
        XCTAssertEqual(details(done)["jobs"], "3")
        XCTAssertEqual(details(done)["jobIds"], "job-0,job-1,job-2")
        XCTAssertEqual(details(done)["jobIdsOmitted"], "0")
        XCTAssertEqual(details(done)["spool"], "default")
        XCTAssertEqual(details(done)["olderThanDays"], "30")
        XCTAssertEqual(done.outcome, "info")
        let failed = try XCTUnwrap(byDirectory["failed"])
        XCTAssertEqual(details(failed)["files"], "2")
        XCTAssertEqual(details(failed)["jobIds"], "rejected")
        XCTAssertNil(failed.jobId)
        XCTAssertTrue(try audit.verify().firstBad == nil)

        // A second run finds nothing more to remove and records nothing.
        XCTAssertEqual(purger(RetentionPolicy(doneDays: 30, failedDays: 30)).purge().fileCount, 0)
        XCTAssertEqual(try retentionEvents().count, 2)
    }

    /// A second duplicate of job X, with a PDF: the PDF keeps its name (failed/X.duplicate.pdf,
    /// joining the first duplicate's old group) while its manifest and report are numbered
    /// (X.duplicate.1.*). The old group's report must not get the fresh PDF deleted.
    func testFreshFileInOldNumberedGroupIsKept() throws {
        try file(layout.failed + "/X.duplicate.json", age: 60 * day)
        try file(layout.failed + "/X.duplicate.error.json", age: 60 * day)
        let fresh = try file(layout.failed + "/X.duplicate.pdf", age: 1 * day)
        try file(layout.failed + "/X.duplicate.1.json", age: 1 * day)
        try file(layout.failed + "/X.duplicate.1.error.json", age: 1 * day)
        let report = purger(RetentionPolicy(failedDays: 30)).purge()
        XCTAssertTrue(exists(fresh), "a file written a day ago was deleted with a 30-day limit")
        XCTAssertTrue(exists(layout.failed + "/X.duplicate.1.json"))
        XCTAssertTrue(exists(layout.failed + "/X.duplicate.error.json"), "the group stays whole")
        XCTAssertEqual(report.fileCount, 0, "\(report.removals)")

        // Once the newest file is past the limit, the whole group goes.
        let later = purger(RetentionPolicy(failedDays: 30), clock: now.addingTimeInterval(30 * day)).purge()
        XCTAssertFalse(exists(fresh))
        XCTAssertFalse(exists(layout.failed + "/X.duplicate.error.json"))
        XCTAssertEqual(Set(later.removals.map(\.job)), ["X.duplicate", "X.duplicate.1"])
    }

    /// The audit event is written before the files are removed: at the moment it is appended
    /// (the audit clock is read inside the append), the files are still there.
    func testAuditEventIsRecordedBeforeFilesAreRemoved() throws {
        try deliveredJob("old", age: 40 * day)
        let pdf = layout.done + "/old.pdf"
        let seen = PresenceLog()
        let fixed = now
        let watching = try AuditLog(inMemoryWithClock: { seen.note(FileManager.default.fileExists(atPath: pdf)); return fixed })
        let report = RetentionPurger(layout: layout, policy: RetentionPolicy(doneDays: 30), database: database, audit: watching,
                                     clock: { fixed }).purge()
        XCTAssertEqual(report.fileCount, 2)
        XCTAssertFalse(exists(pdf))
        XCTAssertEqual(seen.values, [true], "the file was already gone when retention.purged was recorded")
    }

    /// An audit log that refuses the event: nothing is removed, the run reports why.
    func testNothingRemovedWhenTheAuditEventCannotBeWritten() throws {
        try deliveredJob("old", age: 40 * day)
        try file(layout.failed + "/bad.error.json", age: 40 * day)
        let path = directory.path + "/audit.sqlite"
        _ = try AuditLog(path: path)
        let readOnly = try AuditLog(readOnlyPath: path)
        let fixed = now
        let report = RetentionPurger(layout: layout, policy: RetentionPolicy(doneDays: 30, failedDays: 30), database: database,
                                     audit: readOnly, clock: { fixed }).purge()
        XCTAssertTrue(exists(layout.done + "/old.pdf"), "deleted without an audit record")
        XCTAssertTrue(exists(layout.done + "/old.result.json"))
        XCTAssertTrue(exists(layout.failed + "/bad.error.json"))
        XCTAssertEqual(report.fileCount, 0)
        XCTAssertEqual(report.errors.count, 2, "\(report.errors)")
        XCTAssertTrue(report.errors.allSatisfy { $0.contains("audit") }, "\(report.errors)")
        XCTAssertEqual(try AuditLog(readOnlyPath: path).head()?.seq, nil, "nothing was recorded")
    }

    func testAuditJobIdListIsBounded() throws {
        let count = RetentionPurger.auditJobIdLimit + 5
        for n in 0..<count { try file(layout.failed + String(format: "/r%04d.error.json", n), age: 40 * day) }
        let report = purger(RetentionPolicy(failedDays: 30)).purge()
        XCTAssertEqual(report.fileCount, count)
        let event = try XCTUnwrap(try retentionEvents().first)
        XCTAssertEqual(details(event)["jobs"], String(count))
        XCTAssertEqual(details(event)["jobIds"]?.split(separator: ",").count, RetentionPurger.auditJobIdLimit)
        XCTAssertEqual(details(event)["jobIdsOmitted"], "5")
    }
}

/// What a closure saw, in order (the audit clock runs on the database's queue).
private final class PresenceLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [Bool] = []
    func note(_ value: Bool) { lock.withLock { seen.append(value) } }
    var values: [Bool] { lock.withLock { seen } }
}

/// Retention in the real daemon and the `signd retention purge` command.
final class DaemonRetentionTests: DaemonTestCase {
    private func backdate(_ paths: [String], days: Double) throws {
        let date = Date().addingTimeInterval(-days * 86_400)
        for path in paths { try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path) }
    }

    func testDaemonPurgesBackdatedOutputsOnItsIntervalAndAudits() throws {
        let f = fixture!
        let daemon = try f.startDaemon(configuration: #"{"retention":{"doneDays":30,"archiveDays":30,"intervalSeconds":1}}"#)
        let old = try f.submit(job: "ret-old")
        let young = try f.submit(job: "ret-young")
        XCTAssertEqual(try f.waitForOutcome(of: old), .done)
        XCTAssertEqual(try f.waitForOutcome(of: young), .done)
        // Backdate one job's outputs (and its originals: the archive counts from the job's finish time).
        try backdate([f.done + "/\(old).pdf", f.done + "/\(old).result.json", f.archive + "/\(old).pdf", f.archive + "/\(old).json"], days: 31)

        XCTAssertTrue(f.waitUntil(timeout: 20) { !f.exists(f.done + "/\(old).pdf") && !f.exists(f.done + "/\(old).result.json") },
                      "not purged\n\(f.spoolListing())\n\(f.logs)")
        XCTAssertTrue(f.exists(f.done + "/\(young).pdf"))
        XCTAssertTrue(f.exists(f.done + "/\(young).result.json"))
        XCTAssertTrue(f.exists(f.archive + "/\(old).pdf"), "the original was delivered seconds ago: kept")
        XCTAssertEqual(f.stop(daemon), 0, f.logs)

        let events = try f.auditEvents(type: "retention.purged")
        XCTAssertEqual(events.count, 1, "\(events)")
        let details = DaemonFixture.details(try XCTUnwrap(events.first))
        XCTAssertEqual(details["directory"], "done")
        XCTAssertEqual(details["files"], "2")
        XCTAssertEqual(details["jobIds"], old)
        // The job's own history stays in the audit.
        XCTAssertFalse(try f.auditEvents(job: old, type: "job.delivered").isEmpty)
        XCTAssertTrue(daemon.log.contains(#""msg":"retention purged""#), daemon.log)
        XCTAssertEqual(try f.signd(["audit", "verify", "--data-dir", f.dataDir]).status, 0)
    }

    func testCLIDryRunPreviewsThenPurgeRemoves() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let job = try f.submit(job: "cli-old")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertEqual(f.stop(daemon), 0, f.logs)
        try backdate([f.done + "/\(job).pdf", f.done + "/\(job).result.json"], days: 10)
        let config = f.root + "/retention.json"
        try Data(#"{"retention":{"doneDays":7}}"#.utf8).write(to: URL(fileURLWithPath: config))
        let common = ["--config", config, "--data-dir", f.dataDir, "--spool-root", f.spoolRoot]

        let preview = try f.signd(["retention", "purge", "--dry-run"] + common)
        XCTAssertEqual(preview.status, 0, preview.stderr)
        XCTAssertTrue(preview.stdout.contains("would remove\tdefault\tdone\t\(job)\t\(f.done)/\(job).pdf"), preview.stdout)
        XCTAssertTrue(preview.stdout.contains("\(f.done)/\(job).result.json"), preview.stdout)
        XCTAssertTrue(preview.stdout.contains("would remove 2 file(s) of 1 job(s)"), preview.stdout)
        XCTAssertTrue(f.exists(f.done + "/\(job).pdf"))
        XCTAssertTrue(f.exists(f.done + "/\(job).result.json"))
        XCTAssertEqual(try f.auditEvents(type: "retention.purged").count, 0)

        let purge = try f.signd(["retention", "purge"] + common)
        XCTAssertEqual(purge.status, 0, purge.stderr)
        XCTAssertTrue(purge.stdout.contains("removed\tdefault\tdone\t\(job)"), purge.stdout)
        XCTAssertFalse(f.exists(f.done + "/\(job).pdf"))
        XCTAssertFalse(f.exists(f.done + "/\(job).result.json"))
        XCTAssertTrue(f.exists(f.archive + "/\(job).pdf"), "archiveDays not set: originals kept")
        XCTAssertEqual(try f.auditEvents(type: "retention.purged").count, 1)
    }

    func testNegativeRetentionIsAConfigurationError() throws {
        let f = fixture!
        let config = f.root + "/bad.json"
        try Data(#"{"retention":{"doneDays":-1}}"#.utf8).write(to: URL(fileURLWithPath: config))
        let out = try f.signd(["retention", "purge", "--dry-run", "--config", config, "--data-dir", f.dataDir, "--spool-root", f.spoolRoot])
        XCTAssertEqual(out.status, 2, out.stdout)
        XCTAssertTrue(out.stderr.contains("[config.invalidValue] retention.doneDays"), out.stderr)
        let run = try f.signd(["run", "--config", config, "--data-dir", f.dataDir, "--spool-root", f.spoolRoot, "--listen", "off"], timeout: 30)
        XCTAssertEqual(run.status, 2, run.stdout)
        XCTAssertTrue(run.stderr.contains("[config.invalidValue] retention.doneDays"), run.stderr)
    }
}
