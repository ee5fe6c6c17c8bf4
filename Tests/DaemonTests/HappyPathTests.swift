import Audit
import Foundation
import TestSupport
import XCTest

/// A cloud-mode sign job through the running daemon, B-B and B-T: a signed PDF that signd and
/// pyHanko accept, a result file, archived inputs, empty incoming/ and work/, and one audit event
/// per step in an intact chain.
final class HappyPathTests: DaemonTestCase {
    func testBBJobIsSignedDeliveredArchivedAndAudited() throws {
        try runHappyPath(level: "B-B")
    }

    func testBTJobIsSignedDeliveredArchivedAndAudited() throws {
        try runHappyPath(level: "B-T")
    }

    /// The issue lists "timestamped" among the audit steps; a B-T job should record it.
    func testBTJobRecordsTimestampedAuditEvent() throws {
        let daemon = try fixture.startDaemon()
        let job = try fixture.submit(level: "B-T")
        XCTAssertEqual(try fixture.waitForOutcome(of: job), .done, fixture.logs)
        XCTAssertEqual(fixture.stop(daemon), 0)
        let types = try fixture.auditEvents(job: job).map(\.type)
        XCTAssertTrue(types.contains("job.timestamped"),
                      "a B-T job has no job.timestamped audit event (events: \(types)); the issue asks for one per step")
    }

    func runHappyPath(level: String) throws {
        let f = fixture!
        let daemon = try f.startDaemon(listen: "127.0.0.1:0")
        let job = try f.submit(level: level)
        let outcome = try f.waitForOutcome(of: job)
        XCTAssertEqual(outcome, .done, "\(f.spoolListing())\n\(f.logs)")
        guard outcome == .done else { return }

        // Outputs.
        let signed = f.done + "/\(job).pdf"
        XCTAssertEqual(f.entries(f.done), ["\(job).pdf", "\(job).result.json"])
        let result = try f.resultJSON(of: job)
        XCTAssertEqual(result["jobId"] as? String, job)
        XCTAssertEqual(result["status"] as? String, "signed")
        XCTAssertEqual(result["level"] as? String, level)
        XCTAssertEqual(result["document"] as? String, "\(job).pdf")
        XCTAssertEqual(result["documentSha256"] as? String, try DaemonFixture.sha256(signed))
        XCTAssertEqual(result["originalSha256"] as? String, try DaemonFixture.sha256(DaemonFixture.samplePDF))

        // Inputs archived, nothing left behind.
        XCTAssertEqual(f.entries(f.archive), ["\(job).json", "\(job).pdf"])
        XCTAssertEqual(try DaemonFixture.sha256(f.archive + "/\(job).pdf"), try DaemonFixture.sha256(DaemonFixture.samplePDF))
        XCTAssertEqual(f.entries(f.incoming), [])
        XCTAssertEqual(f.entries(f.work), [])
        XCTAssertEqual(f.entries(f.failed), [])

        // signd's verifier, trusting the embedded CA root.
        let verify = try f.verify(signed)
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify, "signd verify"))
        XCTAssertTrue(verify.stdout.contains("1 signature(s)"), verify.stdout)
        XCTAssertTrue(verify.stdout.contains("INTACT, TRUSTED, level \(level)"), verify.stdout)

        // pyHanko, trusting the CA root and the embedded TSA root only.
        let pyhanko = try ProcessRunner.run("python3", ["-m", "pyhanko", "sign", "validate", "--trust-replace", "--trust",
                                                        try f.trustRootsForPyHanko(), signed], cwd: f.root, timeout: 120)
        XCTAssertEqual(pyhanko.status, 0, ProcessRunner.describe(pyhanko, "pyhanko sign validate"))
        XCTAssertTrue(pyhanko.stdout.contains("INTACT:TRUSTED"), pyhanko.stdout)
        if level == "B-T" {
            XCTAssertTrue(pyhanko.stdout.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), pyhanko.stdout)
        } else {
            XCTAssertFalse(pyhanko.stdout.contains("TIMESTAMP_TOKEN"), pyhanko.stdout)
        }

        XCTAssertEqual(f.stop(daemon), 0, "SIGTERM must end the daemon with status 0\n\(f.logs)")

        // Audit: one event per step, in order, chain intact.
        let events = try f.auditEvents(job: job)
        let types = events.map(\.type)
        for step in ["job.received", "job.authorized", "job.signed", "job.delivered"] {
            XCTAssertEqual(types.filter { $0 == step }.count, 1, "\(step) once in \(types)")
        }
        let order = ["job.received", "job.authorized", "job.signed", "job.delivered"].compactMap { types.firstIndex(of: $0) }
        XCTAssertEqual(order, order.sorted(), "steps out of order: \(types)")
        XCTAssertFalse(types.contains("job.failed"), "\(types)")
        for e in events {
            XCTAssertEqual(e.userId, f.user, "\(e.type)")
            XCTAssertEqual(e.deviceId, f.device, "\(e.type)")
        }
        XCTAssertEqual(events.first { $0.type == "job.received" }?.documentSha256, try DaemonFixture.sha256(DaemonFixture.samplePDF))
        XCTAssertNotNil(events.first { $0.type == "job.signed" }?.certificateSerial, "job.signed names the certificate serial")
        let auditVerify = try f.signd(["audit", "verify", "--data-dir", f.dataDir])
        XCTAssertEqual(auditVerify.status, 0, ProcessRunner.describe(auditVerify, "audit verify"))
    }
}
