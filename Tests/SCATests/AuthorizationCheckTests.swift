import DeviceSimulation
import Foundation
import Jobs
import SCA
import StateStore
import TestSupport
import XCTest

/// `signd authorize check` logic: reading a manifest whose authorization is broken, and the
/// command end to end (when the commands are registered in the signd binary).
final class AuthorizationCheckTests: XCTestCase {
    var f: SCAFixture!

    override func setUpWithError() throws {
        f = try SCAFixture()
    }

    func json(_ manifest: SignManifest) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(manifest)) as? [String: Any])
    }

    func check(_ object: [String: Any]) async throws -> AuthorizationOutcome {
        let read = try AuthorizationCheck.read(try JSONSerialization.data(withJSONObject: object))
        return await AuthorizationCheck.check(read, documentSHA256: f.digest, authorizer: CompositeAuthorizer(database: f.database), now: f.now)
    }

    func testValidManifestIsAuthorizedWithoutConsuming() async throws {
        let statement = f.statement()
        let object = try json(f.manifest(try f.token(statement)))
        assertAuthorized(try await check(object))
        assertAuthorized(try await check(object))
        XCTAssertFalse(try f.database.isNonceUsed(DeviceSignatureAuthorizer.nonceKey(deviceId: f.deviceId, nonce: statement.nonce), now: f.now))
    }

    func testUndecodableAuthorizationIsMalformed() async throws {
        var object = try json(f.manifest(try f.token()))
        var authorization = try XCTUnwrap(object["authorization"] as? [String: Any])
        var statement = try XCTUnwrap(authorization["statement"] as? [String: Any])
        statement["level"] = "B-LTA"
        authorization["statement"] = statement
        object["authorization"] = authorization
        assertDenied(try await check(object), .malformed)
    }

    func testAuthorizationWithBadFieldsIsMalformed() async throws {
        var object = try json(f.manifest(try f.token()))
        var authorization = try XCTUnwrap(object["authorization"] as? [String: Any])
        authorization["signature"] = "%%%"
        object["authorization"] = authorization
        assertDenied(try await check(object), .malformed)
    }

    func testCloudJobWithoutAuthorizationIsMalformed() async throws {
        var object = try json(f.manifest(try f.token()))
        object.removeValue(forKey: "authorization")
        assertDenied(try await check(object), .malformed)
    }

    func testUnsupportedKindIsReportedAsSuch() async throws {
        var object = try json(f.manifest(try f.token()))
        object["authorization"] = ["kind": "sms-otp"]
        assertDenied(try await check(object), .unsupportedKind)
    }

    func testOtherManifestProblemsStayManifestErrors() throws {
        var object = try json(f.manifest(try f.token()))
        object["version"] = 2
        XCTAssertThrowsError(try AuthorizationCheck.read(try JSONSerialization.data(withJSONObject: object))) {
            XCTAssertEqual(($0 as? ManifestError)?.code, "manifest.unsupportedVersion")
        }
    }

    // MARK: End to end through the signd binary

    func signd(_ args: [String]) throws -> ProcessOutput {
        try ProcessRunner.run(PackagePaths.signdBinary, args, environment: ["SIGND_POWERAUTH_URL": ""], timeout: 120)
    }

    func skipUnlessCommandsRegistered() throws {
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.signdBinary) else {
            throw XCTSkip("no signd binary at \(PackagePaths.signdBinary); run swift build first")
        }
        let help = try signd(["device-sim", "--help"])
        try XCTSkipUnless(help.status == 0, "signd device-sim is not registered in this build")
    }

    func testCLIDeviceSimulatorRegisterAndCheck() throws {
        try skipUnlessCommandsRegistered()
        let dir = try TemporaryDirectory()
        let data = dir.path + "/var", phone = dir.path + "/phone", spool = dir.path + "/in"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        try Data("%PDF-1.7\n% e2e\n%%EOF\n".utf8).write(to: URL(fileURLWithPath: spool + "/contract.pdf"))

        let created = try signd(["device-sim", "create", "--dir", phone])
        XCTAssertEqual(created.status, 0, created.stderr)
        let publicKey = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: publicKey))

        let registered = try signd(["device", "register", "--data-dir", data, "--device", "phone-1", "--user", "user-1", "--public-key", publicKey])
        XCTAssertEqual(registered.status, 0, registered.stderr)

        let csr = try signd(["device-sim", "csr", "--dir", phone, "--subject", "CN=Jana Novakova,serialNumber=PNOCZ-1,C=CZ"])
        XCTAssertEqual(csr.status, 0, csr.stderr)
        XCTAssertTrue(csr.stdout.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----"))

        let manifest = try signd(["device-sim", "manifest", "--dir", phone, "--pdf", spool + "/contract.pdf", "--job", "job-1",
                                  "--user", "user-1", "--device", "phone-1", "--level", "B-T"])
        XCTAssertEqual(manifest.status, 0, manifest.stderr)
        try Data(manifest.stdout.utf8).write(to: URL(fileURLWithPath: spool + "/job-1.json"))

        for _ in 0..<2 {
            let checked = try signd(["authorize", "check", "--data-dir", data, spool + "/job-1.json"])
            XCTAssertEqual(checked.status, 0, checked.stderr)
            XCTAssertEqual(checked.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "authorized")
        }

        // The PDF changes after approval: refused with the precise code (exit 1).
        try Data("%PDF-1.7\n% changed\n%%EOF\n".utf8).write(to: URL(fileURLWithPath: spool + "/contract.pdf"))
        let changed = try signd(["authorize", "check", "--data-dir", data, spool + "/job-1.json"])
        XCTAssertEqual(changed.status, 1)
        XCTAssertEqual(changed.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "sca.documentMismatch")

        let blocked = try signd(["device", "block", "--data-dir", data, "--device", "phone-1"])
        XCTAssertEqual(blocked.status, 0, blocked.stderr)
        let list = try signd(["device", "list", "--data-dir", data, "--json"])
        XCTAssertEqual(list.status, 0, list.stderr)
        let devices = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(devices.first?["status"] as? String, "BLOCKED")
    }

    func testCLISignDTBS() throws {
        try skipUnlessCommandsRegistered()
        let dir = try TemporaryDirectory()
        let phone = dir.path + "/phone"
        XCTAssertEqual(try signd(["device-sim", "create", "--dir", phone]).status, 0)
        let pending = dir.path + "/job-1.dtbs.json"
        try JSONSerialization.data(withJSONObject: ["jobId": "job-1", "dtbs": Data([0x31, 0x00]).base64EncodedString()])
            .write(to: URL(fileURLWithPath: pending))
        let signed = try signd(["device-sim", "sign-dtbs", "--dir", phone, pending])
        XCTAssertEqual(signed.status, 0, signed.stderr)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(signed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(answer["jobId"] as? String, "job-1")
        XCTAssertNotNil(Data(base64Encoded: answer["signature"] as? String ?? ""))
    }
}
