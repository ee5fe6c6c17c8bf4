import Audit
import Foundation
import TestSupport
import XCTest

/// A cloud-mode sign job through the running daemon (B-T, with the HTTP listener on): a signed
/// PDF that `signd verify` and pyHanko accept, a result file, archived inputs, empty incoming/
/// and work/, one audit event per step in an intact chain (`signd audit verify`), and status 0
/// on SIGTERM. The same job in-process, B-B and B-T, with job.timestamped:
/// InProcess/HappyPathPipelineTests.swift.
final class HappyPathTests: DaemonTestCase {
    func testBTJobIsSignedDeliveredArchivedAndAudited() throws {
        try runHappyPath(level: "B-T")
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
        assertSignedResult(result, job: job, level: level, signedSha256: try DaemonFixture.sha256(signed), originalSha256: try DaemonFixture.sha256(DaemonFixture.samplePDF))

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
        assertDeliveredTrail(try f.auditEvents(job: job), user: f.user, device: f.device, originalSha256: try DaemonFixture.sha256(DaemonFixture.samplePDF))
        let auditVerify = try f.signd(["audit", "verify", "--data-dir", f.dataDir])
        XCTAssertEqual(auditVerify.status, 0, ProcessRunner.describe(auditVerify, "audit verify"))
    }
}
