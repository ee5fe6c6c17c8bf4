import Audit
import CertificateAuthority
import CertificateLifecycle
import Crypto
import Daemon
import DeviceSimulation
import DocumentSigning
import Foundation
import JobEngine
import Jobs
import Logging
import PAdES
import PDFSyntax
import SCA
import SigndCore
import StateStore
import SwiftASN1
import TestSupport
import Timestamping
import X509
import XCTest

// In-process harness for the job engine (issue 14): a JobPipeline composed as `signd run`
// composes it (Sources/signd/RunCommand.swift, Composition.swift) over a temporary data directory
// and spool: real files, real SQLite state and audit databases, the real embedded CA, enrollment
// and SCA authorizer (device-signature approvals from the device simulator), and the embedded
// TSA in-process. Time is a manual clock the test advances; the TSA transport fails on demand.
// Nothing sleeps or polls: a test calls the pipeline and asserts when the call returns.

/// A clock the test moves by hand. Every part of the pipeline (CA, enrollment, TSA, timestamp
/// client, pipeline) reads it.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(by seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }

    /// The clock as the dependencies take it.
    var function: @Sendable () -> Date { { [self] in self.now } }
}

/// The embedded TSA reached in-process, failing the next `failures` requests with
/// `tsa.unreachable` (retryable), as a TSA outage does.
final class FailingTSATransport: TimestampTransport, @unchecked Sendable {
    private let lock = NSLock()
    private let inner: InProcessTransport
    private var failuresLeft = 0
    private var requestCount = 0

    init(authority: TimeStampAuthority) { inner = InProcessTransport(authority: authority) }

    /// The next `count` requests fail.
    func failNext(_ count: Int) { lock.withLock { failuresLeft = count } }

    /// Requests seen so far (failed ones included).
    var requests: Int { lock.withLock { requestCount } }

    func post(url: String, body: [UInt8], contentType: String, timeout: TimeInterval) async throws -> TransportResponse {
        let fail: Bool = lock.withLock {
            requestCount += 1
            guard failuresLeft > 0 else { return false }
            failuresLeft -= 1
            return true
        }
        if fail { throw TimestampError(.unreachable, "the test TSA is down", url: url, retryable: true) }
        return try await inner.post(url: url, body: body, contentType: contentType, timeout: timeout)
    }
}

/// The embedded TSA's certificate from the embedded CA (as `EmbeddedCATSAIssuer` in Sources/signd).
struct HarnessTSAIssuer: TSACertificateIssuer {
    static let profile = CertificateProfile(
        name: "tsa", validitySeconds: 5 * 365 * 86_400, keyUsage: [.digitalSignature, .nonRepudiation],
        extendedKeyUsage: ["timeStamping"], extendedKeyUsageCritical: true,
        requiredSubjectAttributes: ["CN"], allowedSubjectAttributes: ["CN", "O", "OU", "C"], allowedKeyTypes: [.p256])
    let ca: EmbeddedCA

    func issueTSACertificate(key: P256.Signing.PrivateKey, subject: DistinguishedName) throws -> (certificate: Certificate, chain: [Certificate]) {
        let csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: .init(key),
                                                attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        let issued = try ca.issue(EnrollmentRequest(csrDER: serializer.serializedBytes, profile: Self.profile.name, userId: "signd", deviceId: "embedded-tsa"))
        return (issued.certificate, issued.chain)
    }
}

/// One installation (data directory, spool `default`, a registered and enrolled device) and the
/// pipeline over it. `restart()` builds a new pipeline, databases and services over the same
/// directories, as a new `signd run` process would.
final class PipelineHarness: @unchecked Sendable {
    enum Enrollment { case cloud, external }

    static let sampleDigest = "6257b996512bcc17a17676dd73cace89d729e23f1acbdabfd3bcf49951e7eb13"

    /// Where installations are made: `SIGND_PIPELINE_TMPDIR`, else /dev/shm when there is one,
    /// else the system temporary directory. Every job step fsyncs files and directories and
    /// commits SQLite with `synchronous = FULL`; on a disk shared with builds that made a test
    /// take 0.07 to 0.5 s depending on the others' I/O. On tmpfs the same calls run (as no-ops for
    /// durability, which StateStoreTests cover) and the time is the pipeline's own.
    static let baseDirectory: String? = {
        if let chosen = ProcessInfo.processInfo.environment["SIGND_PIPELINE_TMPDIR"], !chosen.isEmpty { return chosen }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue,
           FileManager.default.isWritableFile(atPath: "/dev/shm") { return "/dev/shm" }
        return nil
    }()
    static var samplePDF: String { PackagePaths.root + "/samples/contract.pdf" }

    let directory: TemporaryDirectory
    let clock: ManualClock
    let user = "alice"
    let deviceId = "phone1"
    /// The user's phone: its key approves cloud jobs and signs external DTBSs.
    let device = DeviceSimulator()
    let layout: SpoolLayout
    private(set) var configuration: PipelineConfiguration
    /// The SCA settings and the PowerAuth client (`sca`, `sca.powerauth`), kept across restarts.
    let sca: SCAConfiguration
    let powerAuth: PowerAuthClientConfiguration?
    private(set) var database: StateDatabase
    private(set) var audit: AuditLog
    private(set) var pipeline: JobPipeline
    private(set) var tsa: FailingTSATransport
    private(set) var timestamper: TimestampClient
    private(set) var caChain: [Certificate]
    private(set) var tsaRoot: Certificate
    /// The certificate authority (device removal revokes through it).
    private(set) var ca: EmbeddedCA

    var root: String { directory.path }
    var dataDir: String { root + "/var" }
    var spoolRoot: String { root + "/spool" }
    var incoming: String { layout.incoming }
    var work: String { layout.work }
    var pending: String { layout.pending }
    var signatures: String { layout.signatures }
    var done: String { layout.done }
    var failed: String { layout.failed }
    var archive: String { layout.archive }

    private init(directory: TemporaryDirectory, clock: ManualClock, configuration: PipelineConfiguration, sca: SCAConfiguration,
                 powerAuth: PowerAuthClientConfiguration?, parts: Parts) {
        self.directory = directory
        self.sca = sca
        self.powerAuth = powerAuth
        self.clock = clock
        self.configuration = configuration
        self.layout = parts.layout
        self.database = parts.database
        self.audit = parts.audit
        self.pipeline = parts.pipeline
        self.tsa = parts.tsa
        self.timestamper = parts.timestamper
        self.caChain = parts.caChain
        self.tsaRoot = parts.tsaRoot
        self.ca = parts.ca
    }

    /// A fresh installation: data directory, spool, the device registered for the user and
    /// enrolled (cloud: signd keeps the key; external: from the device's CSR), the clock at now
    /// (whole seconds). `sca` and `powerAuth`: the SCA settings and a PowerAuth server (e.g.
    /// TestSupport's FakePowerAuthServer), as `sca.powerauth` configures them.
    static func make(enrollment: Enrollment = .cloud, sca: SCAConfiguration = SCAConfiguration(), powerAuth: PowerAuthClientConfiguration? = nil,
                     configure: (inout PipelineConfiguration) -> Void = { _ in }) async throws -> PipelineHarness {
        let directory = try TemporaryDirectory(prefix: "signd-pipeline", in: baseDirectory)
        let clock = ManualClock(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        var configuration = PipelineConfiguration()
        configure(&configuration)
        let parts = try await compose(root: directory.path, clock: clock, configuration: configuration, sca: sca, powerAuth: powerAuth)
        let harness = PipelineHarness(directory: directory, clock: clock, configuration: configuration, sca: sca, powerAuth: powerAuth, parts: parts)
        try await harness.enroll(enrollment)
        return harness
    }

    private struct Parts {
        var layout: SpoolLayout
        var database: StateDatabase
        var audit: AuditLog
        var pipeline: JobPipeline
        var tsa: FailingTSATransport
        var timestamper: TimestampClient
        var caChain: [Certificate]
        var tsaRoot: Certificate
        var ca: EmbeddedCA
    }

    /// The object graph of `signd run` for one spool (embedded CA and TSA, PowerAuth when given).
    private static func compose(root: String, clock: ManualClock, configuration: PipelineConfiguration, sca: SCAConfiguration,
                                powerAuth: PowerAuthClientConfiguration?) async throws -> Parts {
        let dataDir = root + "/var"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let now = clock.function
        let kek = try KeyEncryptionKey.load(dataDirectory: dataDir, environment: [:])
        let ca = try EmbeddedCA.loadOrCreate(dataDirectory: dataDir, kek: kek, profiles: try CertificateProfiles([HarnessTSAIssuer.profile]), now: now)
        let tsaIdentity = try TSAIdentity.loadOrCreate(dataDirectory: dataDir, kek: kek, issuer: HarnessTSAIssuer(ca: ca), now: clock.now)
        let authority = TimeStampAuthority(signer: tsaIdentity.signer, chain: tsaIdentity.chain,
                                           serials: FileSerialSource(path: dataDir + "/tsa/serial"), clock: now)
        let transport = FailingTSATransport(authority: authority)
        var clientConfiguration = TimestampClientConfiguration(urls: ["embedded"], validator: TimestampTokenValidator(trustAnchors: [tsaIdentity.root]))
        // One request per attempt of a job: the job's retries (JobPolicy) are what a test watches.
        clientConfiguration.attemptsPerURL = 1
        let timestamper = TimestampClient(configuration: clientConfiguration, transport: transport, clock: now, sleep: { _ in })
        let database = try StateDatabase(path: dataDir + "/state.sqlite")
        let audit = try AuditLog(path: dataDir + "/audit.sqlite")
        let enrollment = EnrollmentService(database: database, ca: ca, kek: kek, clock: now)
        let caChain = try await ca.caChain()
        let layout = SpoolLayout(name: "default", spoolRoot: root + "/spool")
        try layout.ensure()
        let deps = PipelineDependencies(database: database, audit: audit, authorizer: CompositeAuthorizer(database: database, configuration: sca,
                                                                                                     powerAuth: try powerAuth.map { try PowerAuthClient(configuration: $0) }),
                                        enrollment: enrollment, caChain: caChain, timestamper: timestamper, clock: now,
                                        sleep: { [clock] seconds in clock.advance(by: seconds) },
                                        logger: Logger(label: "signd-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let pipeline = JobPipeline(layout: layout, configuration: configuration, dependencies: deps)
        return Parts(layout: layout, database: database, audit: audit, pipeline: pipeline, tsa: transport, timestamper: timestamper,
                     caChain: caChain, tsaRoot: tsaIdentity.root, ca: ca)
    }

    private func enroll(_ kind: Enrollment) async throws {
        _ = try DeviceRegistry(database: database).register(deviceId: deviceId, userId: user, publicKey: device.publicKey, now: clock.now)
        let enrollment = EnrollmentService(database: database, ca: ca, kek: try KeyEncryptionKey.load(dataDirectory: dataDir, environment: [:]), clock: clock.function)
        let subject = "CN=Alice,serialNumber=\(deviceId),C=CZ"
        switch kind {
        case .cloud:
            _ = try await enrollment.enrollCloud(userId: user, deviceId: deviceId, subject: try SubjectName.parse(subject), profile: "default")
        case .external:
            _ = try await enrollment.enrollExternal(userId: user, deviceId: deviceId, csrDER: try device.csr(subject: subject), profile: "default")
        }
    }

    // MARK: - The daemon's life

    /// A new process over the same directories: new databases, services and pipeline, then the
    /// start-up recovery (`recover()`). The TSA's outage plan does not survive: it is a new TSA
    /// client. `configure` changes the configuration first (as a new configuration file would).
    func restart(configure: (inout PipelineConfiguration) -> Void = { _ in }) async throws {
        configure(&configuration)
        let parts = try await Self.compose(root: root, clock: clock, configuration: configuration, sca: sca, powerAuth: powerAuth)
        database = parts.database
        audit = parts.audit
        pipeline = parts.pipeline
        tsa = parts.tsa
        timestamper = parts.timestamper
        caChain = parts.caChain
        tsaRoot = parts.tsaRoot
        ca = parts.ca
        await recover()
    }

    /// The start-up recovery of the running pipeline.
    func recover() async { await pipeline.recover() }

    /// What the spool service does at start after recovery and at every rescan: each manifest
    /// in incoming/ and each signature file is looked at once.
    func scan() async {
        for name in entries(incoming) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            _ = await pipeline.intake(manifestName: name)
        }
        for name in entries(signatures) where name.hasSuffix(".signature.json") && !name.hasPrefix(".") {
            await pipeline.handleSignature(fileName: name)
        }
    }

    /// The periodic rescan's work after `seconds` pass: due retries, the scan, expiry.
    func advance(by seconds: TimeInterval) async {
        clock.advance(by: seconds)
        await runDueRetries()
        await scan()
        await pipeline.expireAwaitingSignatures()
    }

    /// Runs every job whose retry time has come; their ids.
    @discardableResult
    func runDueRetries() async -> [String] {
        let due = pipeline.dueRetries()
        for jobId in due { await pipeline.process(jobId: jobId) }
        return due
    }

    func intake(_ name: String) async -> IntakeResult { await pipeline.intake(manifestName: name) }

    func process(_ jobId: String) async { await pipeline.process(jobId: jobId) }

    // MARK: - Producing jobs

    /// A copy of the sample PDF named `name` outside the spool.
    func samplePDFCopy(named name: String) throws -> String {
        let path = root + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: Self.samplePDF, toPath: path)
        return path
    }

    /// A valid manifest for `pdf` (its file name is document.file) approved by the device now
    /// (cloud mode; external mode carries no authorization), as `signd device-sim manifest`.
    /// `deviceId`: the manifest names another device (still approved by this harness's phone key).
    func manifest(pdf: String, job: String, level: SignatureLevel = .bb, mode: SigningMode = .cloud,
                  appearance: SignManifest.Appearance? = nil, spoolDefaults: SignManifest.Appearance? = nil,
                  expiresIn: TimeInterval = 300, deviceId: String? = nil) throws -> SignManifest {
        try device.manifest(pdfPath: pdf, jobId: job, userId: user, deviceId: deviceId ?? self.deviceId, level: level, mode: mode,
                            appearance: appearance, spoolDefaults: spoolDefaults, now: clock.now, expiresIn: expiresIn)
    }

    /// A manifest as a JSON object, to be edited into what no producer should send.
    static func object(_ manifest: SignManifest) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: encode(manifest)) as? [String: Any] else { throw HarnessError("manifest is not a JSON object") }
        return object
    }

    func drop(object: [String: Any], as name: String) throws { try drop(try JSONSerialization.data(withJSONObject: object), as: name) }

    /// Registers another device of the user (`signd device register`), not enrolled.
    func registerDevice(_ id: String, publicKey: P256.Signing.PublicKey? = nil) throws {
        _ = try DeviceRegistry(database: database).register(deviceId: id, userId: user, publicKey: publicKey ?? device.publicKey, now: clock.now)
    }

    static func encode(_ manifest: SignManifest) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(manifest)
    }

    /// Writes `bytes` to `dir/name` the way producers must: a hidden temporary name, then a rename.
    func drop(_ bytes: Data, as name: String, into dir: String? = nil) throws {
        let target = dir ?? incoming
        let temporary = target + "/.drop-\(UUID().uuidString).tmp"
        try bytes.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, target + "/" + name) == 0 else { throw HarnessError("rename into \(target)/\(name) failed: errno \(errno)") }
    }

    func drop(manifest: SignManifest, as name: String) throws { try drop(try Self.encode(manifest), as: name) }

    func drop(file path: String, as name: String) throws { try drop(try Data(contentsOf: URL(fileURLWithPath: path)), as: name) }

    /// The sample PDF and an approved manifest dropped into incoming/ (`<job>.pdf`, `<job>.json`); not yet looked at.
    @discardableResult
    func dropJob(_ job: String, level: SignatureLevel = .bb, mode: SigningMode = .cloud) throws -> SignManifest {
        let pdf = try samplePDFCopy(named: "\(job).pdf")
        let manifest = try self.manifest(pdf: pdf, job: job, level: level, mode: mode)
        try drop(file: pdf, as: "\(job).pdf")
        try drop(manifest: manifest, as: "\(job).json")
        return manifest
    }

    /// `dropJob` and its intake: the job runs until it is finished or waits.
    @discardableResult
    func submit(_ job: String, level: SignatureLevel = .bb, mode: SigningMode = .cloud) async throws -> IntakeResult {
        try dropJob(job, level: level, mode: mode)
        return await intake("\(job).json")
    }

    /// work/<job>.document.pdf (the approved sample unless `document` is given) and
    /// work/<job>.manifest.json with no state row, as a crash after the claim's renames leaves them.
    @discardableResult
    func placeClaimedWork(job: String, document: Data? = nil, level: SignatureLevel = .bb, mode: SigningMode = .cloud) throws -> SignManifest {
        let manifest = try self.manifest(pdf: try samplePDFCopy(named: "\(job).pdf"), job: job, level: level, mode: mode)
        let bytes = try document ?? Data(contentsOf: URL(fileURLWithPath: Self.samplePDF))
        try bytes.write(to: URL(fileURLWithPath: layout.workFiles(job).document))
        try Self.encode(manifest).write(to: URL(fileURLWithPath: layout.workFiles(job).manifest))
        return manifest
    }

    /// Inserts a job row as a daemon had written it (crash windows built by hand): the sample's
    /// digest, this harness's user and device, at the clock's now; `edit` sets the rest.
    @discardableResult
    func insertJob(_ job: String, state: JobState, documentSha256: String = PipelineHarness.sampleDigest,
                   edit: (inout JobRecord) -> Void = { _ in }) throws -> JobRecord {
        var record = JobRecord(jobId: job, spool: layout.name, state: state, documentSha256: documentSha256, userId: user, deviceId: deviceId, now: clock.now)
        edit(&record)
        let (claimed, _) = try database.claimJob(record)
        guard claimed else { throw HarnessError("job \(job) already has a row") }
        return record
    }

    // MARK: - External mode

    var pendingPaths: [String] { entries(pending).filter { $0.hasSuffix(".dtbs.json") } }

    /// pending/<job>.dtbs.json as a JSON object.
    func pendingFile(_ job: String) throws -> [String: Any] { try jsonObject(pending + "/\(job).dtbs.json") }

    /// The device's answer to the job's pending DTBS (`signd device-sim sign-dtbs`), by this
    /// harness's device or `signer`.
    func signPending(_ job: String, by signer: DeviceSimulator? = nil) throws -> Data {
        let json = try Data(contentsOf: URL(fileURLWithPath: pending + "/\(job).dtbs.json"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(try (signer ?? device).signPending(json))
    }

    /// Drops signatures/<job>.signature.json (temporary name, then rename); not yet looked at.
    func dropSignature(_ bytes: Data, job: String) throws { try drop(bytes, as: "\(job).signature.json", into: signatures) }

    /// Drops the signature and hands it to the pipeline, as inotify does.
    func deliverSignature(_ bytes: Data, job: String) async throws {
        try dropSignature(bytes, job: job)
        await pipeline.handleSignature(fileName: "\(job).signature.json")
    }

    // MARK: - Results

    func job(_ id: String) throws -> JobRecord {
        guard let row = try database.job(id) else { throw HarnessError("no state row for job \(id)") }
        return row
    }

    /// done/<job>.result.json or failed/<job>.error.json, whichever is there.
    func outcome(of job: String) -> JobOutcome? {
        if exists(done + "/\(job).result.json") { return .done }
        if let report = try? jsonObject(failed + "/\(job).error.json") { return .failed(code: report["code"] as? String ?? "?") }
        return nil
    }

    func auditEvents(job: String? = nil, type: String? = nil) throws -> [AuditEventRecord] {
        var query = AuditLog.Query()
        query.jobId = job
        query.type = type
        return try audit.query(query)
    }

    func auditTypes(job: String) throws -> [String] { try auditEvents(job: job).map(\.type) }

    /// The `code` in the details of the job's events of `type` (e.g. the precise denial codes).
    func auditCodes(job: String, type: String) throws -> [String] {
        try auditEvents(job: job, type: type).map { Self.details($0)["code"] ?? "?" }
    }

    static func details(_ record: AuditEventRecord) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(record.details.utf8)) as? [String: String]) ?? [:]
    }

    func jsonObject(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw HarnessError("\(path) is not a JSON object") }
        return object
    }

    func resultJSON(of job: String) throws -> [String: Any] { try jsonObject(done + "/\(job).result.json") }

    func errorReport(of job: String) throws -> [String: Any] { try jsonObject(failed + "/\(job).error.json") }

    func exists(_ path: String) -> Bool { (try? FileManager.default.attributesOfItem(atPath: path)) != nil }

    /// Every entry of a directory, hidden ones included, sorted.
    func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    func spoolListing() -> String {
        ["incoming", "work", "pending", "signatures", "done", "failed", "archive"].map { "\($0)/: \(entries(layout.root + "/" + $0))" }.joined(separator: "\n")
    }

    /// Every error report in failed/: file name and code.
    func failedReports() -> [(name: String, code: String)] {
        entries(failed).filter { $0.hasSuffix(".error.json") }.map { name in
            (name, (try? jsonObject(failed + "/" + name))?["code"] as? String ?? "?")
        }
    }

    static func sha256(_ path: String) throws -> String {
        Hex.encode(Array(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path)))))
    }

    /// signd's verifier on a signed PDF, trusting the embedded CA's root and the embedded TSA, at
    /// the clock's now (what `signd verify --trust <CA root>` reports).
    func verify(_ pdf: String) async throws -> VerificationReport {
        let document = try PDFDocument(source: try FileByteSource(path: pdf, followSymlinks: false))
        let validator = timestamper.configuration.validator
        let verifier = PAdESVerifier(trustRoots: caChain.last.map { [$0] }, validationTime: clock.now) { token, value in
            await validator.report(token: token, signatureValue: value)
        }
        return try await verifier.verify(document: document, fileName: pdf)
    }

    /// The last signature of `pdf` as the verifier reports it.
    func lastSignature(_ pdf: String) async throws -> SignatureReport {
        guard let last = try await verify(pdf).signatures.last else { throw HarnessError("\(pdf) has no signature") }
        return last
    }

    /// Asserts that `pdf` holds exactly one signature, intact and trusted, at `level`.
    func assertVerifies(_ pdf: String, level: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let report = try await verify(pdf)
        XCTAssertEqual(report.signatures.count, 1, "\(pdf): \(report.signatures.count) signature(s)", file: file, line: line)
        guard let last = report.signatures.last else { return }
        XCTAssertTrue(last.intact && last.trusted == true && last.level == level,
                      "\(pdf): intact \(last.intact), trusted \(String(describing: last.trusted)), level \(last.level), problems \(last.problems)",
                      file: file, line: line)
    }
}

/// The base of the in-process pipeline tests: a fresh harness per test (`makeHarness`, which a
/// class overrides for another enrollment or configuration), dropped after it.
class PipelineTestCase: XCTestCase {
    var h: PipelineHarness!

    /// The harness each test starts with; nil: the test makes its own.
    func makeHarness() async throws -> PipelineHarness? { try await PipelineHarness.make() }

    override func setUp() async throws {
        try await super.setUp()
        h = try await makeHarness()
    }

    override func tearDown() async throws {
        h = nil
        try await super.tearDown()
    }
}
