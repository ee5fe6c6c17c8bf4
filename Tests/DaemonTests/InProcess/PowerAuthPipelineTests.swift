import Daemon
import DeviceSimulation
import Foundation
import JobEngine
import Jobs
import SCA
import StateStore
import TestSupport
import XCTest

/// PowerAuth Server as the SCA provider in-process (were PowerAuthDaemonTests through the
/// daemon): the pipeline's authorizer talks to TestSupport's loopback PowerAuth server, the
/// manual clock runs the retries. How `signd run` configures PowerAuth (file, variables,
/// credentials, refusals at start), the audit of the configuration, the logs and the readiness
/// probe stay in PowerAuthDaemonTests.
final class PowerAuthPipelineTests: XCTestCase {
    var h: PipelineHarness!
    var server: FakePowerAuthServer?

    override func tearDown() async throws {
        await server?.stop()
        server = nil
        h = nil
        try await super.tearDown()
    }

    /// `timeout`: a refused connection is retried by the HTTP client until the request's
    /// deadline, so each attempt while PowerAuth is down takes this long.
    static func client(url: String, timeout: TimeInterval = 3) -> PowerAuthClientConfiguration {
        PowerAuthClientConfiguration(baseURL: url, credentials: PowerAuthCredentials(user: FakePowerAuthServer.user, password: FakePowerAuthServer.password),
                                     requestTimeout: timeout)
    }

    /// PowerAuth down (connection refused): `sca.unavailable` is retryable, so the job waits in
    /// work/ for a retry instead of failing; once PowerAuth answers (on the configured port), a
    /// retry signs and delivers it. Retries: PipelineConfiguration (5, backoff 2 s, 4 s, 8 s, ...).
    func testPowerAuthDownIsRetriedAndSignedWhenItIsBack() async throws {
        let port = try closedLoopbackPort()
        h = try await PipelineHarness.make(powerAuth: Self.client(url: "http://127.0.0.1:\(port)" + FakePowerAuthServer.contextPath, timeout: 1))
        let pdf = try h.samplePDFCopy(named: "pa-down.pdf")
        let typed = try h.manifest(pdf: pdf, job: "pa-down")
        var manifest = try PipelineHarness.object(typed)
        manifest["authorization"] = ["kind": "powerauth-operation", "operationId": "op-down"]
        let data = OperationDataTemplate.default.render(manifest: typed, documentSHA256: typed.document.sha256)
        try h.drop(file: pdf, as: "pa-down.pdf")
        try h.drop(object: manifest, as: "pa-down.json")
        let intake = await h.intake("pa-down.json")
        XCTAssertEqual(intake, .processed(jobId: "pa-down"))

        let row = try h.job("pa-down")
        XCTAssertEqual(row.state, .claimed, "the job is waiting for a retry\n\(h.spoolListing())")
        XCTAssertGreaterThan(row.attempts, 0, "the job is waiting for a retry")
        XCTAssertEqual(row.errorCode, "sca.unavailable")
        XCTAssertNil(h.outcome(of: "pa-down"), "a PowerAuth outage does not fail the job at once: \(h.spoolListing())")
        XCTAssertTrue(h.exists(h.layout.workFiles("pa-down").manifest), "the claimed job waits in work/: \(h.spoolListing())")
        await h.advance(by: 2)
        XCTAssertNil(h.outcome(of: "pa-down"), "still down: still waiting\n\(h.spoolListing())")

        // PowerAuth is back, on the port signd was configured with.
        let server = try await FakePowerAuthServer.start(port: port)
        self.server = server
        server.setOperation("op-down", FakePowerAuthServer.approvedOperation(id: "op-down", userId: h.user, data: data, now: h.clock.now))
        for _ in 0..<6 where h.outcome(of: "pa-down") == nil { await h.advance(by: 16) }
        XCTAssertEqual(h.outcome(of: "pa-down"), .done, h.spoolListing())
        if h.outcome(of: "pa-down") == .done { try await h.assertVerifies(h.done + "/pa-down.pdf", level: "B-B") }
        let denied = try h.auditCodes(job: "pa-down", type: "job.denied")
        XCTAssertFalse(denied.isEmpty, "the refused attempt is in the audit")
        XCTAssertTrue(denied.allSatisfy { $0 == "sca.unavailable" }, "\(denied)")
    }

    /// `sca.powerauth.verifyDeviceSignatures`: a device-signature job's statement is verified by
    /// PowerAuth `signature/ecdsa/verify` (activation id = device id), and the job is signed.
    func testDeviceSignatureVerifiedThroughPowerAuth() async throws {
        let server = try await FakePowerAuthServer.start()
        self.server = server
        var sca = SCAConfiguration()
        sca.verifyDeviceSignaturesWithPowerAuth = true
        h = try await PipelineHarness.make(sca: sca, powerAuth: Self.client(url: server.baseURL))
        server.addActivation(h.deviceId, key: h.device.publicKey)
        try await h.submit("pa-device")
        XCTAssertEqual(h.outcome(of: "pa-device"), .done, h.spoolListing())
        let verifies = server.recordedRequests.filter { $0.path == FakePowerAuthServer.contextPath + "/rest/v3/signature/ecdsa/verify" }
        XCTAssertEqual(verifies.count, 1, "PowerAuth verified the device signature: \(server.recordedRequests.map(\.path))")
        XCTAssertEqual(verifies.first?.body["activationId"] as? String, h.deviceId)
    }
}
