import Audit
import CertificateLifecycle
import CMSSigning
import Crypto
import DocumentSigning
import Foundation
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
    public var logger: Logger

    public init(database: StateDatabase, audit: AuditLog, authorizer: any JobAuthorizer, enrollment: EnrollmentService,
                caChain: [Certificate], timestamper: TimestampClient?, clock: @escaping @Sendable () -> Date, logger: Logger) {
        self.database = database
        self.audit = audit
        self.authorizer = authorizer
        self.enrollment = enrollment
        self.caChain = caChain
        self.timestamper = timestamper
        self.clock = clock
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
        if let existing = try? deps.database.job(manifest.jobId) {
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
        audit(.jobReceived, manifest: manifest, digest: digest, details: ["spool": layout.name, "mode": manifest.mode.rawValue, "level": manifest.level.rawValue])
        metrics.record(.intake, seconds: Double(DispatchTime.now().uptimeNanoseconds - intakeStarted) / 1e9)
        await process(jobId: manifest.jobId, resumed: false, claimed: (manifest, record))
        return .processed(jobId: manifest.jobId)
    }

    /// Jobs found in work/ after a restart: with a state row they resume; without one (crash
    /// between the renames and the insert) they are claimed now.
    public func recover() async {
        // Temporary files of writers killed mid-write (AtomicFileWriter names them
        // .<name>.tmp-<random>); nothing else reads them.
        for dir in [layout.done, layout.failed, layout.pending, layout.work] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
                try? FileManager.default.removeItem(atPath: dir + "/" + name)
            }
        }
        let inWork = layout.jobsInWork()
        let inWorkSet = Set(inWork)
        // Unfinished jobs without files in work/: killed after delivery or failure moved the
        // files out but before the state row said so (older versions removed work/ first).
        for job in (try? deps.database.unfinishedJobs(spool: layout.name)) ?? [] where !inWorkSet.contains(job.jobId) {
            if setAsideIfPoisoned(job) { continue }
            await process(jobId: job.jobId)
        }
        for jobId in inWork {
            let work = layout.workFiles(jobId)
            if let job = try? deps.database.job(jobId) {
                if job.state != .delivered && job.state != .failed {
                    if setAsideIfPoisoned(job) { continue }
                    await process(jobId: jobId)
                } else {
                    // Finished, then killed before its work files were removed.
                    work.removeAll()
                }
                continue
            }
            // Crash during the claim: complete it from what is on disk.
            if await recoverAdministrativeClaim(jobId: jobId, work: work) { continue }
            if !SpoolFiles.isRegularFile(work.manifest), SpoolFiles.isRegularFile(work.document), let name = manifestInIncoming(forJob: jobId) {
                // The PDF was moved before the manifest (the order of older versions).
                _ = try? SpoolFiles.claim(layout.incoming + "/" + name, to: work.manifest)
            }
            guard let data = try? SpoolFiles.readRegular(work.manifest, limit: ManifestValidator.maximumManifestBytes),
                  let manifest = try? ManifestValidator.parse(data, defaults: configuration.manifestDefaults), manifest.jobId == jobId else { continue }
            if !SpoolFiles.isRegularFile(work.document) {
                let incomingPDF = layout.incoming + "/" + manifest.document.file
                guard SpoolFiles.isRegularFile(incomingPDF), (try? Self.sha256(ofFile: incomingPDF)) == manifest.document.sha256 else { continue }
                _ = try? SpoolFiles.claim(incomingPDF, to: work.document)
            }
            // The job's digest is the approved one from the manifest: whether the file still has
            // it is proven when it is signed (document.changed otherwise).
            let record = claimedRecord(manifest, now: now)
            _ = try? deps.database.claimJob(record)
            audit(.jobReceived, manifest: manifest, digest: record.documentSha256, details: ["spool": layout.name, "mode": manifest.mode.rawValue,
                                                                             "level": manifest.level.rawValue, "recovered": "true"])
            await process(jobId: jobId)
        }
    }

    /// The state row of a sign job claimed now: the approved document digest, level and
    /// appearance, and an attempt under way.
    func claimedRecord(_ manifest: SignManifest, now: Date) -> JobRecord {
        var record = JobRecord(jobId: manifest.jobId, spool: layout.name, state: .claimed, documentSha256: manifest.document.sha256,
                               userId: manifest.signer.userId, deviceId: manifest.signer.deviceId, now: now)
        record.level = manifest.level.rawValue
        record.appearanceSha256 = manifest.appearanceSha256
        record.attemptInProgress = true
        return record
    }

    /// The terms the job was claimed (and authorized) with must still be the manifest's: a job
    /// resumed after a restart is parsed again, and what it leaves out now comes from the
    /// spool's defaults as they are now. If those changed, refuse rather than sign what nobody
    /// approved.
    func checkApprovedTerms(manifest: SignManifest, job: JobRecord) throws {
        let approvedLevel = job.level ?? manifest.authorization?.statement?.level.rawValue
        if let approved = approvedLevel, approved != manifest.level.rawValue {
            audit(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
                  details: ["code": "sca.levelMismatch", "reason": "approved \(approved), resumed job resolves to \(manifest.level.rawValue)"])
            throw SpoolError("sca.denied", "the authorization approves level \(approved) but the job would now be signed at \(manifest.level.rawValue) (the spool's default level changed since the job was claimed); submit the job again with an explicit level")
        }
        // Rows of older versions have no recorded appearance: the statement's (V2) stands in.
        if let approved = job.appearanceSha256 ?? manifest.authorization?.statement?.appearanceSha256, approved != manifest.appearanceSha256 {
            metrics.scaDenied(code: "sca.appearanceMismatch")
            audit(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
                  details: ["code": "sca.appearanceMismatch", "reason": "approved appearance SHA-256 \(approved), resumed job resolves to \(manifest.appearanceSha256)"])
            throw SpoolError("sca.denied", "the authorization approves another appearance (reason, name, location, contact, field) than the job would now be signed with (the spool's default appearance changed since the job was claimed); submit the job again with the appearance given in the manifest")
        }
    }

    /// The poison-job guard, at start: an attempt found under way was interrupted by a crash
    /// (a trap, the OOM killer, kill -9). It is counted; at `maximumInterruptions` the job fails
    /// with `job.crashed`, its files kept, so that one input cannot stop the daemon at every
    /// start. Returns true when the job was set aside.
    func setAsideIfPoisoned(_ job: JobRecord) -> Bool {
        guard job.attemptInProgress else { return false }
        guard bookkeeping.begin(job.jobId) else { return false }
        defer { bookkeeping.end(job.jobId) }
        let interruptions: Int
        do {
            guard let n = try deps.database.countInterruptedAttempt(job.jobId) else { return false }
            interruptions = n
        } catch {
            deps.logger.error("counting an interrupted attempt failed", metadata: ["job": .string(job.jobId), "error": .string("\(error)")])
            return false
        }
        metrics.attemptInterrupted()
        var logger = deps.logger
        logger[metadataKey: "job"] = .string(job.jobId)
        guard interruptions >= configuration.maximumInterruptions else {
            logger.warning("an attempt of this job was interrupted by a crash; it is tried again",
                           metadata: ["interruptions": .stringConvertible(interruptions), "limit": .stringConvertible(configuration.maximumInterruptions)])
            return false
        }
        guard let data = try? SpoolFiles.readRegular(layout.workFiles(job.jobId).manifest, limit: ManifestValidator.maximumManifestBytes),
              let manifest = try? ManifestValidator.parse(data, defaults: configuration.manifestDefaults) else { return false }
        fail(jobId: job.jobId, manifest: manifest, code: "job.crashed",
             message: "processing job \(job.jobId) was interrupted by a crash \(interruptions) times (limit \(configuration.maximumInterruptions)); it was set aside with its files so that it cannot stop the daemon again. Report it with the files in failed/ and the daemon log; submit the document again under a new job id once the cause is known",
             retryable: false, logger: logger)
        return true
    }

    /// Ends the job's attempt when it is still marked under way and the job did not end (it
    /// waits for a retry, a signature or was left for the next start).
    func endAttemptIfOpen(_ jobId: String) {
        guard let row = try? deps.database.job(jobId), row.attemptInProgress, row.state != .delivered, row.state != .failed else { return }
        do { try deps.database.endJobAttempt(jobId) } catch {
            deps.logger.error("ending a job attempt in the state database failed", metadata: ["job": .string(jobId), "error": .string("\(error)")])
        }
    }

    /// The name of the manifest in incoming/ that belongs to `jobId`, if any.
    func manifestInIncoming(forJob jobId: String) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.incoming)) ?? []
        return names.sorted().first { name in
            guard name.hasSuffix(".json"), !name.hasPrefix("."),
                  let data = try? SpoolFiles.readRegular(layout.incoming + "/" + name, limit: ManifestValidator.maximumManifestBytes),
                  let manifest = try? ManifestValidator.parse(data, defaults: configuration.manifestDefaults) else { return false }
            return manifest.jobId == jobId
        }
    }

    /// Jobs whose retry time has come.
    public func dueRetries() -> [String] {
        ((try? deps.database.unfinishedJobs(spool: layout.name)) ?? [])
            .filter { job in job.nextAttemptAt.map { $0 <= now } ?? false }
            .map(\.jobId)
            .filter { !bookkeeping.isInFlight($0) }
    }

    // MARK: - Processing

    /// `resumed`: the job was found unfinished after a restart or is retried, so steps recorded
    /// before a crash may be missing from the audit trail.
    /// `claimed`: the sign manifest intake just parsed and moved to work/, and the job row it just
    /// inserted (saves reading and parsing both again).
    public func process(jobId: String, resumed: Bool = true, claimed: (manifest: SignManifest, record: JobRecord)? = nil) async {
        guard bookkeeping.begin(jobId) else { return }
        defer { bookkeeping.end(jobId) }
        let work = layout.workFiles(jobId)
        guard var job = claimed?.record ?? (try? deps.database.job(jobId)) else { return }
        // Finished (e.g. by another path since a retry list was made): nothing to do.
        if job.state == .delivered || job.state == .failed { return }
        if let next = job.nextAttemptAt, next > now { return }
        // Every log line of this attempt carries the job id and a fresh trace id.
        var logger = deps.logger
        logger[metadataKey: "job"] = .string(jobId)
        logger[metadataKey: "trace"] = .string(TraceID.make())
        logger.info("job processing", metadata: ["spool": .string(layout.name), "state": .string(job.state.rawValue), "attempt": .stringConvertible(job.attempts + 1)])
        if claimed == nil, await processAdministrative(job: job, resumed: resumed, logger: logger) { return }  // enroll/device/revoke: AdministrativeJobs.swift
        // An attempt under way until it ends (a job claimed just now was inserted so): found
        // under way at the next start, it was interrupted by a crash (the poison-job guard).
        if claimed == nil && !job.attemptInProgress {
            do { try deps.database.beginJobAttempt(jobId) } catch {
                logger.error("marking the attempt in the state database failed; the job waits for the next retry", metadata: ["error": .string("\(error)")])
                return
            }
        }
        defer { endAttemptIfOpen(jobId) }
        let manifest: SignManifest
        do {
            manifest = try claimed?.manifest ?? ManifestValidator.parse(try SpoolFiles.readRegular(work.manifest, limit: ManifestValidator.maximumManifestBytes), defaults: configuration.manifestDefaults)
        } catch {
            if job.state == .signed, FileManager.default.fileExists(atPath: layout.done + "/\(jobId).pdf") {
                // Crash after the inputs were archived: only the result file may be missing.
                finishDelivery(job: job, manifest: nil, logger: logger)
            } else if let failedManifest = try? SpoolFiles.readRegular(layout.failed + "/\(jobId).json", limit: ManifestValidator.maximumManifestBytes),
                      let manifest = try? ManifestValidator.parse(failedManifest, defaults: configuration.manifestDefaults) {
                // Crash while failing the job, after its inputs were moved to failed/: finish that.
                let (code, message) = Self.failureOnRecord(jobId: jobId, errorCode: job.errorCode, failedDir: layout.failed)
                fail(jobId: jobId, manifest: manifest, code: code, message: message, retryable: false, logger: logger)
            } else {
                logger.error("job cannot be resumed: its manifest is missing from work/", metadata: ["state": .string(job.state.rawValue)])
            }
            return
        }
        do {
            if job.state == .awaitingSignature {
                // Phase two runs when the signature arrives; after a restart or retry, resume it.
                await resumeExternal(job: job, manifest: manifest, logger: logger)
                return
            }
            if job.state == .claimed && manifest.mode == .external {
                try await prepareExternal(manifest: manifest, job: job, work: work, logger: logger)
                return
            }
            if job.state == .claimed && resumed {
                // A crash between the claim and its audit record: record it now (once).
                audit(.jobReceived, manifest: manifest, digest: job.documentSha256,
                      details: ["spool": layout.name, "mode": manifest.mode.rawValue, "level": manifest.level.rawValue, "recovered": "true"])
            }
            if job.state == .claimed {
                // Verified and used up before a crash, but the state was not yet recorded: go on.
                // (Only a resumed job can have; a job claimed just now cannot.)
                let alreadyConsumed = resumed && ((try? deps.database.authorizationConsumed(byJob: jobId)) ?? false)
                let outcome: AuthorizationOutcome = alreadyConsumed
                    ? .authorized(AuthorizationGrant(kind: manifest.authorization?.kind ?? "", deviceId: manifest.signer.deviceId,
                                                     userId: manifest.signer.userId, jobId: jobId, documentSHA256: job.documentSha256,
                                                     level: manifest.level, reference: "resumed", validUntil: now, consumed: true))
                    : await metrics.measure(.authorize) {
                        await deps.authorizer.authorize(manifest: manifest, documentSHA256: job.documentSha256, now: now, consume: true)
                    }
                switch outcome {
                case .authorized(let grant):
                    audit(.jobAuthorized, manifest: manifest, digest: job.documentSha256, details: ["kind": grant.kind, "reference": grant.reference])
                    try deps.database.setJobState(jobId, .authorized, now: now)
                case .denied(let denial):
                    metrics.scaDenied(code: denial.code.rawValue)
                    audit(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
                          details: ["code": denial.code.rawValue, "reason": denial.reason, "blockedDevice": String(denial.blockedDevice)])
                    throw SpoolError(denial.publicCode, denial.publicMessage, retryable: denial.retryable)
                }
                job.state = .authorized
            }
            if job.state == .authorized {
                let (serial, genTime) = try await sign(manifest: manifest, job: job, work: work)
                audit(.jobSigned, manifest: manifest, digest: job.documentSha256, serial: serial,
                      details: ["level": manifest.level.rawValue])
                if let genTime {
                    audit(.jobTimestamped, manifest: manifest, digest: job.documentSha256, serial: serial, details: ["genTime": genTime])
                }
                try deps.database.setJobState(jobId, .signed, now: now)
                job.state = .signed
            }
            if job.state == .signed {
                try await metrics.measure(.deliver) { try deliver(job: job, manifest: manifest, work: work, logger: logger) }
            }
        } catch {
            let (code, message) = Self.describe(error)
            let retryable = (error as? SpoolError)?.retryable ?? (error as? TimestampError)?.retryable ?? false
            if retryable && job.attempts < configuration.maximumRetries {
                let delay = configuration.retryBase * pow(2, Double(job.attempts))
                try? deps.database.scheduleJobRetry(jobId, at: now.addingTimeInterval(delay), now: now, errorCode: code)
                metrics.retryScheduled(code: code)
                logger.warning("job will be retried", metadata: ["code": .string(code), "in": .string("\(delay)s")])
                return
            }
            fail(jobId: jobId, manifest: manifest, code: code, message: message, retryable: retryable, logger: logger)
        }
    }

    /// Signs work/<job>.document.pdf into work/<job>.signed.pdf and checks the result with our
    /// own verifier. Returns the signer certificate serial.
    func sign(manifest: SignManifest, job: JobRecord, work: WorkFiles) async throws -> (serial: String, genTime: String?) {
        try checkApprovedTerms(manifest: manifest, job: job)
        let signingTime = now
        guard let certRecord = try deps.database.activeCertificate(deviceId: manifest.signer.deviceId, at: signingTime) else {
            throw SpoolError("certificate.none", "device \(manifest.signer.deviceId) has no valid certificate; enroll it (signd enroll) before signing")
        }
        guard certRecord.userId == manifest.signer.userId else {
            throw SpoolError("certificate.userMismatch", "the certificate of device \(manifest.signer.deviceId) belongs to another user")
        }
        let certificate = try Certificate(derEncoded: Array(certRecord.der))
        let key = try deps.enrollment.cloudKey(deviceId: manifest.signer.deviceId)
        let signer = try PrivateKeySigner(key: .p256(key), certificate: certificate)
        let builder = PAdESSignatureBuilder(signer: signer, chain: deps.caChain, digest: configuration.digest)
        let a = manifest.appearance
        let request = SignatureRequest(fieldName: a?.fieldName, signingTime: signingTime, reason: a?.reason, location: a?.location,
                                       contactInfo: a?.contactInfo, name: a?.name)
        let output = work.signed
        let timestamper: TimestampClient? = manifest.level == .bt ? deps.timestamper : nil
        if manifest.level == .bt && timestamper == nil {
            throw SpoolError("tsa.notConfigured", "the job asks for B-T but no TSA is configured")
        }
        let outcome = try await metrics.measure(.sign) {
            try await PDFSigningService().sign(inputPath: work.document, outputPath: output, builder: builder,
                                               request: request, timestamper: timestamper, expectedDocumentSHA256: job.documentSha256)
        }
        let last = try await metrics.measure(.selfCheck) {
            try await selfCheck(output: output, level: manifest.level, signingTime: signingTime,
                                approved: (job.documentSha256, outcome.originalLength))
        }
        return (certRecord.serial, last.timestamp?.genTime)
    }

    /// Never deliver what our own verifier does not accept: intact, trusted, at the level asked,
    /// and whose first revision is the approved document (hashed once more from the output).
    func selfCheck(output: String, level: SignatureLevel, signingTime: Date, approved: (sha256: String, length: Int64)) async throws -> SignatureReport {
        let approvedSha256 = approved.sha256
        let document = try PDFDocument(source: try FileByteSource(path: output, followSymlinks: false))
        let original = try Self.prefixDigest(of: output, length: approved.length)
        guard original == approvedSha256 else {
            try? FileManager.default.removeItem(atPath: output)
            throw SpoolError("document.changed", "the signed output's first revision hashes to SHA-256 \(original ?? "(none: the output is shorter than the document)"), not the approved \(approvedSha256); nothing was delivered. Submit the job again")
        }
        let tsaValidator = deps.timestamper?.configuration.validator
        let verifier = PAdESVerifier(trustRoots: deps.caChain.last.map { [$0] }, validationTime: signingTime) { token, value in
            guard let tsaValidator else { return TimestampReport(genTime: "?", tsa: nil, imprintValid: false, signatureValid: false, trusted: nil, problems: ["notConfigured"]) }
            return await tsaValidator.report(token: token, signatureValue: value)
        }
        let report = try await verifier.verify(document: document, fileName: output)
        guard let last = report.signatures.last, last.intact, last.trusted == true,
              last.level == (level == .bt ? "B-T" : "B-B") else {
            try? FileManager.default.removeItem(atPath: output)
            let found = report.signatures.last.map { "level \($0.level), intact \($0.intact), trusted \(String(describing: $0.trusted)), problems \($0.problems)" } ?? "no signature"
            throw SpoolError("signature.selfCheckFailed", "the signed output did not pass signd's own verification (\(found)); nothing was delivered")
        }
        return last
    }

    /// Publishes the result: done/<job>.pdf, then done/<job>.result.json (written last: its
    /// presence means the job is complete), archives the inputs, removes the job's work files.
    func deliver(job: JobRecord, manifest: SignManifest, work: WorkFiles, logger: Logger) throws {
        let donePDF = layout.done + "/\(job.jobId).pdf"
        if FileManager.default.fileExists(atPath: work.signed) {
            guard rename(work.signed, donePDF) == 0 else {
                throw SpoolError("spool.io", "cannot publish \(donePDF): \(String(cString: strerror(errno)))", retryable: true)
            }
            SpoolFiles.fsyncDirectory(layout.done)
        }
        if SpoolFiles.isRegularFile(work.document) { try SpoolFiles.move(work.document, to: layout.archive + "/\(job.jobId).pdf") }
        if SpoolFiles.isRegularFile(work.manifest) { try SpoolFiles.move(work.manifest, to: layout.archive + "/\(job.jobId).json") }
        if SpoolFiles.isRegularFile(work.signature) { try SpoolFiles.move(work.signature, to: layout.archive + "/\(job.jobId).signature.json") }
        SpoolFiles.fsyncDirectory(layout.archive)
        // The prepared external state is not needed once the output is published; removed before
        // result.json appears, so that a complete result means nothing of the job is left in work/.
        unlink(work.externalState)
        finishDelivery(job: job, manifest: manifest, logger: logger)
    }

    func finishDelivery(job: JobRecord, manifest given: SignManifest?, logger: Logger) {
        let donePDF = layout.done + "/\(job.jobId).pdf"
        let manifest = given ?? (try? SpoolFiles.readRegular(layout.archive + "/\(job.jobId).json", limit: ManifestValidator.maximumManifestBytes))
            .flatMap { try? ManifestValidator.parse($0, defaults: configuration.manifestDefaults) }
        let signedDigest = (try? Self.sha256(ofFile: donePDF)) ?? ""
        let result: [String: String] = [
            "jobId": job.jobId, "status": "signed", "document": "\(job.jobId).pdf",
            "documentSha256": signedDigest, "originalSha256": job.documentSha256,
            "level": manifest?.level.rawValue ?? "", "signedAt": Timestamps.iso8601(given != nil ? now : job.updatedAt),
        ]
        try? Self.writeJSON(result, to: layout.done + "/\(job.jobId).result.json")
        // Audit, then state, then clean up: a crash between any two of these is finished by
        // recovery without a second record (see recover()).
        var entry = AuditEntry(type: .jobDelivered, jobId: job.jobId, userId: job.userId, deviceId: job.deviceId,
                               documentSha256: job.documentSha256, details: ["output": donePDF, "outputSha256": signedDigest])
        entry.outcome = "success"
        _ = try? deps.audit.append(entry, oncePerJob: true)
        try? deps.database.setJobState(job.jobId, .delivered, now: now, resultPath: donePDF)
        layout.workFiles(job.jobId).removeAll()
        metrics.jobEnded(outcome: "delivered")
        metrics.record(.job, seconds: now.timeIntervalSince(job.createdAt))
        logger.info("job delivered")
    }

    // MARK: - Failures

    func fail(jobId: String, manifest: SignManifest, code: String, message: String, retryable: Bool, logger: Logger) {
        let work = layout.workFiles(jobId)
        try? deps.database.noteJobError(jobId, code: code)
        if SpoolFiles.isRegularFile(work.document) { _ = try? SpoolFiles.move(work.document, to: layout.failed + "/\(jobId).pdf") }
        if SpoolFiles.isRegularFile(work.manifest) { _ = try? SpoolFiles.move(work.manifest, to: layout.failed + "/\(jobId).json") }
        if SpoolFiles.isRegularFile(work.signature) { _ = try? SpoolFiles.move(work.signature, to: layout.failed + "/\(jobId).signature.json") }
        try? FileManager.default.removeItem(atPath: layout.pending + "/\(jobId).dtbs.json")
        var report = layout.failed + "/\(jobId).error.json"
        do {
            report = try Self.writeError(jobId: jobId, code: code, message: message, retryable: retryable, to: report, at: now, replacingOwn: true)
        } catch {
            logger.error("cannot write the error report", metadata: ["path": .string(report), "error": .string("\(error)")])
        }
        // Once per job and code: a failure finished after a crash is not recorded twice.
        if !jobFailureAudited(jobId: jobId, code: code) {
            audit(.jobFailed, manifest: manifest, digest: nil, outcome: "failure", details: ["code": code, "message": message])
        }
        // State before cleanup: a crash in between leaves a finished job whose work files
        // recovery removes; the other order could leave a job no restart finds.
        try? deps.database.setJobState(jobId, .failed, now: now, errorCode: code, resultPath: report)
        work.removeAll()
        metrics.jobEnded(outcome: "failed", code: code)
        if let created = (try? deps.database.job(jobId))?.createdAt { metrics.record(.job, seconds: now.timeIntervalSince(created)) }
        logger.warning("job failed", metadata: ["code": .string(code)])
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
                _ = try? SpoolFiles.move(from, to: layout.failed + "/\(baseName).\(ext.isEmpty ? "input" : ext)")
            }
        }
        do {
            // Never over another report (numbered instead): a report names its own job only.
            try Self.writeError(jobId: jobId, code: code, message: message, retryable: false, to: layout.failed + "/\(baseName).error.json", at: now)
        } catch {
            deps.logger.error("cannot write the error report", metadata: ["path": .string(layout.failed + "/\(baseName).error.json"), "error": .string("\(error)")])
        }
        metrics.jobEnded(outcome: "rejected", code: code)
        _ = try? deps.audit.append(AuditEntry(type: auditType, jobId: jobId, outcome: "failure", details: ["code": code, "message": message, "files": files.joined(separator: ",")]))
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

    func audit(_ type: AuditEventType, manifest: SignManifest, digest: String?, serial: String? = nil, outcome: String = "success", details: [String: String] = [:]) {
        _ = try? deps.audit.append(AuditEntry(type: type, jobId: manifest.jobId, userId: manifest.signer.userId, deviceId: manifest.signer.deviceId,
                                              documentSha256: digest, certificateSerial: serial, outcome: outcome, details: details),
                                   oncePerJob: Self.onceSteps.contains(type))
    }

    static func describe(_ error: any Error) -> (String, String) {
        switch error {
        case let e as ManifestError: return (e.code, e.message)
        case let e as SpoolError: return (e.code, e.message)
        case let e as PDFError: return (e.code.rawValue, e.description)
        case let e as PAdESError: return (e.code.rawValue, e.message)
        case let e as SignatureEmbeddingError: return (e.code.rawValue, e.message)
        case let e as TimestampError: return (e.code.rawValue, e.description)
        case let e as LifecycleError: return (e.code, e.message)
        case let e as SigningServiceError: return (e.code, e.message)
        case let e as FileWriteError: return (e.code, e.message)
        case let e as SecretError: return (e.code, e.message)
        default: return ("internal", "an internal error occurred; the job was not signed (see the daemon log)")
        }
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

    /// SHA-256 (hex) of the first `length` bytes of a signed output: the document as it was
    /// before signd appended its update. nil when the output is shorter.
    static func prefixDigest(of path: String, length: Int64) throws -> String? {
        let source = try FileByteSource(path: path, followSymlinks: false)
        guard length >= 0, length <= source.length else { return nil }
        var hasher = SHA256()
        try source.forEachChunk(offset: 0, length: length) { hasher.update(bufferPointer: $0) }
        return Hex.encode(Array(hasher.finalize()))
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
