import Crypto
import DeviceSimulation
import Foundation
import TestSupport
import Hummingbird
import Jobs
import Logging
import NIOCore
import SCA
import ServiceLifecycle
import SigndCore
import StateStore
import X509
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct SCATestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func sha256Hex(_ text: String) -> String { Hex.encode(Array(SHA256.hash(data: Array(text.utf8)))) }

/// An in-memory state database with one registered device (`phone-1` of `user-1`, key held by
/// `device`), a fixed clock and helpers that build manifests and tokens, correct unless told
/// otherwise.
final class SCAFixture: @unchecked Sendable {
    let database: StateDatabase
    let registry: DeviceRegistry
    let device = DeviceSimulator()
    let now = Date(timeIntervalSince1970: 1_750_000_000)
    let deviceId = "phone-1"
    let userId = "user-1"
    let jobId = "job-0001"
    /// What signd computed from "the PDF".
    let digest = sha256Hex("the PDF bytes")

    /// `database`: the state database to use (default: a new in-memory one).
    init(database: StateDatabase? = nil) throws {
        if let database { self.database = database } else { self.database = try StateDatabase() }
        registry = DeviceRegistry(database: self.database)
        try registry.register(deviceId: deviceId, userId: userId, publicKey: device.publicKey, now: now)
    }

    /// A version-2 statement; by default it approves cloud mode and no appearance texts (the
    /// default ``manifest(_:jobId:deviceId:userId:level:digest:mode:appearance:)``).
    func statement(jobId: String? = nil, digest: String? = nil, deviceId: String? = nil, userId: String? = nil,
                   level: SignatureLevel = .bt, mode: SigningMode? = .cloud, appearance: SignManifest.Appearance? = nil,
                   appearanceSha256: String? = nil, version: Int? = AuthorizationStatement.currentVersion,
                   notBeforeOffset: TimeInterval = -5, lifetime: Int64 = 300,
                   nonce: String = DeviceSimulator.makeNonce()) -> AuthorizationStatement {
        let nb = Int64(now.addingTimeInterval(notBeforeOffset).timeIntervalSince1970)
        return AuthorizationStatement(version: version, jobId: jobId ?? self.jobId, documentSha256: digest ?? self.digest,
                                      deviceId: deviceId ?? self.deviceId, userId: userId ?? self.userId, level: level,
                                      mode: mode, appearanceSha256: appearanceSha256 ?? ApprovedAppearance.sha256Hex(appearance),
                                      notBefore: nb, expiresAt: nb + lifetime, nonce: nonce)
    }

    func token(_ statement: AuthorizationStatement? = nil, signer: DeviceSimulator? = nil, format: ECDSASignatureFormat = .der) throws -> Authorization {
        try (signer ?? device).authorize(statement ?? self.statement(), format: format)
    }

    func manifest(_ authorization: Authorization?, jobId: String? = nil, deviceId: String? = nil, userId: String? = nil,
                  level: SignatureLevel = .bt, digest: String? = nil, mode: SigningMode = .cloud,
                  appearance: SignManifest.Appearance? = nil) -> SignManifest {
        SignManifest(jobId: jobId ?? self.jobId, document: .init(file: "contract.pdf", sha256: digest ?? self.digest),
                     signer: .init(userId: userId ?? self.userId, deviceId: deviceId ?? self.deviceId),
                     mode: mode, level: level, appearance: appearance, authorization: authorization)
    }

    func authorizer(_ configuration: SCAConfiguration = SCAConfiguration()) -> DeviceSignatureAuthorizer {
        DeviceSignatureAuthorizer(database: database, configuration: configuration)
    }

    func deviceRecord(_ id: String? = nil) throws -> DeviceRecord {
        guard let d = try database.device(id ?? deviceId) else { throw SCATestError("device \(id ?? deviceId) missing") }
        return d
    }
}

func assertAuthorized(_ outcome: AuthorizationOutcome, file: StaticString = #filePath, line: UInt = #line) {
    if case .denied(let d) = outcome { XCTFail("expected authorized, got \(d)", file: file, line: line) }
}

@discardableResult
func assertDenied(_ outcome: AuthorizationOutcome, _ code: AuthorizationErrorCode, file: StaticString = #filePath, line: UInt = #line) -> AuthorizationDenial? {
    switch outcome {
    case .authorized(let g):
        XCTFail("expected \(code), got authorized \(g)", file: file, line: line)
        return nil
    case .denied(let d):
        XCTAssertEqual(d.code, code, "reason: \(d.reason)", file: file, line: line)
        return d
    }
}

// MARK: - PowerAuth stand-in (TestSupport.FakePowerAuthServer, shared with the daemon tests)

extension FakePowerAuthServer {
    /// A client of this server through the real HTTP transport, with its integration credentials
    /// unless told otherwise.
    func client(timeout: TimeInterval = 5, credentials: PowerAuthCredentials? = PowerAuthCredentials(user: FakePowerAuthServer.user, password: FakePowerAuthServer.password)) throws -> PowerAuthClient {
        try PowerAuthClient(configuration: PowerAuthClientConfiguration(baseURL: baseURL, credentials: credentials, requestTimeout: timeout))
    }
}
