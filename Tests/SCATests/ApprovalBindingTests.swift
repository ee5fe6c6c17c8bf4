import Crypto
import DeviceSimulation
import Foundation
import Jobs
import SCA
import SigndCore
import StateStore
import TestSupport
import XCTest

/// Issue 11 §2-3: the approval covers everything that ends up in the signature (statement V2:
/// mode and appearance digest; PowerAuth operation data), and failure counting cannot be turned
/// against another user's device. One test per rule; each fails on the code before the change.
final class ApprovalBindingTests: XCTestCase {
    var f: SCAFixture!

    override func setUpWithError() throws {
        f = try SCAFixture()
    }

    func authorize(_ manifest: SignManifest, consume: Bool = true, _ configuration: SCAConfiguration = SCAConfiguration()) async -> AuthorizationOutcome {
        await f.authorizer(configuration).authorize(manifest: manifest, documentSHA256: f.digest, now: f.now, consume: consume)
    }

    /// The appearance of the worked example in docs/sca.md (Unicode on purpose).
    static let exampleAppearance = SignManifest.Appearance(reason: "Loan agreement", location: "Praha \u{2013} Vinohrady", contactInfo: nil,
                                                           name: "Jana Nov\u{E1}kov\u{E1}", fieldName: "Signature1")

    // MARK: Canonical encodings (golden; digests computed with `printf ... | sha256sum`)

    func testCanonicalAppearanceBytesAreGolden() {
        let bytes = ApprovedAppearance.canonicalBytes(Self.exampleAppearance)
        let expected: [UInt8] = Array("SIGND-APPEARANCE-V1\nfield-name=+10:Signature1\nname=+15:Jana Nov".utf8)
            + [0xC3, 0xA1] + Array("kov".utf8) + [0xC3, 0xA1]
            + Array("\nreason=+14:Loan agreement\nlocation=+19:Praha ".utf8) + [0xE2, 0x80, 0x93]
            + Array(" Vinohrady\ncontact-info=-\n".utf8)
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual(bytes.count, 145)
        XCTAssertEqual(ApprovedAppearance.sha256Hex(Self.exampleAppearance), "ea3e327f974b46abfedddaaa012f5779da3c67121588d7c3dfadc848034f6821")
        // No appearance at all (nil, or an object with no field) is one encoding.
        XCTAssertEqual(ApprovedAppearance.sha256Hex(nil), "58fb016b5cffb28d14d619724b136ae8dcc0abe0e67338bb1f142d0e196981c1")
        XCTAssertEqual(ApprovedAppearance.sha256Hex(SignManifest.Appearance()), ApprovedAppearance.sha256Hex(nil))
    }

    func testAbsentAndEmptyAppearanceTextsDiffer() {
        let empty = SignManifest.Appearance(reason: "")
        XCTAssertEqual(String(decoding: ApprovedAppearance.canonicalBytes(empty), as: UTF8.self),
                       "SIGND-APPEARANCE-V1\nfield-name=-\nname=-\nreason=+0:\nlocation=-\ncontact-info=-\n")
        XCTAssertEqual(empty.sha256, "c34174e2240eb52a0b5898e06ec10dc719aa3e7211d9f40d130fa2dd4a54e3e7")
        XCTAssertNotEqual(empty.sha256, ApprovedAppearance.sha256Hex(nil))
        // A text that contains the encoding's own separators cannot pose as two fields.
        let tricky = SignManifest.Appearance(reason: "x\nlocation=+1:y")
        let split = SignManifest.Appearance(reason: "x", location: "y")
        XCTAssertNotEqual(tricky.sha256, split.sha256)
        // Same text, other field: other digest.
        XCTAssertNotEqual(SignManifest.Appearance(reason: "A").sha256, SignManifest.Appearance(location: "A").sha256)
    }

    func testCanonicalStatementV2BytesAreGolden() {
        let statement = AuthorizationStatement(
            jobId: "job-0001", documentSha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", deviceId: "phone-1",
            userId: "user-1", level: .bt, mode: .cloud, appearanceSha256: ApprovedAppearance.sha256Hex(Self.exampleAppearance),
            notBefore: 1_750_000_000, expiresAt: 1_750_000_300, nonce: "q3VxW0Zr1bR8mXy2tKc9PdLs")
        let text = """
            SIGND-SCA-STATEMENT-V2
            job=job-0001
            doc-sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            device=phone-1
            user=user-1
            level=B-T
            mode=cloud
            appearance-sha256=ea3e327f974b46abfedddaaa012f5779da3c67121588d7c3dfadc848034f6821
            not-before=1750000000
            expires=1750000300
            nonce=q3VxW0Zr1bR8mXy2tKc9PdLs

            """
        XCTAssertEqual(statement.canonicalBytes, Array(text.utf8))
        XCTAssertEqual(statement.canonicalBytes.count, 315)
        XCTAssertEqual(Hex.encode(Array(SHA256.hash(data: statement.canonicalBytes))), "9478f58c789a43d692579fe856c79f4b5aa1bbcf605c726d54436e418e9a1bcf")
        XCTAssertEqual(statement.version, 2)
    }

    func testManifestAppearanceDigestIsOverTheMergedAppearance() throws {
        let json = #"{"version":1,"type":"sign","jobId":"job-0001","document":{"file":"a.pdf","sha256":"\#(f.digest)"},"signer":{"userId":"user-1","deviceId":"phone-1"},"mode":"external","level":"B-T","appearance":{"reason":"Loan agreement","name":"Jana Nov\u00e1kov\u00e1"}}"#
        let defaults = ManifestDefaults(appearance: .init(location: "Praha \u{2013} Vinohrady", fieldName: "Signature1"))
        let merged = try ManifestValidator.parse(Data(json.utf8), defaults: defaults)
        XCTAssertEqual(merged.appearanceSha256, "ea3e327f974b46abfedddaaa012f5779da3c67121588d7c3dfadc848034f6821")
        let plain = try ManifestValidator.parse(Data(json.utf8))
        XCTAssertNotEqual(plain.appearanceSha256, merged.appearanceSha256, "spool defaults are part of what is approved")
    }

    // MARK: Statement V2 binds mode and appearance

    func testStatementApprovingTheResolvedAppearanceIsAccepted() async throws {
        let token = try f.token(f.statement(appearance: Self.exampleAppearance))
        guard case .authorized(let grant) = await authorize(f.manifest(token, appearance: Self.exampleAppearance)) else {
            return XCTFail("refused")
        }
        XCTAssertEqual(grant.appearanceSha256, ApprovedAppearance.sha256Hex(Self.exampleAppearance))
    }

    func testValidlySignedStatementWithWrongAppearanceIsRefusedAndCounted() async throws {
        // The user approved "Loan agreement"; the manifest would sign another reason.
        let token = try f.token(f.statement(appearance: .init(reason: "Loan agreement")))
        let d = assertDenied(await authorize(f.manifest(token, appearance: .init(reason: "Loan agreement; I also sell my house"))), .appearanceMismatch)
        XCTAssertEqual(d?.countedAsFailure, true)
        XCTAssertEqual(d?.publicCode, "sca.denied")
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 1)
        // Text added where the user approved none.
        let bare = try f.token(f.statement())
        assertDenied(await authorize(f.manifest(bare, appearance: .init(contactInfo: "attacker@example.com"))), .appearanceMismatch)
        // An empty text where the user approved none.
        assertDenied(await authorize(f.manifest(try f.token(f.statement()), appearance: .init(name: ""))), .appearanceMismatch)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 3)
    }

    func testSpoolDefaultsTheUserDidNotApproveAreRefused() async throws {
        // The manifest leaves the reason out; the spool's default fills it in at decode time.
        var manifest = f.manifest(try f.token(f.statement()))
        let json = try JSONEncoder().encode(manifest)
        manifest = try ManifestValidator.parse(json, defaults: ManifestDefaults(appearance: .init(reason: "Spool default")))
        assertDenied(await authorize(manifest), .appearanceMismatch)
        // Approved over the merged appearance: accepted.
        let approved = f.manifest(try f.token(f.statement(appearance: .init(reason: "Spool default"))))
        let merged = try ManifestValidator.parse(try JSONEncoder().encode(approved), defaults: ManifestDefaults(appearance: .init(reason: "Spool default")))
        assertAuthorized(await authorize(merged))
    }

    func testValidlySignedStatementForAnotherModeIsRefusedAndCounted() async throws {
        let token = try f.token(f.statement(mode: .external))
        let d = assertDenied(await authorize(f.manifest(token, mode: .cloud)), .modeMismatch)
        XCTAssertEqual(d?.countedAsFailure, true)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 1)
    }

    func testStatementV2WithoutModeOrAppearanceIsMalformed() async throws {
        assertDenied(await authorize(f.manifest(try f.token(f.statement(mode: nil)))), .malformed)
        assertDenied(await authorize(f.manifest(try f.token(f.statement(appearanceSha256: "not-a-digest")))), .malformed)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
    }

    func testVersion1StatementIsRefusedWithItsOwnCode() async throws {
        // A correctly signed version-1 statement (it binds neither mode nor appearance).
        let v1 = f.statement(version: nil)
        XCTAssertTrue(String(decoding: v1.canonicalBytes, as: UTF8.self).hasPrefix("SIGND-SCA-STATEMENT-V1\njob="))
        let d = assertDenied(await authorize(f.manifest(try f.token(v1))), .unsupportedStatementVersion)
        XCTAssertEqual(d?.countedAsFailure, false)
        XCTAssertTrue(d?.reason.contains("version-2") ?? false, d?.reason ?? "")
        XCTAssertTrue(d?.publicMessage.contains("version-2") ?? false, "the integrator is told what to do")
        assertDenied(await authorize(f.manifest(try f.token(f.statement(version: 1)))), .unsupportedStatementVersion)
        assertDenied(await authorize(f.manifest(try f.token(f.statement(version: 3)))), .unsupportedStatementVersion)
        // JSON written for version 1 (no "version", "mode", "appearanceSha256") decodes as version 1.
        let json = #"{"jobId":"j1","documentSha256":"\#(f.digest)","deviceId":"phone-1","userId":"user-1","level":"B-T","notBefore":1,"expiresAt":2,"nonce":"q3VxW0Zr1bR8mXy2tKc9PdLs"}"#
        let decoded = try JSONDecoder().decode(AuthorizationStatement.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.effectiveVersion, 1)
    }

    // MARK: Counting cannot be turned against another user's device

    func testGarbageAuthorizationsNamingAnotherUsersDeviceDoNotCount() async throws {
        // Mallory writes manifests naming the victim's device (phone-1 of user-1).
        let forged = { try self.f.token(signer: DeviceSimulator()) }
        var garbage: [Authorization] = []
        for _ in 0..<3 { garbage.append(try forged()) }
        var notBase64 = try f.token()
        notBase64.signature = "%%%"
        garbage.append(notBase64)
        var noStatement = try f.token()
        noStatement.statement = nil
        garbage.append(noStatement)
        garbage.append(try f.token(f.statement(deviceId: "phone-2"), signer: DeviceSimulator()))
        garbage.append(try f.token(f.statement(nonce: "short")))
        for token in garbage {
            let d = await authorize(f.manifest(token)).denial
            XCTAssertNotNil(d)
            XCTAssertEqual(d?.countedAsFailure, false, "\(d?.code.rawValue ?? "?")")
        }
        // ... and as her own user, which the device does not belong to.
        for _ in 0..<10 {
            let d = await authorize(f.manifest(try forged(), userId: "mallory")).denial
            XCTAssertEqual(d?.countedAsFailure, false, "\(d?.code.rawValue ?? "?")")
        }
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
        XCTAssertEqual(try f.deviceRecord().status, .active)
        // The victim can still sign.
        assertAuthorized(await authorize(f.manifest(try f.token())))
    }

    func testOneSignedStatementCountsAtMostOnce() async throws {
        // A statement the device really signed, presented for another job again and again.
        let token = try f.token(f.statement(jobId: "job-other"))
        let first = assertDenied(await authorize(f.manifest(token)), .jobMismatch)
        XCTAssertEqual(first?.countedAsFailure, true)
        for _ in 0..<10 {
            let again = assertDenied(await authorize(f.manifest(token)), .replayed)
            XCTAssertEqual(again?.countedAsFailure, false)
        }
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 1)
        XCTAssertEqual(try f.deviceRecord().status, .active)
    }

    func testExpiredSignedStatementsAreNotCounted() async throws {
        let token = try f.token(f.statement(jobId: "job-other", notBeforeOffset: -3600))
        for _ in 0..<6 { assertDenied(await authorize(f.manifest(token)), .expired) }
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
    }

    func testValidSignatureForADeviceOfAnotherUserCounts() async throws {
        // The device signed it (provably), but the job names a user the device does not belong to.
        let d = assertDenied(await authorize(f.manifest(try f.token(f.statement(userId: "mallory")), userId: "mallory")), .userMismatch)
        XCTAssertEqual(d?.countedAsFailure, true)
    }

    func testRefusedStatementIsNotTakenForAConsumedOne() async throws {
        // A counted refusal uses the nonce up, but must not look like this job's consumed
        // authorization (the daemon resumes such jobs without asking again).
        assertDenied(await authorize(f.manifest(try f.token(f.statement(level: .bb)))), .levelMismatch)
        XCTAssertFalse(try f.database.authorizationConsumed(byJob: f.jobId))
    }

    // MARK: Concurrent failures

    func testConcurrentFailedAuthorizationsNeverExceedMaxFailuresAndBlockOnce() throws {
        let dir = try TemporaryDirectory()
        let db = try StateDatabase(path: dir.path + "/state.sqlite")
        try db.registerDevice(id: "d1", userId: "u1", publicKeyDER: nil, now: f.now)
        let box = ResultBox()
        let now = f.now
        DispatchQueue.concurrentPerform(iterations: 20) { _ in
            box.append(try? db.recordFailedAuthorization(deviceId: "d1", maxFailures: 5, now: now))
        }
        let results = box.results
        XCTAssertEqual(results.count, 20)
        XCTAssertEqual(results.compactMap { $0 }.count, 5, "counted exactly maxFailures times")
        XCTAssertEqual(results.compactMap { $0 }.filter { $0.status == .blocked }.count, 1, "blocked exactly once")
        XCTAssertEqual(try db.device("d1")?.failedAttempts, 5)
        XCTAssertEqual(try db.device("d1")?.status, .blocked)
    }

    func testConcurrentBadApprovalsBlockTheDeviceExactlyOnce() async throws {
        let dir = try TemporaryDirectory()
        f = try SCAFixture(database: try StateDatabase(path: dir.path + "/state.sqlite"))
        // Every request passes the device check before any is counted.
        let barrier = ArrivalBarrier(count: 20)
        let authorizer = DeviceSignatureAuthorizer(database: f.database, verifier: BarrierVerifier(barrier: barrier))
        var manifests: [SignManifest] = []
        for i in 0..<20 { manifests.append(f.manifest(try f.token(f.statement(jobId: "other-\(i)")))) }
        let fixture = f!
        let all = manifests
        let denials = await withTaskGroup(of: AuthorizationDenial?.self) { group in
            for manifest in all {
                group.addTask { await authorizer.authorize(manifest: manifest, documentSHA256: fixture.digest, now: fixture.now, consume: true).denial }
            }
            var out: [AuthorizationDenial?] = []
            for await d in group { out.append(d) }
            return out
        }
        XCTAssertEqual(denials.compactMap { $0 }.count, 20)
        XCTAssertEqual(denials.compactMap { $0 }.filter(\.countedAsFailure).count, 5)
        XCTAssertEqual(denials.compactMap { $0 }.filter(\.blockedDevice).count, 1)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 5)
        XCTAssertEqual(try f.deviceRecord().status, .blocked)
    }

    // MARK: PowerAuth operation data

    func testDefaultOperationDataBindsLevelAndAppearance() throws {
        XCTAssertEqual(OperationDataTemplate.default.text, "A0*T${jobId}*T${documentSha256}*T${level}*T${appearanceSha256}")
        let manifest = f.manifest(Authorization(kind: "powerauth-operation", operationId: "op-1"), level: .bb, appearance: Self.exampleAppearance)
        XCTAssertEqual(OperationDataTemplate.default.render(manifest: manifest, documentSHA256: f.digest),
                       "A0*Tjob-0001*T\(f.digest)*TB-B*Tea3e327f974b46abfedddaaa012f5779da3c67121588d7c3dfadc848034f6821")
        let custom = try OperationDataTemplate("A1*T${jobId}*T${documentSha256}*T${level}*T${mode}*T${appearanceSha256}*T${userId}*T${deviceId}")
        XCTAssertEqual(custom.render(manifest: manifest, documentSHA256: f.digest),
                       "A1*Tjob-0001*T\(f.digest)*TB-B*Tcloud*Tea3e327f974b46abfedddaaa012f5779da3c67121588d7c3dfadc848034f6821*Tuser-1*Tphone-1")
        for unbound in ["A0*T${jobId}*T${documentSha256}", "A0*T${jobId}*T${documentSha256}*T${level}", "A0*T${jobId}*T${documentSha256}*T${appearanceSha256}"] {
            XCTAssertThrowsError(try OperationDataTemplate(unbound), unbound) {
                XCTAssertEqual(($0 as? SCAError)?.code, "sca.invalidTemplate")
            }
        }
    }
}

/// PowerAuth operations: counted only when PowerAuth confirms the approval for the job's user on
/// the job's device; the operation data binds level and appearance.
final class PowerAuthApprovalBindingTests: XCTestCase {
    var f: SCAFixture!
    var powerAuth: FakePowerAuthServer!

    override func setUp() async throws {
        f = try SCAFixture()
        powerAuth = try await FakePowerAuthServer.start()
    }

    override func tearDown() async throws {
        await powerAuth?.stop()
    }

    func operation(data: String, status: String = "APPROVED", userId: String? = nil, activationId: String?) -> [String: Any] {
        var op: [String: Any] = [
            "id": "op-1", "userId": userId ?? f.userId, "data": data, "status": status,
            "timestampCreated": jacksonDate(f.now.addingTimeInterval(-60)),
            "timestampExpires": jacksonDate(f.now.addingTimeInterval(240)),
            "timestampFinalized": jacksonDate(f.now.addingTimeInterval(-20)),
        ]
        if let activationId { op["activationId"] = activationId }
        return op
    }

    func authorize(appearance: SignManifest.Appearance? = nil, mode: SigningMode = .cloud,
                   _ configuration: SCAConfiguration = SCAConfiguration()) async throws -> AuthorizationOutcome {
        let manifest = f.manifest(Authorization(kind: "powerauth-operation", operationId: "op-1"), mode: mode, appearance: appearance)
        return await PowerAuthOperationAuthorizer(database: f.database, configuration: configuration, powerAuth: try powerAuth.client())
            .authorize(manifest: manifest, documentSHA256: f.digest, now: f.now, consume: true)
    }

    var approvedData: String { "A0*T\(f.jobId)*T\(f.digest)*TB-T*T\(ApprovedAppearance.sha256Hex(nil))" }

    func testOperationApprovingTheAppearanceIsAccepted() async throws {
        let data = "A0*T\(f.jobId)*T\(f.digest)*TB-T*T\(ApprovedAppearance.sha256Hex(ApprovalBindingTests.exampleAppearance))"
        powerAuth.setOperation("op-1", operation(data: data, activationId: f.deviceId))
        assertAuthorized(try await authorize(appearance: ApprovalBindingTests.exampleAppearance))
    }

    func testOperationWithoutTheAppearanceIsRefusedAndCountedOnce() async throws {
        // The data the old default template produced: job and document only.
        powerAuth.setOperation("op-1", operation(data: "A0*T\(f.jobId)*T\(f.digest)", activationId: f.deviceId))
        let d = assertDenied(try await authorize(), .operationDataMismatch)
        XCTAssertEqual(d?.countedAsFailure, true)
        assertDenied(try await authorize(), .replayed)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 1)
        XCTAssertEqual(powerAuth.recordedRequests.count, 1, "a replay is refused without asking PowerAuth")
    }

    func testOperationForOtherTextsIsRefused() async throws {
        powerAuth.setOperation("op-1", operation(data: approvedData, activationId: f.deviceId))
        assertDenied(try await authorize(appearance: .init(reason: "added later")), .operationDataMismatch)
    }

    func testOperationsNotConfirmedForTheUsersDeviceDoNotCount() async throws {
        // Approved, but PowerAuth does not say on which activation: not provably this device's.
        powerAuth.setOperation("op-1", operation(data: "wrong", activationId: nil))
        let unbound = assertDenied(try await authorize(), .operationDataMismatch)
        XCTAssertEqual(unbound?.countedAsFailure, false)
        // Approved on another activation.
        powerAuth.setOperation("op-1", operation(data: approvedData, activationId: "phone-of-someone-else"))
        assertDenied(try await authorize(), .wrongDevice)
        // Pending, or another user's.
        powerAuth.setOperation("op-1", operation(data: "wrong", status: "PENDING", activationId: f.deviceId))
        assertDenied(try await authorize(), .operationNotApproved)
        powerAuth.setOperation("op-1", operation(data: "wrong", userId: "user-2", activationId: f.deviceId))
        assertDenied(try await authorize(), .operationUserMismatch)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
    }

    func testTemplateWithoutModeApprovesCloudSigningOnly() async throws {
        powerAuth.setOperation("op-1", operation(data: approvedData, activationId: f.deviceId))
        let d = assertDenied(try await authorize(mode: .external), .modeMismatch)
        XCTAssertEqual(d?.countedAsFailure, false)
        XCTAssertTrue(powerAuth.recordedRequests.isEmpty)
    }
}

/// Lets `count` callers through only once all of them arrived.
actor ArrivalBarrier {
    let count: Int
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    init(count: Int) { self.count = count }

    func arrive() async {
        arrived += 1
        if arrived >= count {
            let all = waiting
            waiting.removeAll()
            for c in all { c.resume() }
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}

/// The local verifier, after every caller reached it (so all of them passed the device check).
struct BarrierVerifier: DeviceSignatureVerifier {
    let barrier: ArrivalBarrier
    func verify(device: DeviceRecord, data: [UInt8], signature: P256.Signing.ECDSASignature, encoded: [UInt8],
                format: ECDSASignatureFormat) async -> DeviceSignatureCheck {
        await barrier.arrive()
        return await LocalDeviceSignatureVerifier().verify(device: device, data: data, signature: signature, encoded: encoded, format: format)
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _results: [DeviceRecord?] = []
    func append(_ r: DeviceRecord?) { lock.withLock { _results.append(r) } }
    var results: [DeviceRecord?] { lock.withLock { _results } }
}
