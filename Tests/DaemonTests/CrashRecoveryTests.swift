#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import TestSupport
import XCTest

/// Exactly once across crashes: the daemon is killed with SIGKILL repeatedly during a batch, and
/// (deterministically) restarted on the on-disk states a crash between two steps leaves.
final class CrashRecoveryTests: DaemonTestCase {
    func testKillNineDuringBatchEveryJobEndsExactlyOnce() throws {
        let f = fixture!
        // Enough jobs that several kills land while jobs are in progress: a debug build signs a
        // small job in a few tens of milliseconds with two workers.
        let initial = 80, extra = 6
        let level = { (n: Int) in n % 2 == 0 ? "B-B" : "B-T" }
        var jobs: [String: String] = [:]  // job id -> level
        let batch = (0..<initial).map { (id: String(format: "kill-%03d", $0), level: level($0)) }
        try f.submitMany(batch)
        for j in batch { jobs[j.id] = j.level }

        // Kill -9 every 300-700 ms after a (re)start while jobs remain; a few jobs arrive while
        // the daemon runs so that intake and claims are interrupted too.
        var kills = 0, killsWithWorkLeft = 0, next = initial
        var rng = SystemRandomNumberGenerator()
        var refills = 0
        while kills < 12 {
            if jobs.keys.allSatisfy({ f.outcome(of: $0) != nil }) {
                // All done before enough kills landed with work in progress (a faster or less
                // loaded machine): another batch, so the next kills interrupt jobs again.
                if killsWithWorkLeft >= 3 && next >= initial + extra { break }
                guard refills < 8 else { break }
                refills += 1
                let more = (0..<80).map { (id: String(format: "kill-r%d-%03d", refills, $0), level: level($0)) }
                try f.submitMany(more)
                for j in more { jobs[j.id] = j.level }
            }
            let daemon = try f.startDaemon(configuration: CrashWindowTests.killLoopConfiguration, waitUntilReady: false)
            let delay = Double.random(in: 0.3...0.7, using: &rng)
            if next < initial + extra {
                Thread.sleep(forTimeInterval: delay / 2)
                let id = String(format: "kill-%03d", next)
                jobs[try f.submit(level: level(next), job: id)] = level(next)
                next += 1
                Thread.sleep(forTimeInterval: delay / 2)
            } else {
                Thread.sleep(forTimeInterval: delay)
            }
            let unfinished = jobs.keys.filter { f.outcome(of: $0) == nil }.count
            daemon.kill9()
            kills += 1
            if unfinished > 0 { killsWithWorkLeft += 1 }
        }
        XCTAssertGreaterThanOrEqual(killsWithWorkLeft, 3, "the daemon should be killed several times while jobs were in progress")

        // Let it finish.
        let final = try f.startDaemon(configuration: CrashWindowTests.killLoopConfiguration)
        let finished = f.waitUntil(timeout: 60, interval: 0.1) { jobs.keys.allSatisfy { f.outcome(of: $0) != nil } }
        XCTAssertTrue(finished, "unfinished: \(jobs.keys.filter { f.outcome(of: $0) == nil }.sorted())\n\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(final), 0, "SIGTERM after the batch\n\(f.logs)")

        // Every job exactly once: one signed PDF and one result in done/, nothing failed.
        let expectedDone = Set(jobs.keys.flatMap { ["\($0).pdf", "\($0).result.json"] })
        let doneEntries = f.entries(f.done)
        assertSameFiles(doneEntries.filter { !$0.hasPrefix(".") }, expectedDone, "done/ holds exactly one PDF and one result per job")
        XCTAssertEqual(doneEntries.filter { $0.hasPrefix(".") }, [], "temporary files of killed writers are removed on restart")
        let failedReports = f.entries(f.failed).filter { $0.hasSuffix(".error.json") }
        if !failedReports.isEmpty {
            let denied = (try? f.auditEvents(type: "job.denied")) ?? []
            let described = failedReports.map { r -> String in
                let job = String(r.dropLast(".error.json".count))
                let code = (try? f.errorReport(f.failed + "/" + r))?["code"] as? String ?? "?"
                let precise = denied.filter { $0.jobId == job }.compactMap { DaemonFixture.details($0)["code"] }
                return "\(job): \(code)\(precise.isEmpty ? "" : " (audit: \(precise.joined(separator: ",")))")"
            }
            XCTFail("no job should fail, but: \(described.joined(separator: "; "))")
        }
        assertSameFiles(f.entries(f.archive), Set(jobs.keys.flatMap { ["\($0).pdf", "\($0).json"] }), "archive/ holds each job's inputs once")
        XCTAssertEqual(f.entries(f.work), [], "work/ is empty")
        XCTAssertEqual(f.entries(f.incoming).filter { !$0.hasPrefix(".") }, [], "incoming/ is empty")

        // Every output is complete and verifies; results describe the output.
        let checks = parallelMap(jobs.sorted(by: { $0.key < $1.key })) { (job, level) -> [String] in
            let pdf = f.done + "/\(job).pdf"
            guard f.exists(pdf) else { return [] }
            var problems: [String] = []
            do {
                let verify = try f.verify(pdf)
                if verify.status != 0 || !verify.stdout.contains("1 signature(s)") || !verify.stdout.contains("level \(level)") {
                    problems.append("FAIL " + ProcessRunner.describe(verify, "signd verify \(job) (asked \(level))"))
                }
                let result = try f.resultJSON(of: job)
                if result["jobId"] as? String != job { problems.append("FAIL \(job): result.json jobId \(String(describing: result["jobId"]))") }
                if result["documentSha256"] as? String != (try DaemonFixture.sha256(pdf)) {
                    problems.append("FAIL \(job): result.json documentSha256 does not describe done/\(job).pdf")
                }
                if result["level"] as? String != level { problems.append("NOTE \(job): result level \(String(describing: result["level"])) (asked \(level))") }
            } catch {
                problems.append("FAIL \(job): \(error)")
            }
            return problems
        }.flatMap { $0 }
        let verifyFailures = checks.filter { $0.hasPrefix("FAIL") }
        XCTAssertEqual(verifyFailures, [], "outputs that do not verify or do not match their result")
        let resultAnomalies = checks.filter { $0.hasPrefix("NOTE") }

        // The state database agrees.
        let states = try f.sqlite(f.dataDir + "/state.sqlite", "SELECT state || ':' || count(*) FROM job GROUP BY state")
        XCTAssertEqual(states.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "delivered:\(jobs.count)", ProcessRunner.describe(states))

        // Audit: chain intact; no step recorded twice for a job.
        let auditVerify = try f.signd(["audit", "verify", "--data-dir", f.dataDir])
        XCTAssertEqual(auditVerify.status, 0, ProcessRunner.describe(auditVerify, "audit verify"))
        let events = try f.auditEvents()
        var auditGaps: [String] = []
        for job in jobs.keys.sorted() {
            let types = events.filter { $0.jobId == job }.map(\.type)
            for step in ["job.received", "job.authorized", "job.signed", "job.delivered"] {
                let n = types.filter { $0 == step }.count
                XCTAssertLessThanOrEqual(n, 1, "\(job): \(step) recorded \(n) times: \(types)")
                if n == 0 { auditGaps.append("\(job) lacks \(step)") }
            }
            XCTAssertFalse(types.contains("job.failed"), "\(job): \(types)")
        }
        print("kill -9 test: \(kills) kills (\(killsWithWorkLeft) with jobs in progress), \(jobs.count) jobs")
        XCTAssertEqual(auditGaps, [], "every step of every job is audited, also across kill -9")
        if !resultAnomalies.isEmpty { print("NOTE: result.json anomalies after crashes: \(resultAnomalies)") }
    }
}

extension XCTestCase {
    /// Compares a directory listing with the expected names, reporting only the differences.
    func assertSameFiles(_ actual: [String], _ expected: Set<String>, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        let found = Set(actual)
        let missing = expected.subtracting(found).sorted(), unexpected = found.subtracting(expected).sorted()
        XCTAssertTrue(missing.isEmpty && unexpected.isEmpty && actual.count == found.count,
                      "\(message): missing \(missing), unexpected \(unexpected)", file: file, line: line)
    }
}

/// The on-disk state a crash leaves between two steps, built by hand, then a restart: the job
/// must still end exactly once, as docs/spool.md promises.
final class CrashWindowTests: DaemonTestCase {
    static let sampleDigest = "6257b996512bcc17a17676dd73cace89d729e23f1acbdabfd3bcf49951e7eb13"

    /// Twelve kills may interrupt one job more often than the poison-job guard allows (2 by
    /// default): this test is about exactly-once, so the guard is set out of reach.
    static let killLoopConfiguration = #"{"spools":[{"name":"default","maxInterruptions":1000}]}"#

    /// Crash in the claim between the two renames, as an older signd ordered them:
    /// work/<job>/document.pdf exists, the manifest is still in incoming/.
    func testCrashBetweenClaimRenamesStillCompletesTheJob() throws {
        let f = fixture!
        let manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "w1.pdf"), job: "w1")
        try FileManager.default.createDirectory(atPath: f.work + "/w1", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: DaemonFixture.samplePDF, toPath: f.work + "/w1/document.pdf")
        try f.drop(manifest: manifest, as: "w1.json")

        let daemon = try f.startDaemon(configuration: Self.shortTimeoutConfiguration(2))
        let outcome = try f.waitForOutcome(of: "w1", timeout: 15)
        XCTAssertEqual(outcome, .done, "a crash between moving the PDF and the manifest into work/ must not lose the job\n\(f.spoolListing())")
        XCTAssertEqual(f.entries(f.work), [], "nothing stranded in work/")
        XCTAssertEqual(f.stop(daemon), 0)
    }

    /// Crash after both renames, before the state row: recovered from work/.
    func testCrashAfterClaimRenamesBeforeStateRowIsRecovered() throws {
        let f = fixture!
        try placeClaimedWorkDirectory(job: "w2")
        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "w2", timeout: 15), .done, f.spoolListing())
        XCTAssertEqual(f.entries(f.work), [])
        XCTAssertEqual(f.entries(f.archive), ["w2.json", "w2.pdf"])
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.verify(f.done + "/w2.pdf").status, 0)
    }

    /// The same recovered job must still be audited as received (one event per step).
    func testJobRecoveredFromWorkIsAuditedAsReceived() throws {
        let f = fixture!
        try placeClaimedWorkDirectory(job: "w2a")
        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "w2a", timeout: 15), .done, f.spoolListing())
        XCTAssertEqual(f.stop(daemon), 0)
        let types = try f.auditEvents(job: "w2a").map(\.type)
        XCTAssertEqual(types, ["job.received", "job.authorized", "job.signed", "job.delivered"],
                       "a job claimed by recovery has the same audit trail")
    }

    /// Crash after the authorization was consumed, before the state moved to `authorized`: the
    /// restart must not refuse the job's own authorization as a replay.
    func testCrashAfterNonceConsumedBeforeAuthorizedStateCompletesTheJob() throws {
        let f = fixture!
        let manifest = try placeClaimedWorkDirectory(job: "w3")
        let nonce = ((manifest["authorization"] as! [String: Any])["statement"] as! [String: Any])["nonce"] as! String
        // The state row (claimed) and the consumed nonce, as the daemon had written them.
        let sql = f.jobRowSQL("w3", state: "claimed", documentSha256: Self.sampleDigest) + """

            INSERT INTO usedNonce (nonce, deviceId, expiresAt, jobId)
              VALUES ('device:\(f.device):\(nonce)', '\(f.device)', strftime('%Y-%m-%d %H:%M:%f', 'now', '+10 minutes'), 'w3');
            """
        let out = try f.sqlite(f.dataDir + "/state.sqlite", sql)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "sqlite3"))

        let daemon = try f.startDaemon()
        let outcome = try f.waitForOutcome(of: "w3", timeout: 15)
        XCTAssertEqual(f.stop(daemon), 0)
        let precise = try f.auditEvents(job: "w3", type: "job.denied").map { DaemonFixture.details($0)["code"] ?? "?" }
        XCTAssertEqual(outcome, .done, "the job's own consumed authorization was refused after the restart (audit: \(precise))")
    }

    /// Crash in delivery after the inputs were archived, before result.json was written: the
    /// result written on restart must still describe the job (level).
    func testCrashBeforeResultFileWrittenStillWritesCompleteResult() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let job = try f.submit(level: "B-B", job: "w4")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertEqual(f.stop(daemon), 0)
        let original = try f.resultJSON(of: job)
        // Roll back to: signed.pdf published, inputs archived, work/w4/ still there, state `signed`.
        try FileManager.default.removeItem(atPath: f.done + "/w4.result.json")
        try FileManager.default.createDirectory(atPath: f.work + "/w4", withIntermediateDirectories: true)
        let out = try f.sqlite(f.dataDir + "/state.sqlite", "UPDATE job SET state = 'signed', resultPath = NULL WHERE jobId = 'w4'")
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "sqlite3"))

        let restarted = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: job, timeout: 15), .done, f.spoolListing())
        XCTAssertEqual(f.stop(restarted), 0)
        let result = try f.resultJSON(of: job)
        XCTAssertEqual(result["documentSha256"] as? String, original["documentSha256"] as? String)
        XCTAssertEqual(result["level"] as? String, "B-B", "result.json written after the crash lost the level: \(result)")
        XCTAssertEqual(f.entries(f.work), [])
    }

    /// Crash in delivery after result.json and the work directory were handled, before the state
    /// row moved to `delivered` (the order of session-1 signd): no work directory is left for
    /// recovery to find, so the state database alone must lead the restart to finish the job.
    func testCrashAfterWorkDirectoryRemovedBeforeDeliveredStateIsFinished() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let job = try f.submit(level: "B-B", job: "w5")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertEqual(f.stop(daemon), 0)
        let out = try f.sqlite(f.dataDir + "/state.sqlite", "UPDATE job SET state = 'signed', resultPath = NULL WHERE jobId = 'w5'")
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "sqlite3"))

        let restarted = try f.startDaemon()
        let delivered = f.waitUntil(timeout: 15, interval: 0.1) {
            (try? f.sqlite(f.dataDir + "/state.sqlite", "SELECT state FROM job WHERE jobId = 'w5'"))?.stdout
                .trimmingCharacters(in: .whitespacesAndNewlines) == "delivered"
        }
        XCTAssertEqual(f.stop(restarted), 0)
        XCTAssertTrue(delivered, "a signed job whose outputs are in done/ must end as delivered after a restart\n\(f.logs)")
        XCTAssertEqual(try f.auditEvents(job: "w5").map(\.type), ["job.received", "job.authorized", "job.signed", "job.delivered"],
                       "the redone delivery must not be audited twice")
    }

    /// Crash after the state row said `delivered`, before work/<job>/ was removed: the restart
    /// cleans up and records nothing new.
    func testFinishedJobsLeftoverWorkDirectoryIsRemoved() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let job = try f.submit(level: "B-B", job: "w6")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertEqual(f.stop(daemon), 0)
        try Data("leftover".utf8).write(to: URL(fileURLWithPath: f.work + "/w6.signed.pdf"))

        let restarted = try f.startDaemon()
        let cleaned = f.waitUntil(timeout: 15, interval: 0.1) { f.entries(f.work).isEmpty }
        XCTAssertEqual(f.stop(restarted), 0)
        XCTAssertTrue(cleaned, "work/ of a delivered job must be removed on restart: \(f.entries(f.work))")
        XCTAssertEqual(try f.auditEvents(job: "w6").map(\.type), ["job.received", "job.authorized", "job.signed", "job.delivered"])
    }

    /// Crash while failing a job, after its inputs were moved to failed/, before the report and
    /// the state: the restart completes the failure (report written, state failed, work/ gone).
    func testCrashWhileFailingAJobCompletesTheFailure() throws {
        let f = fixture!
        try placeClaimedWorkDirectory(job: "w7")
        try FileManager.default.moveItem(atPath: f.work + "/w7.document.pdf", toPath: f.failed + "/w7.pdf")
        try FileManager.default.moveItem(atPath: f.work + "/w7.manifest.json", toPath: f.failed + "/w7.json")
        let sql = f.jobRowSQL("w7", state: "claimed", documentSha256: Self.sampleDigest, errorCode: "sca.denied")
        let out = try f.sqlite(f.dataDir + "/state.sqlite", sql)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "sqlite3"))

        let daemon = try f.startDaemon()
        let outcome = try f.waitForOutcome(of: "w7", timeout: 15)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .failed(code: "sca.denied"), "the interrupted failure keeps its code\n\(f.spoolListing())")
        XCTAssertEqual(f.entries(f.work), [], "work/ is empty")
        let state = try f.sqlite(f.dataDir + "/state.sqlite", "SELECT state FROM job WHERE jobId = 'w7'")
        XCTAssertEqual(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "failed")
        XCTAssertTrue(f.entries(f.failed).contains("w7.pdf"), "the original stays in failed/")
    }

    /// A job claimed by an older signd (a `work/<job>/` directory) whose id ends like a work file
    /// kind (`old.signed.pdf` is not the signed output of a job `old`): the restart flattens the
    /// directory and finishes that job.
    func testOlderWorkDirectoryIsFlattenedAndFinished() throws {
        let f = fixture!
        let job = "old.signed.pdf"
        let manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "old-input.pdf"), job: job)
        let dir = f.work + "/" + job
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: DaemonFixture.samplePDF, toPath: dir + "/document.pdf")
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: job, timeout: 15), .done, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(f.entries(f.work), [], "the old directory is flattened, then emptied")
        XCTAssertTrue(f.exists(f.archive + "/\(job).pdf"), f.spoolListing())
    }

    /// work/<job>.document.pdf and work/<job>.manifest.json with no state row; the manifest.
    @discardableResult
    func placeClaimedWorkDirectory(job: String) throws -> [String: Any] {
        let f = fixture!
        let manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "\(job).pdf"), job: job)
        try FileManager.default.copyItem(atPath: DaemonFixture.samplePDF, toPath: f.work + "/\(job).document.pdf")
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: f.work + "/\(job).manifest.json"))
        return manifest
    }
}

/// Workers run jobs in parallel: inputs that collide must still end exactly once, nothing lost.
final class ConcurrentIntakeTests: DaemonTestCase {
    /// Two manifests naming one PDF, dropped together: one job signs it, the other waits for a
    /// PDF that no longer comes and fails with `document.missing`; its manifest is kept.
    func testTwoManifestsNamingOnePDFEndOnceEach() throws {
        let f = fixture!
        let config = #"{"spools":[{"name":"default","workers":4,"documentTimeoutSeconds":2}]}"#
        let pdf = try f.samplePDFCopy(named: "shared.pdf")
        var manifests: [String: [String: Any]] = [:]
        for job in ["share-a", "share-b", "share-c"] {
            var m = try f.manifest(pdf: pdf, job: job)
            m["document"] = ["file": "shared.pdf", "sha256": CrashWindowTests.sampleDigest]
            manifests[job] = m
        }
        let daemon = try f.startDaemon(configuration: config)
        try f.drop(file: pdf, as: "shared.pdf")
        for (job, m) in manifests { try f.drop(manifest: m, as: "\(job).json") }
        var outcomes: [String: JobOutcome] = [:]
        for job in manifests.keys { outcomes[job] = try f.waitForOutcome(of: job, timeout: 30) }
        XCTAssertEqual(f.stop(daemon), 0)
        let done = outcomes.filter { $0.value == .done }.map(\.key)
        XCTAssertEqual(done.count, 1, "exactly one job signs the shared PDF: \(outcomes)\n\(f.spoolListing())")
        for (job, outcome) in outcomes where outcome != .done {
            XCTAssertEqual(outcome, .failed(code: "document.missing"), "\(job)\n\(f.spoolListing())")
            XCTAssertTrue(f.exists(f.failed + "/\(job).json"), "the manifest of \(job) is kept in failed/\n\(f.spoolListing())")
        }
        XCTAssertEqual(f.entries(f.work), [], "nothing stranded in work/")
        XCTAssertEqual(f.entries(f.incoming).filter { !$0.hasPrefix(".") }, [], "nothing left in incoming/")
    }
}
