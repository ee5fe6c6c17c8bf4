import Crypto
import DeviceSimulation
import Foundation
import Jobs
import SCA
import StateStore
import XCTest

/// Kind device-signature: one test per rule, each asserting its code.
final class DeviceSignatureAuthorizerTests: XCTestCase {
    var f: SCAFixture!

    override func setUpWithError() throws {
        f = try SCAFixture()
    }

    func authorize(_ manifest: SignManifest, digest: String? = nil, at now: Date? = nil, consume: Bool = true,
                   _ configuration: SCAConfiguration = SCAConfiguration()) async -> AuthorizationOutcome {
        await f.authorizer(configuration).authorize(manifest: manifest, documentSHA256: digest ?? f.digest, now: now ?? f.now, consume: consume)
    }

    // MARK: Accepted

    func testFreshCorrectTokenIsAccepted() async throws {
        let statement = f.statement()
        let outcome = await authorize(f.manifest(try f.token(statement)))
        guard case .authorized(let grant) = outcome else { return XCTFail("expected authorized, got \(outcome)") }
        XCTAssertEqual(grant.kind, "device-signature")
        XCTAssertEqual(grant.deviceId, f.deviceId)
        XCTAssertEqual(grant.userId, f.userId)
        XCTAssertEqual(grant.jobId, f.jobId)
        XCTAssertEqual(grant.documentSHA256, f.digest)
        XCTAssertEqual(grant.level, .bt)
        XCTAssertEqual(grant.reference, statement.nonce)
        XCTAssertTrue(grant.consumed)
        XCTAssertTrue(try f.database.isNonceUsed(DeviceSignatureAuthorizer.nonceKey(deviceId: f.deviceId, nonce: statement.nonce), now: f.now))
    }

    func testDEREncodedSignatureIsAccepted() async throws {
        let token = try f.token(format: .der)
        XCTAssertEqual(token.signatureFormat, "DER")
        assertAuthorized(await authorize(f.manifest(token)))
    }

    func testJOSEEncodedSignatureIsAccepted() async throws {
        let token = try f.token(format: .jose)
        XCTAssertEqual(Data(base64Encoded: token.signature!)?.count, 64)
        assertAuthorized(await authorize(f.manifest(token)))
    }

    func testJOSESignatureWithoutDeclaredFormatIsAccepted() async throws {
        var token = try f.token(format: .jose)
        token.signatureFormat = nil
        assertAuthorized(await authorize(f.manifest(token)))
    }

    func testExpiryWithinClockSkewIsAccepted() async throws {
        // Expired 10 s ago; the default tolerance is 30 s.
        let token = try f.token(f.statement(notBeforeOffset: -310, lifetime: 300))
        assertAuthorized(await authorize(f.manifest(token)))
    }

    func testNotBeforeWithinClockSkewIsAccepted() async throws {
        let token = try f.token(f.statement(notBeforeOffset: 20))
        assertAuthorized(await authorize(f.manifest(token)))
    }

    // MARK: Rejected, each with its own code

    func testForgedSignatureIsRejected() async throws {
        // Signed by a key nobody registered, claiming to be phone-1.
        let token = try f.token(signer: DeviceSimulator())
        assertDenied(await authorize(f.manifest(token)), .badSignature)
    }

    func testStatementAlteredAfterSigningIsRejected() async throws {
        var token = try f.token(f.statement(digest: sha256Hex("another PDF")))
        token.statement?.documentSha256 = f.digest // made to look right, but no longer what the device signed
        assertDenied(await authorize(f.manifest(token)), .badSignature)
    }

    func testCorruptedSignatureBytesAreRejected() async throws {
        var token = try f.token(format: .jose)
        var raw = Array(Data(base64Encoded: token.signature!)!)
        raw[40] ^= 0x01
        token.signature = Data(raw).base64EncodedString()
        assertDenied(await authorize(f.manifest(token)), .badSignature)
    }

    func testOtherDevicesStatementIsRejectedAsWrongDevice() async throws {
        // phone-2 of the same user approves, but the job is for phone-1.
        let other = DeviceSimulator()
        try f.registry.register(deviceId: "phone-2", userId: f.userId, publicKey: other.publicKey, now: f.now)
        let token = try f.token(f.statement(deviceId: "phone-2"), signer: other)
        assertDenied(await authorize(f.manifest(token)), .wrongDevice)
    }

    func testOtherDevicesKeyPosingAsThisDeviceIsRejected() async throws {
        let other = DeviceSimulator()
        try f.registry.register(deviceId: "phone-2", userId: f.userId, publicKey: other.publicKey, now: f.now)
        let token = try f.token(f.statement(deviceId: f.deviceId), signer: other)
        assertDenied(await authorize(f.manifest(token)), .badSignature)
    }

    func testWrongDocumentDigestIsRejected() async throws {
        let token = try f.token(f.statement(digest: sha256Hex("another PDF")))
        assertDenied(await authorize(f.manifest(token)), .documentMismatch)
    }

    func testManifestDigestClaimIsNotTrusted() async throws {
        // Statement and manifest agree on a digest, but the PDF signd hashed is a different one.
        let claimed = sha256Hex("the PDF the user saw")
        let token = try f.token(f.statement(digest: claimed))
        let manifest = f.manifest(token, digest: claimed)
        assertDenied(await authorize(manifest, digest: sha256Hex("the PDF in the spool")), .documentMismatch)
    }

    func testWrongJobIdIsRejected() async throws {
        let token = try f.token(f.statement(jobId: "job-0002"))
        assertDenied(await authorize(f.manifest(token)), .jobMismatch)
    }

    func testWrongLevelIsRejected() async throws {
        let token = try f.token(f.statement(level: .bb))
        assertDenied(await authorize(f.manifest(token, level: .bt)), .levelMismatch)
    }

    func testStatementForAnotherUserIsRejected() async throws {
        let token = try f.token(f.statement(userId: "user-2"))
        assertDenied(await authorize(f.manifest(token)), .userMismatch)
    }

    func testDeviceOfAnotherUserIsRejected() async throws {
        let token = try f.token(f.statement(userId: "user-2"))
        assertDenied(await authorize(f.manifest(token, userId: "user-2")), .userMismatch)
    }

    func testExpiredTokenIsRejected() async throws {
        let token = try f.token(f.statement(notBeforeOffset: -400, lifetime: 300))
        assertDenied(await authorize(f.manifest(token)), .expired)
    }

    func testNotYetValidTokenIsRejected() async throws {
        let token = try f.token(f.statement(notBeforeOffset: 120))
        assertDenied(await authorize(f.manifest(token)), .notYetValid)
    }

    func testLifetimeLongerThanMaximumIsRejected() async throws {
        let token = try f.token(f.statement(lifetime: 301))
        assertDenied(await authorize(f.manifest(token)), .lifetimeTooLong)
    }

    /// notBefore and expiresAt at the ends of Int64: a lifetime of 1.8e19 s is refused with a
    /// message, never a trap converting it for that message.
    func testLifetimeAtTheEndsOfInt64IsRefusedWithoutTrapping() async throws {
        var statement = f.statement()
        statement.notBefore = Int64.min + 1
        statement.expiresAt = Int64.max
        let token = try f.token(statement)
        let denial = assertDenied(await authorize(f.manifest(token)), .lifetimeTooLong)
        XCTAssertTrue(denial?.reason.contains("1.8") ?? false, denial?.reason ?? "")
    }

    func testMaximumLifetimeIsConfigurable() async throws {
        let token = try f.token(f.statement(lifetime: 120))
        assertDenied(await authorize(f.manifest(token), SCAConfiguration(maxLifetime: 60)), .lifetimeTooLong)
    }

    func testClockSkewIsConfigurable() async throws {
        // Expired 10 s ago: accepted with the default 30 s, refused with 5 s.
        let token = try f.token(f.statement(notBeforeOffset: -310, lifetime: 300))
        assertDenied(await authorize(f.manifest(token), SCAConfiguration(clockSkew: 5)), .expired)
    }

    func testReplayedTokenIsRejected() async throws {
        let manifest = f.manifest(try f.token())
        assertAuthorized(await authorize(manifest))
        assertDenied(await authorize(manifest, at: f.now.addingTimeInterval(1)), .replayed)
    }

    func testUnknownDeviceIsRejected() async throws {
        let stranger = DeviceSimulator()
        let token = try f.token(f.statement(deviceId: "phone-9"), signer: stranger)
        let denial = assertDenied(await authorize(f.manifest(token, deviceId: "phone-9")), .unknownDevice)
        XCTAssertEqual(denial?.countedAsFailure, false)
    }

    func testBlockedDeviceIsRejected() async throws {
        try f.registry.block(deviceId: f.deviceId, now: f.now)
        assertDenied(await authorize(f.manifest(try f.token())), .deviceBlocked)
    }

    func testRemovedDeviceIsRejected() async throws {
        _ = try f.database.setDeviceStatus(f.deviceId, to: .removed, now: f.now)
        assertDenied(await authorize(f.manifest(try f.token())), .deviceRemoved)
    }

    func testUnblockedDeviceIsAcceptedAgain() async throws {
        try f.registry.block(deviceId: f.deviceId, now: f.now)
        try f.registry.unblock(deviceId: f.deviceId, now: f.now)
        assertAuthorized(await authorize(f.manifest(try f.token())))
    }

    func testDeviceWithoutRegisteredKeyIsRejected() async throws {
        try f.database.registerDevice(id: "cloud-1", userId: f.userId, publicKeyDER: nil, now: f.now)
        let token = try f.token(f.statement(deviceId: "cloud-1"))
        assertDenied(await authorize(f.manifest(token, deviceId: "cloud-1")), .noDeviceKey)
    }

    func testDeviceKeyStoredAsBarePointIsUsable() async throws {
        // CertificateLifecycle may register a device from a CSR key as the raw X9.63 point.
        let phone = DeviceSimulator()
        try f.database.registerDevice(id: "phone-3", userId: f.userId, publicKeyDER: Array(phone.publicKey.x963Representation), now: f.now)
        let token = try f.token(f.statement(deviceId: "phone-3"), signer: phone)
        assertAuthorized(await authorize(f.manifest(token, deviceId: "phone-3")))
    }

    func testSignatureThatIsNotBase64IsMalformed() async throws {
        var token = try f.token()
        token.signature = "not base64 !!"
        assertDenied(await authorize(f.manifest(token)), .malformed)
    }

    func testMissingStatementIsMalformed() async throws {
        var token = try f.token()
        token.statement = nil
        assertDenied(await authorize(f.manifest(token)), .malformed)
    }

    func testShortNonceIsMalformed() async throws {
        let token = try f.token(f.statement(nonce: "short"))
        assertDenied(await authorize(f.manifest(token)), .malformed)
    }

    func testNewlineInStatementFieldIsMalformed() async throws {
        // A field with "\n" could forge another line of the canonical encoding.
        let token = try f.token(f.statement(jobId: "job-0001\nlevel=B-B"))
        assertDenied(await authorize(f.manifest(token, jobId: "job-0001\nlevel=B-B")), .malformed)
    }

    func testJOSEDeclaredWithDERBytesIsMalformed() async throws {
        var token = try f.token(format: .der)
        token.signatureFormat = "JOSE"
        assertDenied(await authorize(f.manifest(token)), .malformed)
    }

    func testUnknownSignatureFormatIsMalformed() async throws {
        var token = try f.token()
        token.signatureFormat = "P1363"
        assertDenied(await authorize(f.manifest(token)), .malformed)
    }

    func testExpiryBeforeNotBeforeIsMalformed() async throws {
        let token = try f.token(f.statement(lifetime: -10))
        assertDenied(await authorize(f.manifest(token)), .malformed)
    }

    func testUnsupportedKindIsRejected() async throws {
        let composite = CompositeAuthorizer(database: f.database)
        let manifest = f.manifest(Authorization(kind: "sms-otp"))
        assertDenied(await composite.authorize(manifest: manifest, documentSHA256: f.digest, now: f.now, consume: true), .unsupportedKind)
    }

    func testPowerAuthOperationWithoutPowerAuthIsUnsupported() async throws {
        let composite = CompositeAuthorizer(database: f.database)
        let manifest = f.manifest(Authorization(kind: "powerauth-operation", operationId: "op-1"))
        assertDenied(await composite.authorize(manifest: manifest, documentSHA256: f.digest, now: f.now, consume: true), .unsupportedKind)
    }

    func testCompositeDispatchesDeviceSignature() async throws {
        let composite = CompositeAuthorizer(database: f.database)
        assertAuthorized(await composite.authorize(manifest: f.manifest(try f.token()), documentSHA256: f.digest, now: f.now, consume: true))
    }

    // MARK: Failures block the device

    func testFifthConsecutiveFailureBlocksTheDevice() async throws {
        // Counted: statements the device provably signed (for another job).
        for attempt in 1...4 {
            let d = assertDenied(await authorize(f.manifest(try f.token(f.statement(jobId: "other")))), .jobMismatch)
            XCTAssertEqual(d?.failedAttempts, attempt)
            XCTAssertEqual(d?.blockedDevice, false)
            XCTAssertEqual(try f.deviceRecord().status, .active)
        }
        let fifth = assertDenied(await authorize(f.manifest(try f.token(f.statement(jobId: "other")))), .jobMismatch)
        XCTAssertEqual(fifth?.failedAttempts, 5)
        XCTAssertEqual(fifth?.blockedDevice, true)
        XCTAssertEqual(try f.deviceRecord().status, .blocked)
        // Now even a correct token is refused.
        assertDenied(await authorize(f.manifest(try f.token())), .deviceBlocked)
    }

    func testSuccessResetsTheFailureCount() async throws {
        for _ in 1...4 { assertDenied(await authorize(f.manifest(try f.token(f.statement(jobId: "other")))), .jobMismatch) }
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 4)
        assertAuthorized(await authorize(f.manifest(try f.token())))
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
        for _ in 1...4 { assertDenied(await authorize(f.manifest(try f.token(f.statement(jobId: "other")))), .jobMismatch) }
        XCTAssertEqual(try f.deviceRecord().status, .active, "4 + success + 4 is not 5 consecutive failures")
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 4)
    }

    func testMaxFailuresIsConfigurable() async throws {
        let config = SCAConfiguration(maxFailures: 2)
        assertDenied(await authorize(f.manifest(try f.token(f.statement(level: .bb))), config), .levelMismatch)
        XCTAssertEqual(try f.deviceRecord().status, .active)
        let second = assertDenied(await authorize(f.manifest(try f.token(f.statement(level: .bb))), config), .levelMismatch)
        XCTAssertEqual(second?.blockedDevice, true)
        XCTAssertEqual(try f.deviceRecord().status, .blocked)
    }

    /// A replay is a copy of an approval that was already used: anyone who saw the manifest can
    /// make copies, so they do not count (the approval itself was counted or succeeded once).
    func testReplaysAreNotCounted() async throws {
        let manifest = f.manifest(try f.token())
        assertAuthorized(await authorize(manifest))
        for _ in 1...6 {
            let d = assertDenied(await authorize(manifest), .replayed)
            XCTAssertEqual(d?.countedAsFailure, false)
        }
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
        XCTAssertEqual(try f.deviceRecord().status, .active)
    }

    func testRefusalsOfBlockedDevicesAreNotCounted() async throws {
        try f.registry.block(deviceId: f.deviceId, now: f.now)
        let d = assertDenied(await authorize(f.manifest(try f.token())), .deviceBlocked)
        XCTAssertEqual(d?.countedAsFailure, false)
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
    }

    // MARK: Check mode (signd authorize check) consumes nothing

    func testCheckDoesNotConsumeTheNonce() async throws {
        let manifest = f.manifest(try f.token())
        for _ in 0..<2 {
            guard case .authorized(let g) = await authorize(manifest, consume: false) else { return XCTFail("check refused a fresh token") }
            XCTAssertFalse(g.consumed)
        }
        assertAuthorized(await authorize(manifest, consume: true))
        assertDenied(await authorize(manifest, consume: true), .replayed)
        // A check after the real use sees the replay too.
        assertDenied(await authorize(manifest, consume: false), .replayed)
    }

    func testCheckDoesNotCountFailures() async throws {
        for _ in 1...6 { assertDenied(await authorize(f.manifest(try f.token(f.statement(jobId: "other"))), consume: false), .jobMismatch) }
        XCTAssertEqual(try f.deviceRecord().failedAttempts, 0)
        XCTAssertEqual(try f.deviceRecord().status, .active)
    }

    // MARK: What the orchestrator sees

    func testPublicMessageDoesNotRevealWhichElementWasWrong() async throws {
        let refusals = [
            await authorize(f.manifest(try f.token(signer: DeviceSimulator()))),
            await authorize(f.manifest(try f.token(f.statement(digest: sha256Hex("x"))))),
            await authorize(f.manifest(try f.token(f.statement(jobId: "job-x")))),
            await authorize(f.manifest(try f.token(f.statement(notBeforeOffset: -900)))),
        ].compactMap(\.denial)
        XCTAssertEqual(Set(refusals.map(\.code)).count, 4, "the audit codes are precise")
        XCTAssertEqual(Set(refusals.map(\.publicCode)), ["sca.denied"])
        XCTAssertEqual(Set(refusals.map(\.publicMessage)).count, 1)
        let message = refusals[0].publicMessage.lowercased()
        for word in ["digest", "document", "job id", "nonce", "expired", "signature does", "level", "key"] {
            XCTAssertFalse(message.contains(word), "public message mentions \(word)")
        }
    }

    func testEveryCodeIsDocumented() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/sca.md").path
        let doc = try String(contentsOfFile: path, encoding: .utf8)
        for code in AuthorizationErrorCode.all {
            XCTAssertTrue(doc.contains("`\(code.rawValue)`"), "\(code) is not in docs/sca.md")
        }
    }
}
