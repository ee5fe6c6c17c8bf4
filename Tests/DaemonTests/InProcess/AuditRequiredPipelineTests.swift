import Daemon
import Foundation
import GRDB
import JobEngine
import Jobs
import StateStore
import XCTest

/// No job step without its audit record (issue 12, item 1): when the audit trail cannot be
/// written, the step waits and is retried; nothing is signed or delivered with a hole in the trail.
final class AuditRequiredPipelineTests: PipelineTestCase {

    /// A second connection to the audit database whose trigger refuses every new event: an
    /// audit database that cannot be written (full disk, damaged file, a lock nobody releases).
    func refuseAuditWrites(_ refuse: Bool) throws {
        let queue = try DatabaseQueue(path: h.dataDir + "/audit.sqlite")
        try queue.write { db in
            if refuse {
                try db.execute(sql: "CREATE TRIGGER test_refuse_events BEFORE INSERT ON event BEGIN SELECT RAISE(ABORT, 'test: the audit trail cannot be written'); END")
            } else {
                try db.execute(sql: "DROP TRIGGER test_refuse_events")
            }
        }
    }

    func testJobWaitsWhileTheAuditTrailCannotBeWrittenAndCompletesWithAFullTrail() async throws {
        try refuseAuditWrites(true)
        _ = try await h.submit("audit-down")
        XCTAssertNil(h.outcome(of: "audit-down"), "nothing delivered or failed while the trail is down: \(h.spoolListing())")
        XCTAssertFalse(h.exists(h.done + "/audit-down.pdf"), "no signed output was published")
        var row = try h.job("audit-down")
        XCTAssertEqual(row.state, .claimed, "the first step (its received record) did not pass")
        XCTAssertEqual(row.errorCode, "audit.unavailable")
        XCTAssertEqual(row.attempts, 1)
        XCTAssertNotNil(row.nextAttemptAt)
        let problem = try XCTUnwrap(h.pipeline.auditHealth.problem, "readiness must say the audit trail cannot be written")
        XCTAssertTrue(problem.contains("audit trail not writable"), problem)

        try refuseAuditWrites(false)
        h.clock.advance(by: 60)
        for id in h.pipeline.dueRetries() { await h.pipeline.process(jobId: id) }
        XCTAssertEqual(h.outcome(of: "audit-down"), .done, h.spoolListing())
        row = try h.job("audit-down")
        XCTAssertEqual(row.state, .delivered)
        XCTAssertNil(h.pipeline.auditHealth.problem, "ready again once a record was written")
        XCTAssertEqual(try h.auditTypes(job: "audit-down"), ["job.received", "job.authorized", "job.signed", "job.delivered"])
    }
}
