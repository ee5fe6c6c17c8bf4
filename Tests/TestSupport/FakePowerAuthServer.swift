import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

// A PowerAuth Server stand-in for the tests of the SCA module and of the daemon: PowerAuth Server
// cannot run here (docs/sca.md, docs/testing.md).

/// A failure of a loopback test server itself.
public struct LoopbackServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - In-process HTTP server (Hummingbird on 127.0.0.1)

/// Hummingbird on 127.0.0.1, on a free port (0) or a given one (to bring a server back on the
/// port a client is configured with).
public final class LoopbackHTTPServer: Sendable {
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(port: Int, group: ServiceGroup, task: Task<Void, Never>) {
        self.port = port
        self.group = group
        self.task = task
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public static func start(port: Int = 0, _ configure: @escaping (Router<BasicRequestContext>) -> Void) async throws -> LoopbackHTTPServer {
        var logger = Logger(label: "loopback-http")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let router = Router()
        configure(router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try? await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            task.cancel()
            throw LoopbackServerError("the loopback HTTP server did not start\(port == 0 ? "" : " on port \(port)")")
        }
        return LoopbackHTTPServer(port: bound, group: group, task: task)
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}

// MARK: - A PowerAuth Server stand-in that follows its documented REST JSON

/// Serves `POST <context>/rest/v3/signature/ecdsa/verify` and `.../operation/detail` with
/// PowerAuth's envelope: `{"requestObject": {...}}` in, `{"status":"OK","responseObject":{...}}`
/// or `{"status":"ERROR","responseObject":{"code","message"}}` (HTTP 400) out. Requires HTTP Basic
/// `integration:s3cret`; answers 401 without a body otherwise (as Spring Security does).
public final class FakePowerAuthServer: @unchecked Sendable {
    public static let contextPath = "/powerauth-java-server"
    public static let user = "integration"
    public static let password = "s3cret"

    private let lock = NSLock()
    private var activations: [String: P256.Signing.PublicKey] = [:]
    private var operations: [String: [String: Any]] = [:]
    private var forcedError: (code: String, message: String)?
    private var requests: [(path: String, body: [String: Any])] = []
    public private(set) var server: LoopbackHTTPServer!

    /// On a free port, or on `port` (e.g. a port a client was given while no server listened).
    public static func start(port: Int = 0) async throws -> FakePowerAuthServer {
        let fake = FakePowerAuthServer()
        fake.server = try await LoopbackHTTPServer.start(port: port) { router in
            router.post("\(contextPath)/rest/v3/signature/ecdsa/verify") { request, _ -> Response in
                try await fake.handle(request) { fake.verify($0) }
            }
            router.post("\(contextPath)/rest/v3/operation/detail") { request, _ -> Response in
                try await fake.handle(request) { fake.detail($0) }
            }
        }
        return fake
    }

    private init() {}

    /// `http://127.0.0.1:<port>/powerauth-java-server` (what signd is configured with).
    public var baseURL: String { server.baseURL + Self.contextPath }

    public func stop() async { await server.stop() }

    public func addActivation(_ id: String, key: P256.Signing.PublicKey) { lock.withLock { activations[id] = key } }
    /// An activation whose device key is the P-256 public key in `publicKeyPEM` (SubjectPublicKeyInfo PEM).
    public func addActivation(_ id: String, publicKeyPEM: String) throws { addActivation(id, key: try P256.Signing.PublicKey(pemRepresentation: publicKeyPEM)) }
    /// An operation as `operation/detail` returns it (`OperationDetailResponse` fields).
    public func setOperation(_ id: String, _ fields: [String: Any]) { lock.withLock { operations[id] = fields } }
    public func forceError(code: String, message: String) { lock.withLock { forcedError = (code, message) } }
    public var recordedRequests: [(path: String, body: [String: Any])] { lock.withLock { requests } }

    /// An operation approved 20 s before `now`, expiring 4 minutes after it, as PowerAuth
    /// returns it (dates as Jackson writes them).
    public static func approvedOperation(id: String, userId: String, data: String, now: Date = Date()) -> [String: Any] {
        [
            "id": id, "userId": userId, "applicationId": 1, "operationType": "signd-sign",
            "data": data, "parameters": [String: String](), "status": "APPROVED",
            "signatureType": ["POSSESSION_KNOWLEDGE"], "failureCount": 0, "maxFailureCount": 5,
            "timestampCreated": jacksonDate(now.addingTimeInterval(-60)),
            "timestampExpires": jacksonDate(now.addingTimeInterval(240)),
            "timestampFinalized": jacksonDate(now.addingTimeInterval(-20)),
        ]
    }

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
public func jacksonDate(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: date).replacingOccurrences(of: "Z", with: "+00:00")
}
