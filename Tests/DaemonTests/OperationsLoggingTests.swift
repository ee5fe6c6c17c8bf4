#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import TestSupport
import XCTest

/// JSON logs, the audit HTTP endpoint and SIGHUP reloads, through the real `signd run`.
final class OperationsLoggingTests: DaemonTestCase {
    func testEveryLogLineIsJSONAndJobLinesCarryJobAndTrace() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let job = try f.submit(level: "B-B", job: "log-1")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertEqual(f.stop(daemon), 0, f.logs)

        let raw = daemon.log.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertFalse(raw.isEmpty)
        var jobLines: [[String: Any]] = []
        for line in raw {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                XCTFail("not a JSON object: \(line)"); continue
            }
            for key in ["ts", "level", "label", "msg"] { XCTAssertNotNil(object[key], "\(key) missing in \(line)") }
            XCTAssertFalse(line.contains("%PDF"), "document contents in the log: \(line)")
            if object["job"] as? String == job { jobLines.append(object) }
        }
        let messages = jobLines.compactMap { $0["msg"] as? String }
        XCTAssertTrue(messages.contains("job processing"), "\(messages)")
        XCTAssertTrue(messages.contains("job delivered"), "\(messages)")
        for line in jobLines {
            let trace = line["trace"] as? String ?? ""
            XCTAssertEqual(trace.count, 16, "trace id in \(line)")
            XCTAssertTrue(trace.allSatisfy(\.isHexDigit), "trace id in \(line)")
        }
        XCTAssertEqual(Set(jobLines.compactMap { $0["trace"] as? String }).count, 1, "one attempt, one trace: \(jobLines)")
        // Sorted keys: the first key of every line is alphabetically smallest.
        if let first = raw.first, let object = (try? JSONSerialization.jsonObject(with: Data(first.utf8))) as? [String: Any],
           let smallest = object.keys.sorted().first {
            XCTAssertTrue(first.hasPrefix("{\"\(smallest)\""), String(first))
        }
    }

    func testAuditEventsEndpointWithBasicCredentials() throws {
        let f = fixture!
        let daemon = try f.startDaemon(listen: "127.0.0.1:0",
                                       environment: ["SIGND_AUDIT_HTTP_USER": "auditor", "SIGND_AUDIT_HTTP_PASSWORD": "s3cret-pw"])
        let port = try daemon.httpPort()
        let job = try f.submit(level: "B-B", job: "http-audit-1")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertTrue(f.waitUntil(timeout: 10) { ((try? f.auditEvents(job: job, type: "job.delivered")) ?? []).count == 1 })

        let (status, body) = try http(port, "/audit/events?job=\(job)", user: "auditor", password: "s3cret-pw")
        XCTAssertEqual(status, 200, body)
        let events = try JSONDecoder().decode([AuditEventRecord].self, from: Data(body.utf8))
        XCTAssertFalse(events.isEmpty)
        XCTAssertTrue(events.allSatisfy { $0.jobId == job }, body)
        XCTAssertEqual(events.map(\.type), try f.auditEvents(job: job).map(\.type))
        XCTAssertTrue(events.map(\.type).contains("job.delivered"), body)

        let (typed, typedBody) = try http(port, "/audit/events?job=\(job)&type=job.signed", user: "auditor", password: "s3cret-pw")
        XCTAssertEqual(typed, 200)
        XCTAssertEqual(try JSONDecoder().decode([AuditEventRecord].self, from: Data(typedBody.utf8)).map(\.type), ["job.signed"])
        XCTAssertEqual(try http(port, "/audit/events?since=yesterday", user: "auditor", password: "s3cret-pw").0, 400)

        XCTAssertEqual(try http(port, "/audit/events?job=\(job)", user: "auditor", password: "wrong").0, 401)
        XCTAssertEqual(try http(port, "/audit/events?job=\(job)").0, 401)
        XCTAssertFalse(daemon.log.contains("s3cret-pw"), "password in the log")
        XCTAssertEqual(f.stop(daemon), 0, f.logs)
    }

    func testAuditEventsEndpointIsDisabledWithoutCredentials() throws {
        let daemon = try fixture.startDaemon(listen: "127.0.0.1:0")
        let port = try daemon.httpPort()
        XCTAssertEqual(try http(port, "/health/live").0, 200)
        XCTAssertEqual(try http(port, "/audit/events").0, 404)
        XCTAssertEqual(try http(port, "/audit/events", user: "a", password: "b").0, 404)
        XCTAssertEqual(fixture.stop(daemon), 0, fixture.logs)
    }

    func testSIGHUPReloadsValidatesAndRecordsConfiguration() throws {
        let f = fixture!
        let daemon = try f.startDaemon(configuration: Self.shortTimeoutConfiguration(30), listen: "127.0.0.1:0")
        let port = try daemon.httpPort()
        XCTAssertEqual(try f.auditEvents(type: "configuration.loaded").count, 1)

        daemon.send(SIGHUP)
        XCTAssertTrue(f.waitUntil(timeout: 10) { daemon.log.contains("configuration reloaded") }, f.logs)
        XCTAssertTrue(daemon.isRunning)
        XCTAssertEqual(try http(port, "/health/live").0, 200)
        let loaded = try f.auditEvents(type: "configuration.loaded")
        XCTAssertEqual(loaded.count, 2)
        XCTAssertEqual(loaded.last.map(DaemonFixture.details)?["reason"], "SIGHUP")

        // An invalid file: logged, the daemon keeps running on the old configuration, nothing recorded.
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: f.root + "/config-0.json"))
        daemon.send(SIGHUP)
        XCTAssertTrue(f.waitUntil(timeout: 10) { daemon.log.contains("configuration reload failed") }, f.logs)
        XCTAssertEqual(try http(port, "/health/live").0, 200)
        XCTAssertEqual(try f.auditEvents(type: "configuration.loaded").count, 2)
        let job = try f.submit(level: "B-B", job: "after-hup")
        XCTAssertEqual(try f.waitForOutcome(of: job), .done)
        XCTAssertEqual(f.stop(daemon), 0, f.logs)
    }

    /// Per-spool settings take effect on SIGHUP without a restart: a manifest waiting for its
    /// PDF under a 600 s timeout fails with document.missing once the reloaded timeout is 1 s.
    func testSIGHUPAppliesSpoolSettingsLive() throws {
        let f = fixture!
        let daemon = try f.startDaemon(configuration: Self.shortTimeoutConfiguration(600))
        var manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "late.pdf"), job: "hup-live")
        manifest["document"] = ["file": "never-arrives.pdf", "sha256": CrashWindowTests.sampleDigest]
        try f.drop(manifest: manifest, as: "hup-live.json")
        // Under the 600 s timeout it keeps waiting.
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertNil(f.outcome(of: "hup-live"), f.spoolListing())

        try Data(Self.shortTimeoutConfiguration(1).utf8).write(to: URL(fileURLWithPath: f.root + "/config-0.json"))
        daemon.send(SIGHUP)
        XCTAssertTrue(f.waitUntil(timeout: 10) { daemon.log.contains("configuration reloaded") }, f.logs)
        XCTAssertEqual(try f.waitForOutcome(of: "hup-live", timeout: 15), .failed(code: "document.missing"), f.spoolListing())
        let loaded = try f.auditEvents(type: "configuration.loaded")
        XCTAssertEqual(loaded.last.map(DaemonFixture.details)?["appliedSpools"], "default")
        XCTAssertEqual(f.stop(daemon), 0, f.logs)
    }
}
