import Audit
import CertificateLifecycle
import CMSSigning
import Crypto
import DocumentSigning
import Foundation
import JobEngine
import Jobs
import Logging
import PAdES
import PDFSignatures
import PDFSyntax
import SCA
import SigndCore
import StateStore
import SwiftASN1
import Timestamping
import X509

/// Settings of one spool's pipeline.
public struct PipelineConfiguration: Sendable {
    /// A manifest whose PDF is missing or incomplete for this long fails with `document.missing`.
    public var documentTimeout: TimeInterval = 600
    /// Largest PDF accepted.
    public var maximumDocumentBytes: Int64 = 8 << 30
    /// Retries of retryable failures (TSA/CA/SCA unreachable) before the job fails.
    public var maximumRetries: Int = 5
    public var retryBase: TimeInterval = 2
    public var digest: DigestAlgorithm = .sha256
    /// External mode: how long the device's signature may take after the DTBS is handed out.
    public var externalSignatureTimeout: TimeInterval = 300
    /// Consecutive failed device signatures that block a device (same as sca.maxFailures).
    public var maxFailures: Int = 5
    /// The spool's defaults for what a sign manifest leaves out (level, appearance texts).
    public var manifestDefaults = ManifestDefaults()
    /// The poison-job guard: a job whose attempts a crash interrupted this many times fails with
    /// `job.crashed` (its files kept in failed/) instead of being replayed at every start.
    public var maximumInterruptions: Int = 2
    public init() {}
}

/// Everything the pipeline uses, built by the composition root.
public struct PipelineDependencies: Sendable {
    public var database: StateDatabase
    public var audit: AuditLog
    public var authorizer: any JobAuthorizer
    public var enrollment: EnrollmentService
    /// Chain embedded after the signer certificate (issuing CA first); its last element is the
    /// root used for the self-check.
    public var caChain: [Certificate]
    public var timestamper: TimestampClient?
    public var clock: @Sendable () -> Date
    /// How the pipeline waits inside a step (polling for a busy device's lease); tests pass one
    /// that moves their clock.
    public var sleep: @Sendable (TimeInterval) async throws -> Void
    /// Shared by every spool's pipeline and the readiness probe.
    public var auditHealth: AuditHealth
    public var logger: Logger

    public init(database: StateDatabase, audit: AuditLog, authorizer: any JobAuthorizer, enrollment: EnrollmentService,
                caChain: [Certificate], timestamper: TimestampClient?, clock: @escaping @Sendable () -> Date,
                sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64(clampedTimeoutMilliseconds($0)) * 1_000_000) },
                auditHealth: AuditHealth = AuditHealth(), logger: Logger) {
        self.database = database
        self.audit = audit
        self.authorizer = authorizer
        self.enrollment = enrollment
        self.caChain = caChain
        self.timestamper = timestamper
        self.clock = clock
        self.sleep = sleep
        self.auditHealth = auditHealth
        self.logger = logger
    }
}

/// What happened to a manifest when it was looked at.
public enum IntakeResult: Sendable, Equatable {
    /// Claimed and processed to the end (delivered or failed), or scheduled for retry.
    case processed(jobId: String)
    /// The PDF is not there (or not complete) yet; look again later.
    case waiting
    /// Rejected before a job could be claimed (bad manifest, duplicate, timeout).
    case rejected(code: String)
    /// Not a manifest (e.g. a PDF, a temporary file).
    case ignored
}

/// Turns spool files into signed PDFs or error reports. Each job moves through states persisted
/// in the state database (claimed → authorized → signed → delivered | failed), so after a crash
/// a job resumes at the step it had reached: authorization is never consumed twice and a signed
/// result is delivered once.
///
/// Not an actor: the workers run jobs in parallel (an actor ran every job's file, SQLite and
/// verification work on one executor, so two workers used one core). What the workers share is
/// the bookkeeping below, under a lock; the claim itself is serialized by the file system
/// (the no-replace rename of the manifest to `work/<job>.manifest.json` fails for the second claimant) and each state change by the database.
public final class JobPipeline: Sendable {
    public let layout: SpoolLayout
    /// Replaced as a whole by `reconfigure` (SIGHUP); each read sees one complete configuration.
    private let settings: PipelineSettings
    var configuration: PipelineConfiguration { settings.value }
    let deps: PipelineDependencies
    let bookkeeping: PipelineBookkeeping
    public let metrics: PipelineMetrics

    public init(layout: SpoolLayout, configuration: PipelineConfiguration, dependencies: PipelineDependencies) {
        self.layout = layout
        self.settings = PipelineSettings(configuration)
        self.deps = dependencies
        let metrics = PipelineMetrics(spool: layout.name)
        self.metrics = metrics
        self.bookkeeping = PipelineBookkeeping(inFlightChanged: { metrics.inFlight($0) })
    }

    var now: Date { deps.clock() }

    /// Whether job steps can write their audit records (the readiness probe reads it).
    public var auditHealth: AuditHealth { deps.auditHealth }

    /// Applies new settings (SIGHUP): timeouts, manifest defaults and the failure limit take
    /// effect for the next step of every job; work in progress is not interrupted.
    public func reconfigure(_ configuration: PipelineConfiguration) {
        settings.value = configuration
    }

    // MARK: - Intake

    /// Looks at `incoming/<name>`; manifests are `*.json`.
    public func intake(manifestName name: String) async -> IntakeResult {
        guard name.hasSuffix(".json"), !name.hasPrefix("."), !name.contains("/") else { return .ignored }
        let path = layout.incoming + "/" + name
        guard FileManager.default.fileExists(atPath: path) || SpoolFiles.isSymlink(path) else { return .ignored }
        // One worker at a time per manifest name (inotify and the rescan can queue a name again
        // while a worker has it): the other one looks again at the next rescan.
        guard bookkeeping.begin("intake-name:" + name) else { return .waiting }
        defer { bookkeeping.end("intake-name:" + name) }
        let intakeStarted = DispatchTime.now().uptimeNanoseconds
        let parsed: JobManifest
        let data: Data
        do {
            if let size = SpoolFiles.size(path), size > Int64(ManifestValidator.maximumManifestBytes) {
                throw ManifestError(code: "manifest.tooLarge", message: "the manifest has \(size) bytes; the limit is \(ManifestValidator.maximumManifestBytes)")
            }
            data = try SpoolFiles.readRegular(path, limit: ManifestValidator.maximumManifestBytes)
            parsed = try ManifestValidator.parseJob(data, defaults: configuration.manifestDefaults)
        } catch {
            // Claimed by another worker between the listing and the read: nothing to report.
            if FileStatus(path: path) == nil { return .ignored }
            let (code, message) = Self.describe(error)
            rejectUnclaimed(files: [name], baseName: String(name.dropLast(5)), code: code, message: message, jobId: nil)
            return .rejected(code: code)
        }
        // One at a time per job id, whatever the type (two manifest names for one job): the
        // duplicate check below must see the first claim's state row before the second decides.
        let key = parsed.jobId
        guard bookkeeping.begin("intake-job:" + key) else { return .waiting }
        defer { bookkeeping.end("intake-job:" + key) }
        let manifest: SignManifest
        switch parsed {
        case .sign(let sign): manifest = sign
        case let administrative: return await intakeAdministrative(administrative, manifestName: name, data: data)  // AdministrativeJobs.swift
        }
        let pdfPath = layout.incoming + "/" + manifest.document.file
        // And one at a time per PDF name (two manifests naming one PDF): the second must find
        // the PDF gone and wait, not lose its manifest in a half-done claim.
        guard bookkeeping.begin("intake-pdf:" + manifest.document.file) else { return .waiting }
        defer { bookkeeping.end("intake-pdf:" + manifest.document.file) }
        let seenAt = bookkeeping.firstSeen(key, now: now)

        // Duplicate job id: never processed twice.
        let existing: JobRecord?
        do { existing = try deps.database.job(manifest.jobId) } catch {
            deps.logger.error("reading the state database failed; the manifest is looked at again at the next rescan",
                              metadata: ["job": .string(manifest.jobId), "error": .string("\(error)")])
            return .waiting
        }
        if let existing {
            let where_ = existing.resultPath ?? "\(layout.failed)/\(existing.jobId).error.json"
            let files = [name] + (SpoolFiles.isRegularFile(pdfPath) ? [manifest.document.file] : [])
            rejectUnclaimed(files: files, baseName: manifest.jobId + ".duplicate", code: "job.duplicate",
                            message: "job \(manifest.jobId) was already processed (state \(existing.state.rawValue)); its result: \(where_). Use a new job id for a new job.",
                            jobId: manifest.jobId, auditType: .inputRejected)
            bookkeeping.forget(key)
            return .rejected(code: "job.duplicate")
        }

        // The PDF must be present and hash to the manifest's digest (that is how we know it is complete).
        var digest: String?
        var hashedIdentity: FileIdentity?
        if let status = FileStatus(path: pdfPath), status.kind != .regular {
            let what = status.kind == .symlink ? "a symbolic link; signd never follows links in the spool"
                : status.kind == .directory ? "a directory, not a PDF file" : "a special file (FIFO, socket or device), not a PDF file"
            rejectUnclaimed(files: [name, manifest.document.file], baseName: manifest.jobId, code: "spool.notRegularFile",
                            message: "\(manifest.document.file) is \(what); write the PDF as a regular file (temporary name, then rename) and resubmit", jobId: manifest.jobId)
            return .rejected(code: "spool.notRegularFile")
        }
        if let status = FileStatus(path: pdfPath) {
            if status.size > configuration.maximumDocumentBytes {
                rejectUnclaimed(files: [name, manifest.document.file], baseName: manifest.jobId, code: "document.tooLarge",
                                message: "the PDF has \(status.size) bytes; the limit is \(configuration.maximumDocumentBytes)", jobId: manifest.jobId)
                return .rejected(code: "document.tooLarge")
            }
            // The producer must not keep a second name for the file: signd takes the PDF out of
            // its reach when it claims it (docs/spool.md, "What a producer may do").
            if status.linkCount > 1 {
                rejectUnclaimed(files: [name, manifest.document.file], baseName: manifest.jobId, code: "document.linked",
                                message: "\(manifest.document.file) has \(status.linkCount) hard links; a producer must hand the PDF over, not keep a second name for it (it could change the bytes after the user approved them). Write a new file under a temporary name, rename it into incoming/ and resubmit", jobId: manifest.jobId)
                return .rejected(code: "document.linked")
            }
            let identity = FileIdentity(status)
            hashedIdentity = identity
            if let known = bookkeeping.cachedDigest(key, identity: identity) {
                digest = known
            } else if let computed = try? Self.sha256(ofFile: pdfPath) {
                digest = computed
                bookkeeping.rememberDigest(key, identity: identity, digest: computed)
            }
        }
        guard let digest, digest == manifest.document.sha256 else {
            if now.timeIntervalSince(seenAt) >= configuration.documentTimeout {
                let present = digest != nil
                bookkeeping.forget(key)
                let code = present ? "document.digestMismatch" : "document.missing"
                let message = present
                    ? "\(manifest.document.file) has SHA-256 \(digest!), not the manifest's \(manifest.document.sha256), after waiting \(secondsText(configuration.documentTimeout)) s; resend the PDF or correct the manifest"
                    : "\(manifest.document.file) did not arrive within \(secondsText(configuration.documentTimeout)) s; write the PDF to incoming/ (temporary name, then rename) and resubmit"
                rejectUnclaimed(files: [name] + (present ? [manifest.document.file] : []), baseName: manifest.jobId, code: code, message: message, jobId: manifest.jobId)
                return .rejected(code: code)
            }
            return .waiting
        }
        bookkeeping.forget(key)

        // Claim: move both files into work/ (atomic renames), then record the job. The
        // manifest's no-replace rename is the claim: a second claimant of the job id finds it taken.
        let work = layout.workFiles(manifest.jobId)
        do {
            // Manifest first: after a crash between the two renames, recovery finds the PDF in
            // incoming/ by the name the manifest gives.
            guard !work.exists, try SpoolFiles.claim(path, to: work.manifest) else {
                rejectUnclaimed(files: [name, manifest.document.file], baseName: manifest.jobId + ".duplicate", code: "job.duplicate",
                                message: "job \(manifest.jobId) is already in progress; use a new job id for a new job", jobId: manifest.jobId, auditType: .inputRejected)
                return .rejected(code: "job.duplicate")
            }
            do {
                guard try SpoolFiles.claim(pdfPath, to: work.document) else {
                    throw SpoolError("spool.io", "\(work.document) already exists (left by an interrupted run?); move it out of work/ and the job is claimed again at the next rescan")
                }
            } catch {
                // Undo: the manifest goes back to incoming/ and is looked at again.
                _ = try? SpoolFiles.move(work.manifest, to: path)
                throw error
            }
            SpoolFiles.fsyncDirectory(layout.work)
            SpoolFiles.fsyncDirectory(layout.incoming)
        } catch {
            deps.logger.error("claiming job failed", metadata: ["job": .string(manifest.jobId), "trace": .string(TraceID.make()), "error": .string("\(error)")])
            return .waiting
        }
        // The file hashed must be the file claimed: a producer that replaced the PDF between the
        // hash and the rename, or linked it meanwhile, gets its file looked at again (never
        // signed on a guess). What is signed is proven once more when it is signed.
        if let hashed = hashedIdentity, FileStatus(path: work.document).map({ FileIdentity($0) }) != hashed {
            _ = try? SpoolFiles.move(work.document, to: pdfPath)
            _ = try? SpoolFiles.move(work.manifest, to: path)
            deps.logger.warning("the PDF changed while it was claimed; looking at it again", metadata: ["job": .string(manifest.jobId)])
            return .waiting
        }
        let record = claimedRecord(manifest, now: now)
        do {
            if case (false, let existing?) = try deps.database.claimJob(record) {
                // The job id was recorded meanwhile (another spool, or an administrative job of
                // the same id): a duplicate. Its inputs go to failed/, nothing is lost.
                _ = try? SpoolFiles.move(work.manifest, to: layout.failed + "/\(manifest.jobId).duplicate.json")
                _ = try? SpoolFiles.move(work.document, to: layout.failed + "/\(manifest.jobId).duplicate.pdf")
                work.removeAll()
                let report = layout.failed + "/\(manifest.jobId).duplicate.error.json"
                try? Self.writeError(jobId: manifest.jobId, code: "job.duplicate",
                                     message: "job \(manifest.jobId) was already recorded (spool \(existing.spool), state \(existing.state.rawValue)); use a new job id for a new job",
                                     retryable: false, to: report, at: now)
                _ = try? deps.audit.append(AuditEntry(type: .inputRejected, jobId: manifest.jobId, outcome: "failure",
                                                      details: ["code": "job.duplicate", "message": "job id already recorded in spool \(existing.spool)",
                                                                "files": "\(name),\(manifest.document.file)"]))
                metrics.jobEnded(outcome: "rejected", code: "job.duplicate")
                return .rejected(code: "job.duplicate")
            }
        } catch {
            deps.logger.error("recording the claimed job failed; it is resumed from work/ at the next start",
                              metadata: ["job": .string(manifest.jobId), "trace": .string(TraceID.make()), "error": .string("\(error)")])
            return .waiting
        }
        metrics.record(.intake, seconds: Double(DispatchTime.now().uptimeNanoseconds - intakeStarted) / 1e9)
        await process(jobId: manifest.jobId, resumed: false, claimed: (manifest, record))
        return .processed(jobId: manifest.jobId)
    }

    /// Moves unclaimed inputs to failed/ with an error report; nothing is deleted.
    /// `auditType`: `.jobFailed` when the job itself ends here (it never started), `.inputRejected`
    /// when the input only repeats a job id that belongs to another, recorded job.
    func rejectUnclaimed(files: [String], baseName: String, code: String, message: String, jobId: String?,
                         auditType: AuditEventType = .jobFailed) {
        for f in files {
            let from = layout.incoming + "/" + f
            // Whatever it is (file, link, FIFO, socket, device, directory): moved, never opened,
            // so that it is reported once and not at every rescan.
            if FileStatus(path: from) != nil {
                let ext = (f as NSString).pathExtension
                do { try SpoolFiles.move(from, to: layout.failed + "/\(baseName).\(ext.isEmpty ? "input" : ext)") } catch {
                    deps.logger.error("cannot move a rejected input to failed/", metadata: ["file": .string(from), "error": .string("\(error)")])
                }
            }
        }
        do {
            // Never over another report (numbered instead): a report names its own job only.
            try Self.writeError(jobId: jobId, code: code, message: message, retryable: false, to: layout.failed + "/\(baseName).error.json", at: now)
        } catch {
            deps.logger.error("cannot write the error report", metadata: ["path": .string(layout.failed + "/\(baseName).error.json"), "error": .string("\(error)")])
        }
        metrics.jobEnded(outcome: "rejected", code: code)
        do { try deps.audit.append(AuditEntry(type: auditType, jobId: jobId, outcome: "failure", details: ["code": code, "message": message, "files": files.joined(separator: ",")])) } catch {
            metrics.auditFailed()
            deps.logger.error("recording a rejected input in the audit trail failed", metadata: ["code": .string(code), "error": .string("\(error)")])
        }
        var metadata: Logger.Metadata = ["code": .string(code), "files": .string(files.joined(separator: ","))]
        if let jobId {
            metadata["job"] = .string(jobId)
            metadata["trace"] = .string(TraceID.make())
        }
        deps.logger.warning("input rejected", metadata: metadata)
    }

    // MARK: - Helpers

    /// The steps a job passes at most once. They are recorded before the state row moves on, and
    /// recorded once even when a crash makes the daemon redo the step.
    static let onceSteps: Set<AuditEventType> = [.jobReceived, .jobDTBSIssued, .jobAuthorized, .jobSigned, .jobTimestamped, .jobDelivered]

    /// Records a step of a sign job. No step without its record: when the audit trail cannot be
    /// written the step fails as retryable `audit.unavailable` (the job waits and is tried again;
    /// it is never signed or delivered with a hole in its trail).
    func audit(_ type: AuditEventType, manifest: SignManifest, digest: String?, serial: String? = nil, outcome: String = "success", details: [String: String] = [:]) throws {
        do {
            try deps.audit.append(AuditEntry(type: type, jobId: manifest.jobId, userId: manifest.signer.userId, deviceId: manifest.signer.deviceId,
                                             documentSha256: digest, certificateSerial: serial, outcome: outcome, details: details),
                                  oncePerJob: Self.onceSteps.contains(type))
            deps.auditHealth.succeeded()
        } catch {
            metrics.auditFailed()
            deps.auditHealth.failed("\(error)", at: now)
            throw SpoolError("audit.unavailable", "the audit trail cannot be written (\(error)); the job waits and is tried again. Check the audit database (disk space, permissions, a lock held by another process)", retryable: true)
        }
    }

    /// Records a denial. The job fails anyway, and its failure is recorded by the `fail` step
    /// (which is retried until its record is written): a denial's own record is logged when it
    /// cannot be written, not retried.
    func auditDenial(_ type: AuditEventType, manifest: SignManifest, digest: String?, outcome: String = "failure", details: [String: String] = [:]) {
        do { try audit(type, manifest: manifest, digest: digest, outcome: outcome, details: details) } catch {
            deps.logger.error("recording a denial in the audit trail failed", metadata: ["job": .string(manifest.jobId), "error": .string("\(error)")])
        }
    }

    static func describe(_ error: any Error) -> (String, String) {
        let failure = classify(error)
        if failure.code == SystemErrorCodes.internal {
            return (failure.code, "an internal error occurred; the job was not signed (see the daemon log)")
        }
        return (failure.code, failure.message)
    }

    /// The code and message of a failure that a crash interrupted: from the error report when it
    /// was written, else from the state row.
    static func failureOnRecord(jobId: String, errorCode: String?, failedDir: String) -> (String, String) {
        if let data = try? SpoolFiles.readRegular(failedDir + "/\(jobId).error.json", limit: 1 << 20),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           object["jobId"] as? String == jobId,
           let code = object["code"] as? String, let message = object["message"] as? String {
            return (code, message)
        }
        return (errorCode ?? "internal", "the job failed and the daemon stopped while recording it; see the daemon log")
    }

    static func sha256(ofFile path: String) throws -> String {
        let source = try FileByteSource(path: path, followSymlinks: false)
        var hasher = SHA256()
        try source.forEachChunk(offset: 0, length: source.length) { hasher.update(bufferPointer: $0) }
        return Hex.encode(Array(hasher.finalize()))
    }

    /// Writes an error report at `path`, or at a numbered name beside it when `path` is taken:
    /// a report never replaces another one, except, with `replacingOwn`, the same job's own
    /// report (a job's failure finished again after a crash). Returns the path written.
    @discardableResult
    static func writeError(jobId: String?, code: String, message: String, retryable: Bool, to path: String, at: Date,
                           replacingOwn: Bool = false) throws -> String {
        struct Report: Encodable { let jobId: String?; let code: String; let message: String; let retryable: Bool; let at: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Report(jobId: jobId, code: code, message: message, retryable: retryable, at: Timestamps.iso8601(at)))
        let writer = try AtomicFileWriter(path: path)
        try writer.write(Array(data))
        return try writer.commit { temporary, target in
            if replacingOwn, let jobId, reportJobId(at: target) == jobId {
                guard rename(temporary, target) == 0 else {
                    throw SpoolError("spool.io", "cannot replace \(target): \(String(cString: strerror(errno)))")
                }
                return target
            }
            // Numbered before the suffix (`<name>.1.error.json`), so every report ends in .error.json.
            let suffix = ".error.json"
            guard target.hasSuffix(suffix) else { return try SpoolFiles.move(temporary, to: target) }
            let stem = String(target.dropLast(suffix.count))
            for n in 0...10_000 {
                let candidate = n == 0 ? target : "\(stem).\(n)\(suffix)"
                if try SpoolFiles.claim(temporary, to: candidate) { return candidate }
            }
            throw SpoolError("spool.io", "cannot write \(target): 10,000 numbered names are taken; clear out \((target as NSString).deletingLastPathComponent)")
        }
    }

    /// The `jobId` of the error report at `path`, if it is one.
    static func reportJobId(at path: String) -> String? {
        guard let data = try? SpoolFiles.readRegular(path, limit: 1 << 20),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["jobId"] as? String
    }

    static func writeJSON(_ value: [String: String], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let writer = try AtomicFileWriter(path: path)
        try writer.write(Array(try encoder.encode(value)))
        try writer.commit()
    }
}
