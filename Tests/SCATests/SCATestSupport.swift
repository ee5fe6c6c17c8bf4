import CertificateAuthority
import Crypto
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

    init() throws {
        database = try StateDatabase()
        registry = DeviceRegistry(database: database)
        try registry.register(deviceId: deviceId, userId: userId, publicKey: device.publicKey, now: now)
    }

    func statement(jobId: String? = nil, digest: String? = nil, deviceId: String? = nil, userId: String? = nil,
                   level: SignatureLevel = .bt, notBeforeOffset: TimeInterval = -5, lifetime: Int64 = 300,
                   nonce: String = DeviceSimulator.makeNonce()) -> AuthorizationStatement {
        let nb = Int64(now.addingTimeInterval(notBeforeOffset).timeIntervalSince1970)
        return AuthorizationStatement(jobId: jobId ?? self.jobId, documentSha256: digest ?? self.digest, deviceId: deviceId ?? self.deviceId,
                                      userId: userId ?? self.userId, level: level, notBefore: nb, expiresAt: nb + lifetime, nonce: nonce)
    }

    func token(_ statement: AuthorizationStatement? = nil, signer: DeviceSimulator? = nil, format: ECDSASignatureFormat = .der) throws -> Authorization {
        try (signer ?? device).authorize(statement ?? self.statement(), format: format)
    }

    func manifest(_ authorization: Authorization?, jobId: String? = nil, deviceId: String? = nil, userId: String? = nil,
                  level: SignatureLevel = .bt, digest: String? = nil) -> SignManifest {
        SignManifest(jobId: jobId ?? self.jobId, document: .init(file: "contract.pdf", sha256: digest ?? self.digest),
                     signer: .init(userId: userId ?? self.userId, deviceId: deviceId ?? self.deviceId),
                     mode: .cloud, level: level, authorization: authorization)
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

// MARK: - A CA that records revocations

actor RecordingCertificateAuthority: CertificateAuthorityService {
    private(set) var revocations: [(serial: String, reason: RevocationReason)] = []
    var failing: Set<String> = []
    var alreadyRevoked: Set<String> = []

    func setFailing(_ serials: Set<String>) { failing = serials }
    func setAlreadyRevoked(_ serials: Set<String>) { alreadyRevoked = serials }

    func enroll(_ request: EnrollmentRequest) async throws -> IssuedCertificate {
        throw CertificateAuthorityError(.rejected, "not used in SCA tests")
    }

    func revoke(serialHex: String, reason: RevocationReason, at date: Date) async throws {
        if failing.contains(serialHex) { throw CertificateAuthorityError(.unavailable, "CA down (test)", retryable: true) }
        if alreadyRevoked.contains(serialHex) { throw CertificateAuthorityError(.alreadyRevoked, "already revoked (test)") }
        revocations.append((serialHex, reason))
    }

    func revocationStatus(serialHex: String) async throws -> RevocationStatus { .unknown }
    func caChain() async throws -> [Certificate] { [] }
}

// MARK: - In-process HTTP server (Hummingbird on 127.0.0.1, port 0)

final class LoopbackServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(port: Int, group: ServiceGroup, task: Task<Void, Never>) {
        self.port = port
        self.group = group
        self.task = task
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func start(_ configure: @escaping (Router<BasicRequestContext>) -> Void) async throws -> LoopbackServer {
        var logger = Logger(label: "sca-tests")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let router = Router()
        configure(router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try? await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw SCATestError("the loopback HTTP server did not start")
        }
        return LoopbackServer(port: port, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}


// MARK: - A PowerAuth Server stand-in that follows its documented REST JSON

/// Serves `POST <context>/rest/v3/signature/ecdsa/verify` and `.../operation/detail` with
/// PowerAuth's envelope: `{"requestObject": {...}}` in, `{"status":"OK","responseObject":{...}}`
/// or `{"status":"ERROR","responseObject":{"code","message"}}` (HTTP 400) out. Requires HTTP Basic
/// `integration:secret`; answers 401 without a body otherwise (as Spring Security does).
final class FakePowerAuthServer: @unchecked Sendable {
    static let contextPath = "/powerauth-java-server"
    static let user = "integration"
    static let password = "s3cret"

    private let lock = NSLock()
    private var activations: [String: P256.Signing.PublicKey] = [:]
    private var operations: [String: [String: Any]] = [:]
    private var forcedError: (code: String, message: String)?
    private var requests: [(path: String, body: [String: Any])] = []
    private(set) var server: LoopbackServer!

    static func start() async throws -> FakePowerAuthServer {
        let fake = FakePowerAuthServer()
        fake.server = try await LoopbackServer.start { router in
            router.post("\(contextPath)/rest/v3/signature/ecdsa/verify") { request, _ -> Response in
                try await fake.handle(request) { fake.verify($0) }
            }
            router.post("\(contextPath)/rest/v3/operation/detail") { request, _ -> Response in
                try await fake.handle(request) { fake.detail($0) }
            }
        }
        return fake
    }

    var baseURL: String { server.baseURL + Self.contextPath }

    func stop() async { await server.stop() }

    func client(timeout: TimeInterval = 5, credentials: PowerAuthCredentials? = PowerAuthCredentials(user: user, password: password)) throws -> PowerAuthClient {
        try PowerAuthClient(configuration: PowerAuthClientConfiguration(baseURL: baseURL, credentials: credentials, requestTimeout: timeout))
    }

    func addActivation(_ id: String, key: P256.Signing.PublicKey) { lock.withLock { activations[id] = key } }
    func setOperation(_ id: String, _ fields: [String: Any]) { lock.withLock { operations[id] = fields } }
    func forceError(code: String, message: String) { lock.withLock { forcedError = (code, message) } }
    var recordedRequests: [(path: String, body: [String: Any])] { lock.withLock { requests } }

    private func handle(_ request: Request, _ body: ([String: Any]) -> (Int, [String: Any])) async throws -> Response {
        let expected = "Basic " + Data("\(Self.user):\(Self.password)".utf8).base64EncodedString()
        guard request.headers[.authorization] == expected else {
            return Response(status: .unauthorized)
        }
        let bytes = try await request.body.collect(upTo: 1 << 20)
        guard let json = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any],
              let object = json["requestObject"] as? [String: Any] else {
            return envelope(400, ["status": "ERROR", "responseObject": ["code": "ERR0024", "message": "Invalid request."]])
        }
        lock.withLock { requests.append((request.uri.path, object)) }
        if let forced = lock.withLock({ forcedError }) {
            return envelope(400, ["status": "ERROR", "responseObject": ["code": forced.code, "message": forced.message]])
        }
        let (status, response) = body(object)
        return envelope(status, response)
    }

    private func envelope(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    private func verify(_ request: [String: Any]) -> (Int, [String: Any]) {
        guard let id = request["activationId"] as? String, let dataText = request["data"] as? String,
              let signatureText = request["signature"] as? String,
              let data = Data(base64Encoded: dataText), let signature = Data(base64Encoded: signatureText) else {
            return (400, ["status": "ERROR", "responseObject": ["code": "ERR0011", "message": "Invalid input parameter format."]])
        }
        guard let key = lock.withLock({ activations[id] }) else {
            return (400, ["status": "ERROR", "responseObject": ["code": "ERR0009", "message": "Activation with given activation ID was not found."]])
        }
        let format = request["signatureFormat"] as? String ?? "DER"
        let parsed: P256.Signing.ECDSASignature? = format == "JOSE"
            ? try? P256.Signing.ECDSASignature(rawRepresentation: signature)
            : try? P256.Signing.ECDSASignature(derRepresentation: signature)
        let valid = parsed.map { key.isValidSignature($0, for: data) } ?? false
        return (200, ["status": "OK", "responseObject": ["signatureValid": valid]])
    }

    private func detail(_ request: [String: Any]) -> (Int, [String: Any]) {
        guard let id = request["operationId"] as? String, let op = lock.withLock({ operations[id] }) else {
            return (400, ["status": "ERROR", "responseObject": ["code": "ERR0034", "message": "Operation not found."]])
        }
        return (200, ["status": "OK", "responseObject": op])
    }
}

/// ISO 8601 as Jackson writes java.util.Date (`2025-06-15T16:53:20.000+00:00`).
func jacksonDate(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: date).replacingOccurrences(of: "Z", with: "+00:00")
}
