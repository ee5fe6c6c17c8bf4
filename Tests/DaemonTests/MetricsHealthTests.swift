import Foundation
import TestSupport
import XCTest

/// /metrics and /health/ready of the real `signd run`.
final class MetricsHealthTests: DaemonTestCase {
    /// The value of the Prometheus sample `name{labels...}` in a /metrics body (labels in any order).
    static func sample(_ body: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            let text = String(line)
            guard let space = text.lastIndex(of: " ") else { continue }
            let series = String(text[..<space]), value = Double(text[text.index(after: space)...])
            let seriesName = series.split(separator: "{", maxSplits: 1).first.map(String.init) ?? series
            guard seriesName == name else { continue }
            if labels.allSatisfy({ series.contains("\($0.key)=\"\($0.value)\"") }) { return value }
        }
        return nil
    }

    func testMetricsCountJobsByOutcomeAndTimeEveryStage() throws {
        let f = fixture!
        let daemon = try f.startDaemon(listen: "127.0.0.1:0")
        let port = try daemon.httpPort()
        for n in 0..<2 { XCTAssertEqual(try f.waitForOutcome(of: try f.submit(level: "B-B", job: "m-ok-\(n)")), .done) }
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: f.incoming + "/m-bad.json"))
        XCTAssertTrue(f.waitUntil(timeout: 15) { f.exists(f.failed + "/m-bad.error.json") })
        // The same job id again: a duplicate, rejected.
        _ = try? f.submit(level: "B-B", job: "m-ok-0")
        XCTAssertTrue(f.waitUntil(timeout: 15) { f.exists(f.failed + "/m-ok-0.duplicate.error.json") }, f.spoolListing())

        let (status, body) = try http(port, "/metrics")
        XCTAssertEqual(status, 200)
        let spool = ["spool": "default"]
        XCTAssertEqual(Self.sample(body, "signd_jobs_total", spool.merging(["outcome": "delivered"]) { $1 }), 2, body)
        XCTAssertEqual(Self.sample(body, "signd_jobs_total", spool.merging(["outcome": "rejected"]) { $1 }), 2, body)
        XCTAssertEqual(Self.sample(body, "signd_job_errors_total", spool.merging(["code": "manifest.invalidJSON"]) { $1 }), 1, body)
        XCTAssertEqual(Self.sample(body, "signd_job_errors_total", spool.merging(["code": "job.duplicate"]) { $1 }), 1, body)
        for stage in ["intake", "authorize", "sign", "selfCheck", "deliver", "job"] {
            XCTAssertEqual(Self.sample(body, "signd_stage_duration_seconds_count", spool.merging(["stage": stage]) { $1 }), 2,
                           "stage \(stage) timed once per job\n\(body)")
            let sum = Self.sample(body, "signd_stage_duration_seconds_sum", spool.merging(["stage": stage]) { $1 }) ?? -1
            XCTAssertTrue(sum > 0 && sum < 60, "stage \(stage) sum \(sum)")
            XCTAssertEqual(Self.sample(body, "signd_stage_duration_seconds_bucket", spool.merging(["stage": stage, "le": "+Inf"]) { $1 }), 2)
        }
        XCTAssertEqual(Self.sample(body, "signd_queue_depth", spool), 0, body)
        XCTAssertEqual(Self.sample(body, "signd_jobs_in_flight", spool), 0, body)
        XCTAssertEqual(Self.sample(body, "signd_jobs", ["state": "delivered"]), 2, body)
        XCTAssertNotNil(Self.sample(body, "signd_certificate_nearest_expiry_days"), body)
        XCTAssertEqual(f.stop(daemon), 0, f.logs)
    }

    func testReadyWhenEverythingIsReachable() throws {
        let f = fixture!
        let daemon = try f.startDaemon(listen: "127.0.0.1:0")
        let port = try daemon.httpPort()
        let (status, body) = try http(port, "/health/ready")
        XCTAssertEqual(status, 200, body)
        XCTAssertEqual(body.trimmingCharacters(in: .whitespacesAndNewlines), "ready")
        XCTAssertEqual(f.stop(daemon), 0)
    }

    /// A remote TSA that does not answer makes the daemon not ready (B-T jobs would only be
    /// retried); the probe names it without its path (which may carry credentials).
    func testNotReadyWhenNoTSAIsReachable() throws {
        let f = fixture!
        let port0 = try closedLoopbackPort()
        let daemon = try f.startDaemon(configuration: #"{"tsa":{"urls":["http://127.0.0.1:\#(port0)/secret-token/tsa"]}}"#, listen: "127.0.0.1:0")
        let port = try daemon.httpPort()
        let (status, body) = try http(port, "/health/ready")
        XCTAssertEqual(status, 503, body)
        XCTAssertTrue(body.contains("no TSA reachable (http://127.0.0.1:\(port0))"), body)
        XCTAssertFalse(body.contains("secret-token"), body)
        XCTAssertEqual(try http(port, "/health/live").0, 200, "live even when not ready")
        XCTAssertEqual(f.stop(daemon), 0)
    }

    /// A job step whose audit record cannot be written makes the daemon not ready, saying why,
    /// and counts in the metrics; once records are written again it is ready (issue 12, item 1).
    func testNotReadyWhileTheAuditTrailCannotBeWritten() throws {
        let f = fixture!
        let daemon = try f.startDaemon(listen: "127.0.0.1:0")
        let port = try daemon.httpPort()
        let audit = f.dataDir + "/audit.sqlite"
        let refuse = try f.sqlite(audit, "CREATE TRIGGER test_refuse_events BEFORE INSERT ON event BEGIN SELECT RAISE(ABORT, 'test: audit trail down'); END;")
        XCTAssertEqual(refuse.status, 0, ProcessRunner.describe(refuse, "sqlite3"))
        let job = try f.submit(level: "B-B", job: "audit-ready")
        var notReady = (0, "")
        XCTAssertTrue(f.waitUntil(timeout: 30, interval: 0.1) {
            notReady = (try? self.http(port, "/health/ready")) ?? (0, "")
            return notReady.0 == 503
        }, "never not ready: \(notReady)\n\(f.logs)")
        XCTAssertTrue(notReady.1.contains("audit trail not writable"), notReady.1)
        let (_, metrics) = try http(port, "/metrics")
        XCTAssertGreaterThanOrEqual(Self.sample(metrics, "signd_audit_write_failures_total", ["spool": "default"]) ?? 0, 1, metrics)
        XCTAssertNil(f.outcome(of: job), "nothing delivered while the trail is down")

        let restore = try f.sqlite(audit, "DROP TRIGGER test_refuse_events;")
        XCTAssertEqual(restore.status, 0, ProcessRunner.describe(restore, "sqlite3"))
        XCTAssertEqual(try f.waitForOutcome(of: job, timeout: 60), .done, f.logs)
        XCTAssertEqual(try http(port, "/health/ready").0, 200)
        XCTAssertEqual(f.stop(daemon), 0, f.logs)
    }
}
