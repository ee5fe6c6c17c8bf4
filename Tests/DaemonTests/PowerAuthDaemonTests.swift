#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import Jobs
import SCA
import TestSupport
import XCTest

/// `signd run` with PowerAuth Server as the SCA provider (docs/sca.md, docs/configuration.md
/// `sca.powerauth`), end to end: the real binary, a spool, and the loopback PowerAuth server of
/// TestSupport that follows PowerAuth's REST JSON. PowerAuth Server itself cannot run here.
/// The outage retried and device signatures verified through PowerAuth run in-process
/// (InProcess/PowerAuthPipelineTests.swift); here what needs `signd run`: configuration from the
/// file and the variables, credentials, the audit of the configuration, logs, readiness.
final class PowerAuthDaemonTests: DaemonTestCase {
    var powerAuth: FakePowerAuthServer?

    override func tearDown() async throws {
        await powerAuth?.stop()
        powerAuth = nil
        try await super.tearDown()
    }

    /// Credentials as the documented variables give them: the user inline, the password from a
    /// file (`SIGND_POWERAUTH_PASSWORD_FILE`).
    func credentialsEnvironment() throws -> [String: String] {
        let path = fixture.root + "/powerauth-password"
        try Data((FakePowerAuthServer.password + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return ["SIGND_POWERAUTH_USER": FakePowerAuthServer.user, "SIGND_POWERAUTH_PASSWORD_FILE": path]
    }

    static func configuration(url: String, extra: String = "") -> String {
        #"{"sca": {"powerauth": {"url": "\#(url)", "timeoutSeconds": 3\#(extra)}}}"#
    }

    /// A manifest for a copy of the sample PDF named `<job>.pdf` whose authorization is the
    /// PowerAuth operation `operationId`; the PDF's path.
    func powerAuthJob(_ job: String, operationId: String, level: String = "B-B") throws -> (manifest: [String: Any], pdf: String) {
        let pdf = try fixture.samplePDFCopy(named: "\(job).pdf")
        var manifest = try fixture.manifest(pdf: pdf, job: job, level: level)
        manifest["authorization"] = ["kind": "powerauth-operation", "operationId": operationId]
        return (manifest, pdf)
    }

    /// The operation data signd expects for this manifest: the SCA module's default template
    /// rendered for the job, so this test follows the template when its default changes.
    /// `documentSHA256` overrides the document the data names.
    func operationData(for manifestObject: [String: Any], documentSHA256: String? = nil) throws -> String {
        let manifest = try ManifestValidator.parse(try JSONSerialization.data(withJSONObject: manifestObject))
        return OperationDataTemplate.default.render(manifest: manifest, documentSHA256: documentSHA256 ?? manifest.document.sha256)
    }

    func drop(_ job: (manifest: [String: Any], pdf: String), as name: String) throws {
        try fixture.drop(file: job.pdf, as: "\(name).pdf")
        try fixture.drop(manifest: job.manifest, as: "\(name).json")
    }

    /// Polls the spool without blocking a thread of the concurrency pool (the loopback server
    /// answers on it).
    func outcome(of job: String, timeout: TimeInterval = 60) async throws -> JobOutcome {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let o = fixture.outcome(of: job) { return o }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw HarnessError("job \(job) has no result after \(Int(timeout)) s\n\(fixture.spoolListing())\n\(fixture.logs)")
    }

    func detailRequests(_ server: FakePowerAuthServer) -> [[String: Any]] {
        server.recordedRequests.filter { $0.path == FakePowerAuthServer.contextPath + "/rest/v3/operation/detail" }.map(\.body)
    }

    // MARK: - powerauth-operation

    /// An operation APPROVED in PowerAuth whose data binds this job and this document: signed,
    /// delivered, valid for signd verify, and the audit names the operation.
    /// (Before the daemon built the PowerAuth client this job failed `sca.denied`, audit
    /// `sca.unsupportedKind`.)
    func testApprovedOperationJobIsSignedAndDelivered() async throws {
        let f = fixture!
        let server = try await FakePowerAuthServer.start()
        powerAuth = server
        let job = try powerAuthJob("pa-approved", operationId: "op-approved-1")
        server.setOperation("op-approved-1", FakePowerAuthServer.approvedOperation(id: "op-approved-1", userId: f.user,
                                                                                    data: try operationData(for: job.manifest)))
        let daemon = try f.startDaemon(configuration: Self.configuration(url: server.baseURL), environment: try credentialsEnvironment())
        try drop(job, as: "pa-approved")

        let outcome = try await outcome(of: "pa-approved")
        XCTAssertEqual(outcome, .done, "\(f.spoolListing())\n\(f.logs)")
        guard outcome == .done else { return }
        let signed = f.done + "/pa-approved.pdf"
        let verify = try f.verify(signed)
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify, "signd verify"))
        XCTAssertTrue(verify.stdout.contains("INTACT, TRUSTED, level B-B"), verify.stdout)
        XCTAssertEqual(try f.resultJSON(of: "pa-approved")["originalSha256"] as? String, try DaemonFixture.sha256(job.pdf))

        // PowerAuth was asked for this operation of this user, with the integration credentials.
        let requests = detailRequests(server)
        XCTAssertEqual(requests.count, 1, "\(server.recordedRequests.map(\.path))")
        XCTAssertEqual(requests.first?["operationId"] as? String, "op-approved-1")
        XCTAssertEqual(requests.first?["userId"] as? String, f.user)
        XCTAssertEqual(f.stop(daemon), 0)

        let authorized = try f.auditEvents(job: "pa-approved", type: "job.authorized")
        XCTAssertEqual(authorized.count, 1)
        if let event = authorized.first {
            XCTAssertEqual(DaemonFixture.details(event)["kind"], "powerauth-operation")
            XCTAssertEqual(DaemonFixture.details(event)["reference"], "op-approved-1")
        }
        let loaded = try f.auditEvents(type: "configuration.loaded").map { DaemonFixture.details($0)["powerauth"] }
        XCTAssertEqual(loaded.last ?? nil, server.baseURL, "the audit records which PowerAuth the daemon used")
        XCTAssertFalse(f.logs.contains(FakePowerAuthServer.password), "the integration password must never be logged\n\(f.logs)")
    }

    /// The operation was approved, but its data names another document: refused into failed/
    /// with `sca.denied` (not retryable), audit `sca.operationDataMismatch`, nothing signed.
    /// Configured by the documented variables alone, without a `sca.powerauth` section.
    func testOperationBindingAnotherDocumentIsRefused() async throws {
        let f = fixture!
        let server = try await FakePowerAuthServer.start()
        powerAuth = server
        let job = try powerAuthJob("pa-other-doc", operationId: "op-other-doc")
        let otherDocument = String(repeating: "ab", count: 32)
        server.setOperation("op-other-doc", FakePowerAuthServer.approvedOperation(
            id: "op-other-doc", userId: f.user, data: try operationData(for: job.manifest, documentSHA256: otherDocument)))
        var environment = try credentialsEnvironment()
        environment["SIGND_POWERAUTH_URL"] = server.baseURL
        environment["SIGND_POWERAUTH_TIMEOUT"] = "3"
        let daemon = try f.startDaemon(environment: environment)
        try drop(job, as: "pa-other-doc")

        let outcome = try await outcome(of: "pa-other-doc")
        XCTAssertEqual(outcome, .failed(code: "sca.denied"), "\(f.spoolListing())\n\(f.logs)")
        let report = try f.errorReport(f.failed + "/pa-other-doc.error.json")
        XCTAssertEqual(report["retryable"] as? Bool, false, "\(report)")
        XCTAssertFalse(f.exists(f.done + "/pa-other-doc.pdf"), "nothing is delivered")
        XCTAssertEqual(detailRequests(server).count, 1, "PowerAuth was asked once")
        XCTAssertEqual(f.stop(daemon), 0)

        let denied = try f.auditEvents(job: "pa-other-doc", type: "job.denied")
        XCTAssertEqual(denied.map { DaemonFixture.details($0)["code"] }, ["sca.operationDataMismatch"], "\(denied.map(\.details))")
        XCTAssertTrue(try f.auditEvents(job: "pa-other-doc", type: "job.signed").isEmpty)
    }

    /// `SIGND_POWERAUTH_URL` wins over `sca.powerauth.url` (the file points at a closed port);
    /// the file's other keys still apply.
    func testEnvironmentURLWinsOverTheFile() async throws {
        let f = fixture!
        let server = try await FakePowerAuthServer.start()
        powerAuth = server
        let job = try powerAuthJob("pa-env-wins", operationId: "op-env-wins")
        server.setOperation("op-env-wins", FakePowerAuthServer.approvedOperation(id: "op-env-wins", userId: f.user,
                                                                                  data: try operationData(for: job.manifest)))
        var environment = try credentialsEnvironment()
        environment["SIGND_POWERAUTH_URL"] = server.baseURL
        let daemon = try f.startDaemon(configuration: Self.configuration(url: "http://127.0.0.1:\(try closedLoopbackPort())/pa"),
                                       environment: environment)
        try drop(job, as: "pa-env-wins")
        let outcome = try await outcome(of: "pa-env-wins")
        XCTAssertEqual(outcome, .done, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(detailRequests(server).count, 1)
        XCTAssertEqual(f.stop(daemon), 0)
    }

    // MARK: - readiness

    /// /health/ready reports PowerAuth by a TCP connect (cached 5 s): ready while the loopback
    /// PowerAuth listens, 503 naming it (scheme, host and port only) once it is gone.
    func testReadinessReportsPowerAuthReachability() async throws {
        let f = fixture!
        let server = try await FakePowerAuthServer.start()
        powerAuth = server
        let daemon = try f.startDaemon(configuration: Self.configuration(url: server.baseURL), listen: "127.0.0.1:0",
                                       environment: try credentialsEnvironment())
        let port = try daemon.httpPort()
        let (ready, readyBody) = try http(port, "/health/ready")
        XCTAssertEqual(ready, 200, readyBody)

        await server.stop()
        powerAuth = nil
        try await Task.sleep(nanoseconds: 5_500_000_000)  // past the probe's cache
        let (status, body) = try http(port, "/health/ready")
        XCTAssertEqual(status, 503, body)
        XCTAssertTrue(body.contains("PowerAuth http://127.0.0.1:\(server.server.port) unreachable"), body)
        XCTAssertFalse(body.contains(FakePowerAuthServer.contextPath), "the probe names scheme, host and port only: \(body)")
        XCTAssertEqual(f.stop(daemon), 0)
    }

    // MARK: - configuration refused at start

    /// Runs `signd run` with `configuration`, expecting it to refuse to start: exit status and log.
    func refusedStart(_ configuration: String, environment: [String: String] = [:]) throws -> (status: Int32?, log: String) {
        let daemon = try fixture.startDaemon(configuration: configuration, waitUntilReady: false, environment: environment)
        let status = daemon.waitForExit(timeout: 30)
        return (status, daemon.log)
    }

    func testPasswordInConfigurationFileIsRefused() throws {
        let (status, log) = try refusedStart(#"{"sca": {"powerauth": {"url": "http://127.0.0.1:9/pa", "password": "hunter2-secret"}}}"#)
        XCTAssertEqual(status, 2, log)
        XCTAssertTrue(log.contains("config.secretInFile"), log)
        XCTAssertTrue(log.contains("SIGND_POWERAUTH_PASSWORD"), "the message says to use the environment: \(log)")
        XCTAssertFalse(log.contains("hunter2-secret"), "the secret is not echoed: \(log)")
    }

    func testCredentialsInURLAreRefusedAndNotEchoed() throws {
        let (status, log) = try refusedStart(#"{"sca": {"powerauth": {"url": "https://integration:hunter2-secret@pa.example/pa"}}}"#)
        XCTAssertEqual(status, 2, log)
        XCTAssertTrue(log.contains("config.secretInFile"), log)
        XCTAssertFalse(log.contains("hunter2-secret"), "the secret is not echoed: \(log)")

        let fromEnvironment = try refusedStart("{}", environment: ["SIGND_POWERAUTH_URL": "https://integration:hunter2-secret@pa.example/pa"])
        XCTAssertEqual(fromEnvironment.status, 2, fromEnvironment.log)
        XCTAssertTrue(fromEnvironment.log.contains("SIGND_POWERAUTH_USER"), fromEnvironment.log)
        XCTAssertFalse(fromEnvironment.log.contains("hunter2-secret"), "the secret is not echoed: \(fromEnvironment.log)")
    }

    func testInvalidOperationDataTemplateStopsTheStart() throws {
        let template = "A0*T${jobId}*T${documentSha256}*T${colour}"
        let (status, log) = try refusedStart(Self.configuration(url: "http://127.0.0.1:9/pa", extra: #", "operationDataTemplate": "\#(template)""#))
        XCTAssertEqual(status, 2, log)
        XCTAssertTrue(log.contains("sca.invalidTemplate"), log)
        XCTAssertTrue(log.contains("sca.powerauth.operationDataTemplate"), log)
        XCTAssertTrue(log.contains("${colour}"), "the template's own message: \(log)")
    }
}
