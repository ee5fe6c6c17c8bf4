#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import TestSupport
import XCTest

// End-to-end harness for `signd run`: a temporary directory with a data directory (var/), a spool
// root (spool/) and a simulated device (dev/), the real signd binary started as a child process,
// and helpers that drop files into the spool the way producers must (temporary name, then rename)
// and wait for results by polling done/ and failed/ with a bounded timeout.

/// A failure of the harness itself (a set-up command failed, a daemon did not start).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One `signd run` child process. Standard output and error go to a log file.
final class DaemonProcess {
    let process = Process()
    let logPath: String
    private let exitSignal = DispatchSemaphore(value: 0)
    private var exited = false

    init(binary: String, arguments: [String], cwd: String, logPath: String, environment: [String: String] = [:]) throws {
        self.logPath = logPath
        guard FileManager.default.createFile(atPath: logPath, contents: nil), let log = FileHandle(forWritingAtPath: logPath) else {
            throw HarnessError("cannot create \(logPath)")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: cwd)
        // No SIGND_* variables from the caller's environment: every setting is explicit.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SIGND_") }
            .merging(environment) { _, explicit in explicit }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let semaphore = exitSignal
        process.terminationHandler = { _ in semaphore.signal() }
        try process.run()
        try? log.close()
    }

    var pid: Int32 { process.processIdentifier }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { !exited && process.isRunning }

    /// The log lines parsed as JSON objects (nil for a line that is not one).
    var logLines: [[String: Any]?] {
        log.split(separator: "\n", omittingEmptySubsequences: true).map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// The HTTP port from the "http listening" log line (for `--listen 127.0.0.1:0`).
    func httpPort(timeout: TimeInterval = 10) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for case let line? in logLines where line["msg"] as? String == "http listening" {
                if let port = Int(line["port"] as? String ?? ""), port > 0 { return port }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw HarnessError("no \"http listening\" line with a port in the log:\n\(log)")
    }

    /// Waits until every spool logged "spool ready" (the startup recovery and scan are done).
    func waitUntilReady(spools: Int = 1, timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.components(separatedBy: "spool ready").count - 1 >= spools { return }
            if !process.isRunning { throw HarnessError("signd run exited (status \(process.terminationStatus)) before it was ready; log:\n\(log)") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw HarnessError("signd run was not ready within \(Int(timeout)) s; log:\n\(log)")
    }

    /// The exit status once the process has exited, nil if it is still running after `timeout`.
    @discardableResult
    func waitForExit(timeout: TimeInterval) -> Int32? {
        if !exited {
            guard exitSignal.wait(timeout: .now() + timeout) == .success else { return nil }
            exited = true
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    func send(_ signal: Int32) {
        if !exited { _ = kill(pid, signal) }
    }

    /// kill -9, then reap.
    func kill9() {
        send(SIGKILL)
        waitForExit(timeout: 10)
    }

    /// utime + stime of the process, in clock ticks (/proc/<pid>/stat fields 14 and 15).
    func cpuTicks() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after "(comm)": state is the first, utime the 12th, stime the 13th.
        guard let close = stat.lastIndex(of: ")") else { throw HarnessError("cannot parse /proc/\(pid)/stat: \(stat)") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Int(fields[11]), let stime = Int(fields[12]) else {
            throw HarnessError("cannot parse /proc/\(pid)/stat: \(stat)")
        }
        return utime + stime
    }
}

/// How a job ended, as seen in the spool.
enum JobOutcome: Equatable, CustomStringConvertible {
    case done
    case failed(code: String)

    var description: String {
        switch self {
        case .done: return "done"
        case .failed(let code): return "failed(\(code))"
        }
    }
}

/// A temporary installation: data directory, one spool root, a registered and enrolled device.
final class DaemonFixture {
    let directory: TemporaryDirectory
    let user: String
    let device: String
    private(set) var daemons: [DaemonProcess] = []

    var root: String { directory.path }
    var dataDir: String { root + "/var" }
    var spoolRoot: String { root + "/spool" }
    var deviceDir: String { root + "/dev" }
    var spool: String { spoolRoot + "/default" }
    var incoming: String { spool + "/incoming" }
    var work: String { spool + "/work" }
    var done: String { spool + "/done" }
    var failed: String { spool + "/failed" }
    var archive: String { spool + "/archive" }
    /// External mode: <job>.dtbs.json from signd, <job>.signature.json from the orchestrator.
    var pending: String { spool + "/pending" }
    var signatures: String { spool + "/signatures" }

    static var samplePDF: String { PackagePaths.root + "/samples/contract.pdf" }

    /// How the device's certificate is made: `cloud` (signd generates and keeps the key) or
    /// `external` (from the simulator's CSR: the certificate holds the device's own key, as
    /// external-mode signing needs).
    enum Enrollment { case cloud, external }

    /// Creates the device simulator, registers the device for the user and enrolls a certificate
    /// (cloud key by default: the manual flow of the brief).
    init(user: String = "alice", device: String = "phone1", enrollment: Enrollment = .cloud) throws {
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.signdBinary) else {
            throw HarnessError("signd is not built at \(PackagePaths.signdBinary); run swift build --build-tests")
        }
        directory = try TemporaryDirectory(prefix: "signd-daemon")
        self.user = user
        self.device = device
        try signdOK(["device-sim", "create", "--dir", deviceDir])
        try signdOK(["device", "register", "--device", device, "--user", user, "--public-key", deviceDir + "/device-public.pem",
                     "--data-dir", dataDir])
        switch enrollment {
        case .cloud:
            try signdOK(["enroll", "--cloud", "--user", user, "--device", device, "--subject", "CN=Alice,serialNumber=\(device),C=CZ",
                         "--data-dir", dataDir])
        case .external:
            let csr = try signdOK(["device-sim", "csr", "--dir", deviceDir, "--subject", "CN=Alice,serialNumber=\(device),C=CZ"])
            let csrPath = root + "/device.csr.pem"
            try Data(csr.stdout.utf8).write(to: URL(fileURLWithPath: csrPath))
            try signdOK(["enroll", "--csr", csrPath, "--user", user, "--device", device, "--data-dir", dataDir])
        }
        // The daemon creates these too; the tests drop files before the first start.
        for dir in [incoming, work, done, failed, archive] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    deinit { stopAll() }

    // MARK: - signd commands

    @discardableResult
    func signd(_ args: [String], timeout: TimeInterval = 120) throws -> ProcessOutput {
        try ProcessRunner.run(PackagePaths.signdBinary, args, cwd: root, timeout: timeout)
    }

    @discardableResult
    func signdOK(_ args: [String]) throws -> ProcessOutput {
        let out = try signd(args)
        guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "signd " + args.joined(separator: " "))) }
        return out
    }

    /// Starts `signd run` on this fixture (optionally with a configuration file) and waits until
    /// it is ready unless `waitUntilReady` is false.
    @discardableResult
    func startDaemon(configuration: String? = nil, listen: String = "off", waitUntilReady: Bool = true,
                     environment: [String: String] = [:]) throws -> DaemonProcess {
        var args = ["run", "--data-dir", dataDir, "--spool-root", spoolRoot, "--listen", listen]
        if let configuration {
            let path = root + "/config-\(daemons.count).json"
            try Data(configuration.utf8).write(to: URL(fileURLWithPath: path))
            args += ["--config", path]
        }
        let daemon = try DaemonProcess(binary: PackagePaths.signdBinary, arguments: args, cwd: root,
                                       logPath: root + "/daemon-\(daemons.count).log", environment: environment)
        daemons.append(daemon)
        if waitUntilReady { try daemon.waitUntilReady() }
        return daemon
    }

    /// Kills every daemon still running (tearDown).
    func stopAll() {
        for d in daemons where d.isRunning { d.kill9() }
    }

    /// SIGTERM, and the exit status (nil: still running after `timeout`).
    func stop(_ daemon: DaemonProcess, timeout: TimeInterval = 10) -> Int32? {
        daemon.send(SIGTERM)
        return daemon.waitForExit(timeout: timeout)
    }

    /// The logs of every daemon started so far (for failure messages).
    var logs: String {
        daemons.enumerated().map { "--- daemon \($0.offset) (\($0.element.logPath))\n\($0.element.log)" }.joined(separator: "\n")
    }

    // MARK: - Producing jobs

    /// `signd submit`: a PDF and a correctly authorized manifest, dropped atomically; the job id.
    @discardableResult
    func submit(_ pdf: String = DaemonFixture.samplePDF, level: String = "B-B", job: String? = nil, device: String? = nil) throws -> String {
        var args = ["submit", pdf, "--device-dir", deviceDir, "--user", user, "--device", device ?? self.device,
                    "--spool-root", spoolRoot, "--level", level]
        if let job { args += ["--job", job] }
        let out = try signdOK(args)
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Submits many jobs (`job id -> level`), several `signd submit` processes at a time.
    func submitMany(_ jobs: [(id: String, level: String)], concurrency: Int = 8) throws {
        let errors = parallelMap(jobs, concurrency: concurrency) { job -> String? in
            do { _ = try self.submit(level: job.level, job: job.id); return nil } catch { return "\(job.id): \(error)" }
        }.compactMap { $0 }
        if let first = errors.first { throw HarnessError("submit failed: \(first)") }
    }

    /// A valid manifest (JSON object) from `signd device-sim manifest` for `pdf`, whose file name
    /// is the manifest's document.file. `extra`: more options, e.g. `--reason`, `--spool-defaults`
    /// (the approval covers the appearance the daemon will resolve).
    func manifest(pdf: String, job: String, level: String = "B-B", device: String? = nil, mode: String = "cloud",
                  extra: [String] = []) throws -> [String: Any] {
        let out = try signdOK(["device-sim", "manifest", "--dir", deviceDir, "--pdf", pdf, "--job", job, "--user", user,
                               "--device", device ?? self.device, "--level", level, "--mode", mode] + extra)
        guard let object = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any] else {
            throw HarnessError("device-sim manifest did not print a JSON object: \(out.stdout)")
        }
        return object
    }

    /// A copy of the sample PDF named `<name>` in the fixture directory (outside the spool).
    func samplePDFCopy(named name: String) throws -> String {
        let path = root + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: Self.samplePDF, toPath: path)
        return path
    }

    /// Writes `bytes` to incoming/<name> the way producers must: a hidden temporary name, then a rename.
    func drop(_ bytes: Data, as name: String) throws {
        let temporary = incoming + "/.drop-\(UUID().uuidString).tmp"
        try bytes.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, incoming + "/" + name) == 0 else { throw HarnessError("rename into incoming/\(name) failed: errno \(errno)") }
    }

    func drop(file path: String, as name: String) throws {
        try drop(try Data(contentsOf: URL(fileURLWithPath: path)), as: name)
    }

    func drop(manifest: [String: Any], as name: String) throws {
        try drop(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]), as: name)
    }

    // MARK: - Results

    /// Polls until `condition` holds or `timeout` passes; whether it held.
    @discardableResult
    func waitUntil(timeout: TimeInterval, interval: TimeInterval = 0.05, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: interval)
        }
        return condition()
    }

    /// done/<job>.result.json (written last) or failed/<job>.error.json, whichever appears.
    func outcome(of job: String) -> JobOutcome? {
        if exists(done + "/\(job).result.json") { return .done }
        if let report = try? errorReport(failed + "/\(job).error.json") { return .failed(code: report["code"] as? String ?? "?") }
        return nil
    }

    /// Waits for the job's outcome (polling done/ and failed/).
    func waitForOutcome(of job: String, timeout: TimeInterval = 30) throws -> JobOutcome {
        var result: JobOutcome?
        waitUntil(timeout: timeout) { result = outcome(of: job); return result != nil }
        guard let result else { throw HarnessError("job \(job) has no result after \(Int(timeout)) s\n\(spoolListing())\n\(logs)") }
        return result
    }

    func errorReport(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw HarnessError("\(path) is not a JSON object") }
        return object
    }

    func resultJSON(of job: String) throws -> [String: Any] {
        try errorReport(done + "/\(job).result.json")
    }

    /// Whether anything (a symbolic link included, not followed) is at `path`.
    func exists(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)) != nil
    }

    func isSymlink(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType == .typeSymbolicLink
    }

    /// Every entry of a directory, hidden ones included, sorted.
    func entries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    func spoolListing() -> String {
        ["incoming", "work", "pending", "signatures", "done", "failed", "archive"].map { "\($0)/: \(entries(spool + "/" + $0))" }.joined(separator: "\n")
    }

    // MARK: - Verification

    /// The embedded CA's root (the second certificate `signd ca certificate` prints).
    func caRootPath() throws -> String {
        let path = root + "/ca-root.pem"
        if exists(path) { return path }
        let out = try signdOK(["ca", "certificate", "--data-dir", dataDir])
        let blocks = out.stdout.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().map { "-----BEGIN CERTIFICATE-----" + $0 }
        guard blocks.count >= 2, let rootBlock = blocks.last else { throw HarnessError("signd ca certificate printed \(blocks.count) certificates") }
        try Data(rootBlock.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// CA root + embedded TSA root, for pyHanko.
    func trustRootsForPyHanko() throws -> String {
        let path = root + "/pyhanko-roots.pem"
        let ca = try String(contentsOfFile: try caRootPath(), encoding: .utf8)
        let tsa = try String(contentsOfFile: dataDir + "/tsa/root.pem", encoding: .utf8)
        try Data((ca + (ca.hasSuffix("\n") ? "" : "\n") + tsa).utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `signd verify FILE --trust <CA root> --data-dir var`.
    func verify(_ pdf: String) throws -> ProcessOutput {
        try signd(["verify", pdf, "--trust", try caRootPath(), "--data-dir", dataDir])
    }

    /// Events from `signd audit query --format json` (filters as the CLI has them).
    func auditEvents(job: String? = nil, type: String? = nil, dataDir: String? = nil) throws -> [AuditEventRecord] {
        var args = ["audit", "query", "--data-dir", dataDir ?? self.dataDir, "--format", "json"]
        if let job { args += ["--job", job] }
        if let type { args += ["--type", type] }
        let out = try signdOK(args)
        return try JSONDecoder().decode([AuditEventRecord].self, from: Data(out.stdout.utf8))
    }

    /// `sqlite3 DB SQL`.
    func sqlite(_ database: String, _ sql: String) throws -> ProcessOutput {
        try ProcessRunner.run("sqlite3", [database, sql], cwd: root, timeout: 60)
    }

    /// SQL inserting a job row as the daemon writes it (crash windows built by hand with sqlite3):
    /// spool `default`, this fixture's user, `minutesAgo` for both timestamps.
    func jobRowSQL(_ job: String, state: String, documentSha256: String, device: String? = nil,
                   errorCode: String? = nil, minutesAgo: Int = 0) -> String {
        let at = minutesAgo == 0 ? "strftime('%Y-%m-%d %H:%M:%f', 'now')" : "strftime('%Y-%m-%d %H:%M:%f', 'now', '-\(minutesAgo) minutes')"
        let code = errorCode.map { "'\($0)'" } ?? "NULL"
        return """
            INSERT INTO job (jobId, spool, state, documentSha256, userId, deviceId, attempts, errorCode, createdAt, updatedAt)
              VALUES ('\(job)', 'default', '\(state)', '\(documentSha256)', '\(user)', '\(device ?? self.device)', 0, \(code), \(at), \(at));
            """
    }

    static func sha256(_ path: String) throws -> String {
        let out = try ProcessRunner.run("sha256sum", [path], timeout: 60)
        guard out.status == 0, let hex = out.stdout.split(separator: " ").first else { throw HarnessError(ProcessRunner.describe(out, "sha256sum")) }
        return String(hex)
    }

    /// Parses a details JSON string from an audit record.
    static func details(_ record: AuditEventRecord) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(record.details.utf8)) as? [String: String]) ?? [:]
    }
}

/// Results of `parallelMap`, filled from several threads under a lock.
private final class ParallelResults<R>: @unchecked Sendable {
    let lock = NSLock()
    var results: [Int: R] = [:]
    var next = 0
}

/// Lets the worker threads of `parallelMap` share values the caller promises to use safely
/// (the fixture's helpers only read it and run child processes).
private struct Unchecked<V>: @unchecked Sendable {
    let value: V
}

/// `transform` over `items` on up to `concurrency` threads; results in input order.
func parallelMap<T, R>(_ items: [T], concurrency: Int = 8, _ transform: (T) -> R) -> [R] {
    let box = ParallelResults<R>()
    withoutActuallyEscaping(transform) { transform in
        let shared = Unchecked(value: (items, transform))
        DispatchQueue.concurrentPerform(iterations: max(1, min(concurrency, items.count))) { _ in
            let (items, transform) = shared.value
            while true {
                let index: Int = box.lock.withLock { defer { box.next += 1 }; return box.next }
                guard index < items.count else { return }
                let r = transform(items[index])
                box.lock.withLock { box.results[index] = r }
            }
        }
    }
    return (0..<items.count).map { box.results[$0]! }
}

/// Base class: one fixture per test, every daemon killed in tearDown.
class DaemonTestCase: XCTestCase {
    /// `curl` against the daemon: (status, body).
    func http(_ port: Int, _ path: String, user: String? = nil, password: String? = nil) throws -> (Int, String) {
        var args = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", "http://127.0.0.1:\(port)\(path)"]
        if let user, let password { args += ["-u", "\(user):\(password)"] }
        let out = try ProcessRunner.run("curl", args, timeout: 30)
        guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "curl \(path)")) }
        var lines = out.stdout.components(separatedBy: "\n")
        let status = Int(lines.removeLast()) ?? -1
        return (status, lines.joined(separator: "\n"))
    }

    var fixture: DaemonFixture!

    /// How the fixture's device is enrolled (external-mode suites override this).
    class var enrollment: DaemonFixture.Enrollment { .cloud }

    override func setUpWithError() throws {
        try super.setUpWithError()
        fixture = try DaemonFixture(enrollment: Self.enrollment)
    }

    override func tearDown() {
        fixture?.stopAll()
        fixture = nil  // XCTest keeps test case objects alive: release the directory now
        super.tearDown()
    }

    /// A configuration with one `default` spool whose document timeout is `seconds`.
    static func shortTimeoutConfiguration(_ seconds: Int = 2) -> String {
        #"{"spools":[{"name":"default","documentTimeoutSeconds":\#(seconds)}]}"#
    }
}

/// A delivered sign job's audit trail: each step once, in order, no failure, every event naming
/// the job's user and device, the received event the original's digest, the signed event the
/// certificate serial. (Shared by the process-level and the in-process happy paths.)
func assertDeliveredTrail(_ events: [AuditEventRecord], user: String, device: String, originalSha256: String,
                          file: StaticString = #filePath, line: UInt = #line) {
    let types = events.map(\.type)
    let steps = ["job.received", "job.authorized", "job.signed", "job.delivered"]
    for step in steps {
        XCTAssertEqual(types.filter { $0 == step }.count, 1, "\(step) once in \(types)", file: file, line: line)
    }
    let order = steps.compactMap { types.firstIndex(of: $0) }
    XCTAssertEqual(order, order.sorted(), "steps out of order: \(types)", file: file, line: line)
    XCTAssertFalse(types.contains("job.failed"), "\(types)", file: file, line: line)
    for e in events {
        XCTAssertEqual(e.userId, user, "\(e.type)", file: file, line: line)
        XCTAssertEqual(e.deviceId, device, "\(e.type)", file: file, line: line)
    }
    XCTAssertEqual(events.first { $0.type == "job.received" }?.documentSha256, originalSha256, file: file, line: line)
    XCTAssertNotNil(events.first { $0.type == "job.signed" }?.certificateSerial, "job.signed names the certificate serial", file: file, line: line)
}

/// A signed job's result.json: the job, `signed`, the level, the output's name and digest, the
/// original's digest.
func assertSignedResult(_ result: [String: Any], job: String, level: String, signedSha256: String, originalSha256: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result["jobId"] as? String, job, file: file, line: line)
    XCTAssertEqual(result["status"] as? String, "signed", file: file, line: line)
    XCTAssertEqual(result["level"] as? String, level, file: file, line: line)
    XCTAssertEqual(result["document"] as? String, "\(job).pdf", file: file, line: line)
    XCTAssertEqual(result["documentSha256"] as? String, signedSha256, file: file, line: line)
    XCTAssertEqual(result["originalSha256"] as? String, originalSha256, file: file, line: line)
}

/// The bytes of the last /Contents <hex> of a PDF (the CMS of its last signature).
func lastContents(ofPDF pdf: String) throws -> [UInt8] {
    let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: pdf)), as: UTF8.self)
    let regex = try NSRegularExpression(pattern: "/Contents\\s*<([0-9A-Fa-f]+)>")
    let matches = regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
    guard let last = matches.last, let range = Range(last.range(at: 1), in: text) else {
        throw NSError(domain: "signd-tests", code: 1, userInfo: [NSLocalizedDescriptionKey: "no /Contents <hex> in \(pdf)"])
    }
    let hex = Array(text[range].utf8)
    func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57 }
    return stride(from: 0, to: hex.count - 1, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) }
}
