#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import TestSupport
import XCTest

/// Administrative jobs through the real `signd run` where a process is needed: the EJBCA
/// composition (`ca.kind: ejbca`), and the device leases shared with the CLI (a job waiting 10 s
/// in real time for a command's lease, a command refused for a job's). Everything else about
/// administrative jobs (happy paths, error codes, duplicates, crash windows, concurrent
/// enrollments) runs in-process: InProcess/AdministrativeJobPipelineTests.swift.
final class AdministrativeJobTests: DaemonTestCase {
    /// EJBCA unreachable: `ca.unavailable` is retryable, so the enroll job is scheduled for a
    /// retry (like a TSA outage of a sign job) instead of failing, and nothing is issued.
    func testEnrollWhileEJBCAIsUnreachableIsRetried() throws {
        let f = fixture!
        let chain = f.root + "/ca-chain.pem"
        try Data(try f.signdOK(["ca", "certificate", "--data-dir", f.dataDir]).stdout.utf8).write(to: URL(fileURLWithPath: chain))
        let port = try closedLoopbackPort()
        let configuration = """
            {"ca": {"kind": "ejbca", "ejbca": {"baseURL": "https://127.0.0.1:\(port)/ejbca/ejbca-rest-api",
             "certificateProfileName": "signd", "endEntityProfileName": "signd", "certificateAuthorityName": "IssuingCA",
             "caChainPath": "\(chain)", "timeoutSeconds": 2}}}
            """
        let daemon = try f.startDaemon(configuration: configuration, environment: ["SIGND_EJBCA_ENROLLMENT_PASSWORD": "test-password"])
        try dropAdmin(["type": "enroll", "jobId": "enroll-offline", "userId": f.user, "deviceId": f.device, "key": "cloud",
                       "subject": "CN=Alice,C=CZ", "renew": true])
        let database = f.dataDir + "/state.sqlite"
        var row = ""
        let scheduled = f.waitUntil(timeout: 30, interval: 0.2) {
            row = (try? f.sqlite(database, "SELECT state, attempts, errorCode FROM job WHERE jobId = 'enroll-offline'").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
            return row.hasPrefix("claimed|") && !row.hasPrefix("claimed|0|")
        }
        XCTAssertTrue(scheduled, "the job is waiting for a retry: \(row)\n\(f.spoolListing())\n\(f.logs)")
        XCTAssertTrue(row.hasSuffix("|ca.unavailable"), row)
        XCTAssertNil(f.outcome(of: "enroll-offline"), "a CA outage does not fail the job at once")
        XCTAssertTrue(f.exists(f.work + "/enroll-offline.manifest.json"), "the claimed job waits in work/: \(f.spoolListing())")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try certificates(f.device).count, 1, "nothing was issued")
        XCTAssertEqual(try f.auditEvents(job: "enroll-offline").map(\.type), ["job.received"])
    }

    // MARK: - Device leases

    /// The CLI waits for a job that holds the device too, then refuses with `device.busy`.
    func testCommandRefusesADeviceHeldByAnUnfinishedJob() throws {
        let f = fixture!
        try claimedJobRow("holding-job", device: f.device)
        try sql("""
            INSERT INTO deviceLease (deviceId, holder, kind, acquiredAt, expiresAt) VALUES ('\(f.device)', 'holding-job', 'job', datetime('now'), NULL)
            """)
        let out = try f.signd(["enroll", "--cloud", "--renew", "--user", f.user, "--device", f.device, "--subject", "CN=Busy", "--data-dir", f.dataDir])
        XCTAssertEqual(out.status, 2, ProcessRunner.describe(out, "signd enroll"))
        XCTAssertTrue(out.stderr.contains("[device.busy]") && out.stderr.contains("holding-job"), out.stderr)
        XCTAssertEqual(try certificates(f.device).count, 1, "nothing was issued")
        // Once the job has ended, the command runs.
        try sql("UPDATE job SET state = 'failed' WHERE jobId = 'holding-job'")
        try f.signdOK(["enroll", "--cloud", "--renew", "--user", f.user, "--device", f.device, "--subject", "CN=Busy", "--data-dir", f.dataDir])
        XCTAssertEqual(try certificates(f.device).count, 2)
    }

    // MARK: - Helpers

    func sql(_ statement: String) throws {
        let out = try fixture.sqlite(fixture.dataDir + "/state.sqlite", statement)
        guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "sqlite3")) }
    }

    /// The job row as the claim wrote it, a minute ago (before what the test then does by hand).
    func claimedJobRow(_ job: String, device: String) throws {
        try sql(fixture.jobRowSQL(job, state: "claimed", documentSha256: String(repeating: "0", count: 64), device: device, minutesAgo: 1))
    }

    /// Drops an administrative manifest (version 1 added) as incoming/<jobId>.json.
    func dropAdmin(_ fields: [String: Any]) throws {
        var m = fields
        m["version"] = 1
        try fixture.drop(manifest: m, as: "\(m["jobId"] as? String ?? "x").json")
    }

    func device(_ id: String) throws -> [String: Any] {
        let out = try fixture.signdOK(["device", "list", "--json", "--data-dir", fixture.dataDir])
        guard let list = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]],
              let entry = list.first(where: { $0["deviceId"] as? String == id }) else {
            throw HarnessError("device list has no \(id): \(out.stdout)")
        }
        return entry
    }

    func certificates(_ device: String) throws -> [[String: Any]] {
        let out = try fixture.signdOK(["certificates", "--device", device, "--json", "--data-dir", fixture.dataDir])
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]] ?? []
    }

}
