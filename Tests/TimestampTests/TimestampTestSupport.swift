import CMSSigning
import CMSStructures
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SigndHTTP
import SwiftASN1
import TestSupport
import Timestamping
import X509
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Plumbing of the timestamp tests: an in-memory TSA (TestPKI + TimeStampAuthority), fake and
// counting transports, in-process Hummingbird servers on port 0, background processes (the
// Python/OpenSSL TSA, `signd tsa serve`), the openssl-made test PKI, and small process helpers.

struct TimestampTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Directory of this target's fixtures (openssl_tsa.py).
enum TimestampFixtures {
    static var directory: String { PackagePaths.root + "/Tests/TimestampTests/Fixtures" }
    static var opensslTSAScript: String { directory + "/openssl_tsa.py" }
}

// MARK: - Serial numbers

/// Serials 1, 2, 3, … in memory.
actor CountingSerialSource: TSASerialSource {
    private var value: UInt64 = 0
    func next() async throws -> [UInt8] {
        value += 1
        return (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
    }
}

// MARK: - An in-memory TSA

/// A TSA certificate (P-256, critical or non-critical EKU timeStamping) from a fresh TestPKI,
/// and a TimeStampAuthority signing with it.
struct TestTSA: Sendable {
    static let otherPolicy: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 99999, 3161, 42]

    let pki: TestPKI
    let signer: PrivateKeySigner
    let authority: TimeStampAuthority

    init(criticalEKU: Bool = true, policy: ASN1ObjectIdentifier = TimeStampAuthority.defaultPolicy,
         serials: (any TSASerialSource)? = nil, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        pki = try TestPKI()
        let key = P256.Signing.PrivateKey()
        let cert = try pki.issue(publicKey: .init(key.publicKey), commonName: "Unit Test TSA",
                                 keyUsage: KeyUsage(digitalSignature: true, nonRepudiation: true),
                                 extendedKeyUsage: try ExtendedKeyUsage([.timeStamping]), criticalEKU: criticalEKU)
        signer = try PrivateKeySigner(key: .p256(key), certificate: cert)
        authority = TimeStampAuthority(signer: signer, chain: [pki.root], policy: policy,
                                       serials: serials ?? CountingSerialSource(), clock: clock)
    }

    /// A validator trusting this TSA's root.
    var validator: TimestampTokenValidator { TimestampTokenValidator(trustAnchors: [pki.root]) }

    /// Writes `root.pem` and `tsa.pem` into `directory`.
    func writePEMs(in directory: String) throws -> (root: String, tsa: String) {
        let root = directory + "/root.pem", tsa = directory + "/tsa.pem"
        try PEMFile.write([pki.root], to: root)
        try PEMFile.write([signer.certificate], to: tsa)
        return (root, tsa)
    }
}

enum PEMFile {
    static func write(_ certificates: [Certificate], to path: String) throws {
        let text = try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// The PEM blocks of `text`, in order.
    static func blocks(_ text: String) -> [String] {
        var out: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-----BEGIN ") { current = [line]; continue }
            guard current != nil else { continue }
            current!.append(line)
            if line.hasPrefix("-----END ") {
                out.append(current!.joined(separator: "\n") + "\n")
                current = nil
            }
        }
        return out
    }
}

// MARK: - Transports

/// A transport answering from a closure, recording every call.
final class FakeTransport: TimestampTransport, @unchecked Sendable {
    typealias Handler = @Sendable (_ url: String, _ body: [UInt8]) async throws -> TransportResponse
    private let lock = NSLock()
    private var _calls: [String] = []
    private let handler: Handler

    init(_ handler: @escaping Handler) { self.handler = handler }

    var calls: [String] { lock.withLock { _calls } }

    func post(url: String, body: [UInt8], contentType: String, timeout: TimeInterval) async throws -> TransportResponse {
        lock.withLock { _calls.append(url) }
        return try await handler(url, body)
    }

    /// A transport whose replies come from `authority`, after `edit` has changed the request.
    static func authority(_ authority: TimeStampAuthority, editingRequest edit: @escaping @Sendable (inout TimeStampReq) -> Void = { _ in })
        -> FakeTransport {
        FakeTransport { _, body in
            var request = try TimeStampReq(derEncoded: body)
            edit(&request)
            let reply = await authority.respond(to: try request.derEncoded())
            return TransportResponse(status: 200, contentType: "application/timestamp-reply", body: reply)
        }
    }
}

/// Counts calls per URL and passes them on to a real transport.
final class CountingTransport: TimestampTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _calls: [String] = []
    let inner: any TimestampTransport

    init(_ inner: any TimestampTransport) { self.inner = inner }

    var calls: [String] { lock.withLock { _calls } }
    func calls(to url: String) -> Int { calls.filter { $0 == url }.count }

    func post(url: String, body: [UInt8], contentType: String, timeout: TimeInterval) async throws -> TransportResponse {
        lock.withLock { _calls.append(url) }
        return try await inner.post(url: url, body: body, contentType: contentType, timeout: timeout)
    }
}

/// Records the backoff delays the client asks for, without sleeping.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var _delays: [TimeInterval] = []
    var delays: [TimeInterval] { lock.withLock { _delays } }
    var sleep: @Sendable (TimeInterval) async throws -> Void {
        { [self] d in lock.withLock { _delays.append(d) } }
    }
}

/// A thread-safe counter for route handlers.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var _value = 0
    var value: Int { lock.withLock { _value } }
    func increment() { lock.withLock { _value += 1 } }
}

// MARK: - Assertions

/// Runs `body` and asserts it throws a TimestampError with `code`; returns the error.
@discardableResult
func assertTimestampError<T>(_ code: TimestampError.Code, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () async throws -> T) async -> TimestampError? {
    do {
        let value = try await body()
        XCTFail("expected \(code), got a result: \(value)", file: file, line: line)
        return nil
    } catch let e as TimestampError {
        XCTAssertEqual(e.code, code, "wrong error: \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected TimestampError \(code), got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

// MARK: - In-process HTTP servers (Hummingbird on 127.0.0.1, port 0)

final class LocalServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(port: Int, group: ServiceGroup, task: Task<Void, Never>) {
        self.port = port
        self.group = group
        self.task = task
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var tsaURL: String { baseURL + "/tsa" }

    static var quietLogger: Logger {
        var logger = Logger(label: "timestamp-tests")
        logger.logLevel = .error
        return logger
    }

    /// Runs the application that `make` builds (given the callback reporting the bound port).
    static func start<App: ApplicationProtocol>(_ make: (@escaping @Sendable (Int) async -> Void) -> App) async throws -> LocalServer {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = make { port in continuation.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quietLogger))
        let task = Task {
            defer { continuation.finish() }
            try? await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw TimestampTestError("the in-process HTTP server did not start")
        }
        return LocalServer(port: port, group: group, task: task)
    }

    /// The embedded TSA's own HTTP application (TSARoutes.application).
    static func tsa(_ authority: TimeStampAuthority) async throws -> LocalServer {
        try await start { onRunning in
            TSARoutes.application(authority: authority, host: "127.0.0.1", port: 0, onServerRunning: onRunning)
        }
    }

    /// An application with custom routes.
    static func routes(_ configure: @escaping (Router<BasicRequestContext>) -> Void) async throws -> LocalServer {
        try await start { onRunning in
            let router = Router()
            configure(router)
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                               onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
                               logger: quietLogger)
        }
    }

    /// Graceful shutdown (in-flight requests finish), then waits for the server to end.
    func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}


// MARK: - Background processes

/// A long-running child process (a server) that prints a "ready" line on standard output.
final class BackgroundProcess: @unchecked Sendable {
    let process = Process()
    let readyLine: String
    private let stderrPath: String

    /// Starts `executable` and waits (up to `timeout`) for a stdout line satisfying `isReady`.
    init(_ executable: String, _ args: [String], environment: [String: String] = [:], timeout: TimeInterval = 60,
         isReady: @escaping @Sendable (String) -> Bool) throws {
        process.executableURL = URL(fileURLWithPath: try ProcessRunner.resolve(executable))
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe()
        stderrPath = FileManager.default.temporaryDirectory.appendingPathComponent("signd-bg-\(UUID().uuidString).err").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let ready = DispatchSemaphore(value: 0)
        let reader = out.fileHandleForReading
        let state = ReaderState()
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    if state.append(line, isReady: isReady) { ready.signal() }
                }
            }
            if state.finish() { ready.signal() }
        }
        _ = ready.wait(timeout: .now() + timeout)
        guard let line = state.readyLine else {
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            if process.isRunning { process.terminate() }
            throw TimestampTestError("\(executable) \(args.joined(separator: " ")) did not become ready; stdout: \(state.allLines)\nstderr: \(err)")
        }
        readyLine = line
    }

    /// What the reader thread saw, behind a lock.
    private final class ReaderState: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        private var signalled = false
        private var ready: String?

        /// Records a line; true when it is the first ready line (signal the waiter).
        func append(_ line: String, isReady: (String) -> Bool) -> Bool {
            lock.withLock {
                lines.append(line)
                guard !signalled, isReady(line) else { return false }
                signalled = true
                ready = line
                return true
            }
        }

        /// End of output; true when the waiter has not been signalled yet.
        func finish() -> Bool {
            lock.withLock {
                defer { signalled = true }
                return !signalled
            }
        }

        var readyLine: String? { lock.withLock { ready } }
        var allLines: [String] { lock.withLock { lines } }
    }

    var standardError: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    deinit { stop() }
}

/// The Python TSA of Fixtures/openssl_tsa.py (OpenSSL `ts -reply`; pyHanko for the non-critical mode).
final class OpenSSLTSAServer: @unchecked Sendable {
    let directory: TemporaryDirectory
    let server: BackgroundProcess
    let port: Int

    init() throws {
        for tool in ["python3", "openssl"] where !ProcessRunner.isAvailable(tool) {
            throw TimestampTestError("\(tool) is not installed; run scripts/test-deps.sh")
        }
        directory = try TemporaryDirectory(prefix: "signd-openssl-tsa")
        server = try BackgroundProcess("python3", ["-u", TimestampFixtures.opensslTSAScript, directory.path],
                                       environment: ["OPENSSL_TSA_PARENT_PID": String(ProcessInfo.processInfo.processIdentifier)],
                                       isReady: { $0.hasPrefix("PORT ") })
        guard let port = Int(server.readyLine.dropFirst(5)) else { throw TimestampTestError("bad ready line \(server.readyLine)") }
        self.port = port
    }

    /// The TSA URL for a mode: openssl (default), pyhanko, noncritical.
    func url(mode: String = "openssl") -> String { "http://127.0.0.1:\(port)/tsa?mode=\(mode)" }
    var rootPEM: String { directory.file("tsaroot.pem") }
    var tsaCertificatePEM: String { directory.file("tsa.pem") }

    func rootCertificate() throws -> Certificate {
        try Certificate(pemEncoded: String(contentsOfFile: rootPEM, encoding: .utf8))
    }

    func stop() { server.stop() }
}

// MARK: - The openssl-made signer PKI (Tests/InteropTests/Fixtures/make_pki.sh), built once

final class SignerPKI: Sendable {
    let directory: String
    var root: String { directory + "/root.pem" }
    var chain: String { directory + "/chain.pem" }
    func key(_ name: String) -> String { directory + "/\(name).key.pem" }
    func cert(_ name: String) -> String { directory + "/\(name).cert.pem" }

    private init(directory: String) { self.directory = directory }

    static var shared: SignerPKI { get throws { try cached.get() } }

    private static let cached: Result<SignerPKI, TimestampTestError> = {
        do {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("signd-ts-pki-\(UUID().uuidString)").path
            let out = try ProcessRunner.run("bash", [PackagePaths.fixture("make_pki.sh"), dir], timeout: 300)
            guard out.status == 0 else { return .failure(TimestampTestError("make_pki.sh failed\n" + ProcessRunner.describe(out))) }
            atexit { SignerPKI.removeAtExit() }
            return .success(SignerPKI(directory: dir))
        } catch {
            return .failure(TimestampTestError("make_pki.sh: \(error)"))
        }
    }()

    private static func removeAtExit() {
        guard ProcessInfo.processInfo.environment["SIGND_KEEP_TEMP"] != "1", let pki = try? cached.get() else { return }
        try? FileManager.default.removeItem(atPath: pki.directory)
    }
}

// MARK: - Running tools without blocking the cooperative thread pool

/// `ProcessRunner.run` on a Dispatch thread (in-process servers keep the Swift concurrency pool).
func runTool(_ executable: String, _ args: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) async throws -> ProcessOutput {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try ProcessRunner.run(executable, args, environment: environment, timeout: timeout) })
        }
    }
}

func signd(_ args: [String], timeout: TimeInterval = 120) async throws -> ProcessOutput {
    try await runTool(PackagePaths.signdBinary, args, timeout: timeout)
}

func openssl(_ args: [String]) async throws -> ProcessOutput {
    try await runTool("openssl", args)
}

/// `openssl ts -query -data FILE -<digest> [-cert] …`, returning the DER request.
func opensslQuery(dataFile: String, digest: String, certReq: Bool = true, extra: [String] = [], out: String) async throws -> [UInt8] {
    let result = try await openssl(["ts", "-query", "-data", dataFile, "-" + digest] + (certReq ? ["-cert"] : []) + extra + ["-out", out])
    guard result.status == 0, let data = FileManager.default.contents(atPath: out) else {
        throw TimestampTestError("openssl ts -query failed\n" + ProcessRunner.describe(result))
    }
    return Array(data)
}

func writeFile(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// pyHanko's one-line result for the first signature, and its --pretty-print report.
func pyHankoValidate(_ pdf: String, trust: [String], otherCerts: String) async throws -> (summary: ProcessOutput, pretty: ProcessOutput) {
    let args = ["-m", "pyhanko", "sign", "validate", "--trust-replace"] + trust.flatMap { ["--trust", $0] } + ["--other-certs", otherCerts]
    let summary = try await runTool("python3", args + [pdf])
    let pretty = try await runTool("python3", args + ["--pretty-print", pdf])
    return (summary, pretty)
}

/// The parsed `signd verify --json` document.
func signdVerifyJSON(_ pdf: String, trust: String, tsaTrust: String?, dataDir: String) async throws -> (output: ProcessOutput, json: [String: Any]) {
    var args = ["verify", pdf, "--trust", trust, "--json", "--data-dir", dataDir]
    if let tsaTrust { args += ["--tsa-trust", tsaTrust] }
    let out = try await signd(args)
    guard let object = try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any] else {
        throw TimestampTestError("signd verify printed no JSON\n" + ProcessRunner.describe(out))
    }
    return (out, object)
}
