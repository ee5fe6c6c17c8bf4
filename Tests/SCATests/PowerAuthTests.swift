import Crypto
import DeviceSimulation
import Foundation
import Jobs
import SCA
import StateStore
import TestSupport
import XCTest

/// PowerAuth Server cannot run here: these tests use a loopback server that follows PowerAuth's
/// documented REST JSON (FakePowerAuthServer), through the real HTTP client.
final class PowerAuthTests: XCTestCase {
    var f: SCAFixture!
    var powerAuth: FakePowerAuthServer!

    override func setUp() async throws {
        f = try SCAFixture()
        powerAuth = try await FakePowerAuthServer.start()
        powerAuth.addActivation(f.deviceId, key: f.device.publicKey)
    }

    override func tearDown() async throws {
        await powerAuth?.stop()
    }

    /// The default template for the fixture's job: no appearance texts.
    var expectedData: String { "A0*T\(f.jobId)*T\(f.digest)*TB-T*T\(ApprovedAppearance.sha256Hex(nil))" }

    /// `activationId`: the device PowerAuth reports the operation bound to ("" leaves it out).
    func approvedOperation(_ id: String = "op-1", userId: String? = nil, data: String? = nil, status: String = "APPROVED",
                           expires: Date? = nil, finalized: Date? = nil, activationId: String? = nil) -> [String: Any] {
        var op: [String: Any] = [
            "id": id, "userId": userId ?? f.userId, "applicationId": 1, "operationType": "signd-sign",
            "data": data ?? expectedData, "parameters": [String: String](), "status": status,
            "signatureType": ["POSSESSION_KNOWLEDGE"], "failureCount": 0, "maxFailureCount": 5,
            "timestampCreated": jacksonDate(f.now.addingTimeInterval(-60)),
            "timestampExpires": jacksonDate(expires ?? f.now.addingTimeInterval(240)),
        ]
        if status == "APPROVED" { op["timestampFinalized"] = jacksonDate(finalized ?? f.now.addingTimeInterval(-20)) }
        let activation = activationId ?? f.deviceId
        if !activation.isEmpty { op["activationId"] = activation }
        return op
    }

    func operationAuthorizer(client: PowerAuthClient? = nil) throws -> PowerAuthOperationAuthorizer {
        PowerAuthOperationAuthorizer(database: f.database, powerAuth: try client ?? powerAuth.client())
    }

    func operationManifest(_ id: String = "op-1") -> SignManifest {
        f.manifest(Authorization(kind: "powerauth-operation", operationId: id))
    }

    func authorizeOperation(_ id: String = "op-1", client: PowerAuthClient? = nil, consume: Bool = true) async throws -> AuthorizationOutcome {
        try await operationAuthorizer(client: client).authorize(manifest: operationManifest(id), documentSHA256: f.digest, now: f.now, consume: consume)
    }

    func viaPowerAuthECDSA(client: PowerAuthClient? = nil) throws -> DeviceSignatureAuthorizer {
        DeviceSignatureAuthorizer(database: f.database, verifier: PowerAuthDeviceSignatureVerifier(service: try client ?? powerAuth.client()))
    }

    // MARK: signature/ecdsa/verify

    func testECDSAVerifyValidSignatureIsAccepted() async throws {
        let statement = f.statement()
        let outcome = try await viaPowerAuthECDSA().authorize(manifest: f.manifest(try f.token(statement)), documentSHA256: f.digest, now: f.now, consume: true)
        assertAuthorized(outcome)
        let request = try XCTUnwrap(powerAuth.recordedRequests.last)
        XCTAssertEqual(request.path, FakePowerAuthServer.contextPath + "/rest/v3/signature/ecdsa/verify")
        XCTAssertEqual(request.body["activationId"] as? String, f.deviceId)
        XCTAssertEqual(request.body["data"] as? String, Data(statement.canonicalBytes).base64EncodedString())
        XCTAssertEqual(request.body["signatureFormat"] as? String, "DER")
    }

    func testECDSAVerifyJOSESignatureIsAccepted() async throws {
        let outcome = try await viaPowerAuthECDSA().authorize(manifest: f.manifest(try f.token(format: .jose)), documentSHA256: f.digest, now: f.now, consume: true)
        assertAuthorized(outcome)
        XCTAssertEqual(powerAuth.recordedRequests.last?.body["signatureFormat"] as? String, "JOSE")
    }

    /// Not provably the device's: anyone can present a signature that does not verify.
    func testECDSAVerifyInvalidSignatureIsBadSignatureAndNotCounted() async throws {
        let outcome = try await viaPowerAuthECDSA().authorize(manifest: f.manifest(try f.token(signer: DeviceSimulator())), documentSHA256: f.digest, now: f.now, consume: true)
        let d = assertDenied(outcome, .badSignature)
        XCTAssertEqual(d?.countedAsFailure, false)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
    }

    func testECDSAVerifiedStatementForAnotherJobIsCounted() async throws {
        let outcome = try await viaPowerAuthECDSA().authorize(manifest: f.manifest(try f.token(f.statement(jobId: "job-9"))), documentSHA256: f.digest, now: f.now, consume: true)
        let d = assertDenied(outcome, .jobMismatch)
        XCTAssertEqual(d?.countedAsFailure, true)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 1)
    }

    func testECDSAVerifyErrorEnvelopeIsPowerAuthErrorWithItsCode() async throws {
        powerAuth.forceError(code: "ERR0009", message: "Activation with given activation ID was not found.")
        let outcome = try await viaPowerAuthECDSA().authorize(manifest: f.manifest(try f.token()), documentSHA256: f.digest, now: f.now, consume: true)
        let d = assertDenied(outcome, .powerauthError)
        XCTAssertEqual(d?.upstreamCode, "ERR0009")
        XCTAssertEqual(d?.retryable, false)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
    }

    func testECDSAVerifyUnreachableIsUnavailableAndNotCounted() async throws {
        let client = PowerAuthClient(configuration: PowerAuthClientConfiguration(baseURL: "http://127.0.0.1:\(try closedLoopbackPort())", requestTimeout: 2),
                                     transport: try HTTPPowerAuthTransport())
        let start = Date()
        let outcome = try await viaPowerAuthECDSA(client: client).authorize(manifest: f.manifest(try f.token()), documentSHA256: f.digest, now: f.now, consume: true)
        let d = assertDenied(outcome, .unavailable)
        XCTAssertEqual(d?.retryable, true)
        XCTAssertEqual(d?.publicCode, "sca.unavailable")
        XCTAssertEqual(d?.countedAsFailure, false)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testWrongIntegrationCredentialsArePowerAuthError() async throws {
        let client = try powerAuth.client(credentials: PowerAuthCredentials(user: "integration", password: "wrong"))
        let outcome = try await viaPowerAuthECDSA(client: client).authorize(manifest: f.manifest(try f.token()), documentSHA256: f.digest, now: f.now, consume: true)
        let d = assertDenied(outcome, .powerauthError)
        XCTAssertEqual(d?.upstreamCode, "HTTP_401")
    }

    // MARK: operation/detail

    func testApprovedOperationIsAccepted() async throws {
        powerAuth.setOperation("op-1", approvedOperation())
        guard case .authorized(let grant) = try await authorizeOperation() else { return XCTFail("refused") }
        XCTAssertEqual(grant.kind, "powerauth-operation")
        XCTAssertEqual(grant.reference, "op-1")
        let request = try XCTUnwrap(powerAuth.recordedRequests.last)
        XCTAssertEqual(request.path, FakePowerAuthServer.contextPath + "/rest/v3/operation/detail")
        XCTAssertEqual(request.body["operationId"] as? String, "op-1")
        XCTAssertEqual(request.body["userId"] as? String, f.userId)
    }

    func testOperationTimestampsAsEpochMillisecondsAreRead() async throws {
        var op = approvedOperation()
        op["timestampExpires"] = Int64(f.now.addingTimeInterval(240).timeIntervalSince1970 * 1000)
        op["timestampFinalized"] = Int64(f.now.addingTimeInterval(-20).timeIntervalSince1970 * 1000)
        powerAuth.setOperation("op-1", op)
        assertAuthorized(try await authorizeOperation())
    }

    func testOperationIdIsSingleUse() async throws {
        powerAuth.setOperation("op-1", approvedOperation())
        assertAuthorized(try await authorizeOperation())
        assertDenied(try await authorizeOperation(), .replayed)
    }

    func testOperationCheckDoesNotConsume() async throws {
        powerAuth.setOperation("op-1", approvedOperation())
        assertAuthorized(try await authorizeOperation(consume: false))
        assertAuthorized(try await authorizeOperation(consume: false))
        assertAuthorized(try await authorizeOperation())
        assertDenied(try await authorizeOperation(), .replayed)
    }

    func testOperationErrorEnvelopeIsPowerAuthErrorWithItsCode() async throws {
        // No such operation: PowerAuth answers ERROR ERR0034.
        let d = assertDenied(try await authorizeOperation("op-unknown"), .powerauthError)
        XCTAssertEqual(d?.upstreamCode, "ERR0034")
        XCTAssertEqual(d?.countedAsFailure, false)
    }

    func testPendingOperationIsNotApproved() async throws {
        powerAuth.setOperation("op-1", approvedOperation(status: "PENDING"))
        assertDenied(try await authorizeOperation(), .operationNotApproved)
    }

    func testRejectedOperationIsNotApproved() async throws {
        powerAuth.setOperation("op-1", approvedOperation(status: "REJECTED"))
        let d = assertDenied(try await authorizeOperation(), .operationNotApproved)
        // Not an approval of the device: not counted (PowerAuth counts its own failed attempts).
        XCTAssertEqual(d?.countedAsFailure, false)
    }

    func testOperationOfAnotherUserIsRejected() async throws {
        powerAuth.setOperation("op-1", approvedOperation(userId: "user-2"))
        assertDenied(try await authorizeOperation(), .operationUserMismatch)
    }

    func testOperationWithOtherDataIsRejected() async throws {
        powerAuth.setOperation("op-1", approvedOperation(data: "A0*T\(f.jobId)*T\(sha256Hex("another PDF"))"))
        assertDenied(try await authorizeOperation(), .operationDataMismatch)
    }

    func testOperationForAnotherJobIsRejected() async throws {
        powerAuth.setOperation("op-1", approvedOperation(data: "A0*Tjob-9999*T\(f.digest)"))
        assertDenied(try await authorizeOperation(), .operationDataMismatch)
    }

    func testExpiredOperationIsRejected() async throws {
        powerAuth.setOperation("op-1", approvedOperation(expires: f.now.addingTimeInterval(-60)))
        assertDenied(try await authorizeOperation(), .operationExpired)
    }

    func testOperationApprovedTooLongAgoIsRejected() async throws {
        powerAuth.setOperation("op-1", approvedOperation(expires: f.now.addingTimeInterval(3600), finalized: f.now.addingTimeInterval(-600)))
        assertDenied(try await authorizeOperation(), .operationExpired)
    }

    func testOperationDataTemplateIsConfigurable() async throws {
        let template = try OperationDataTemplate("A1*T${jobId}*T${documentSha256}*T${level}*T${mode}*T${appearanceSha256}")
        powerAuth.setOperation("op-1", approvedOperation(data: "A1*T\(f.jobId)*T\(f.digest)*TB-T*Tcloud*T\(ApprovedAppearance.sha256Hex(nil))"))
        let authorizer = PowerAuthOperationAuthorizer(database: f.database, configuration: SCAConfiguration(operationDataTemplate: template),
                                                      powerAuth: try powerAuth.client())
        assertAuthorized(await authorizer.authorize(manifest: operationManifest(), documentSHA256: f.digest, now: f.now, consume: true))
    }

    func testTemplateWithoutDocumentDigestIsRefused() {
        XCTAssertThrowsError(try OperationDataTemplate("A0*T${jobId}")) { error in
            XCTAssertEqual((error as? SCAError)?.code, "sca.invalidTemplate")
        }
    }

    func testOperationUnreachableIsUnavailableAndNotCounted() async throws {
        let client = PowerAuthClient(configuration: PowerAuthClientConfiguration(baseURL: "http://127.0.0.1:\(try closedLoopbackPort())", requestTimeout: 2),
                                     transport: try HTTPPowerAuthTransport())
        let d = assertDenied(try await authorizeOperation(client: client), .unavailable)
        XCTAssertEqual(d?.retryable, true)
        XCTAssertEqual(d?.countedAsFailure, false)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
        XCTAssertEqual(try f.deviceRecord().status, .active)
    }

    func testOperationOnBlockedDeviceIsRejectedWithoutCallingPowerAuth() async throws {
        powerAuth.setOperation("op-1", approvedOperation())
        try f.registry.block(deviceId: f.deviceId, now: f.now)
        assertDenied(try await authorizeOperation(), .deviceBlocked)
        XCTAssertTrue(powerAuth.recordedRequests.isEmpty)
    }

    func testCompositeDispatchesPowerAuthOperation() async throws {
        powerAuth.setOperation("op-1", approvedOperation())
        let composite = CompositeAuthorizer(database: f.database, powerAuth: try powerAuth.client())
        assertAuthorized(await composite.authorize(manifest: operationManifest(), documentSHA256: f.digest, now: f.now, consume: true))
    }

    // MARK: Configuration from the environment

    func testCredentialsFromEnvironmentAndFiles() throws {
        let dir = try TemporaryDirectory()
        let passwordFile = dir.path + "/pw"
        try "from-file\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let c = try PowerAuthCredentials.fromEnvironment(["SIGND_POWERAUTH_USER": "svc", "SIGND_POWERAUTH_PASSWORD_FILE": passwordFile])
        XCTAssertEqual(c, PowerAuthCredentials(user: "svc", password: "from-file"))
        XCTAssertNil(try PowerAuthCredentials.fromEnvironment([:]))
        XCTAssertThrowsError(try PowerAuthCredentials.fromEnvironment(["SIGND_POWERAUTH_USER": "svc"]))
        let config = try XCTUnwrap(try PowerAuthClientConfiguration.fromEnvironment([
            "SIGND_POWERAUTH_URL": "https://pa.example/powerauth-java-server/rest/", "SIGND_POWERAUTH_TIMEOUT": "3",
        ]))
        XCTAssertEqual(config.baseURL, "https://pa.example/powerauth-java-server")
        XCTAssertEqual(config.requestTimeout, 3)
    }
}
