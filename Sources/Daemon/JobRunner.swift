import Foundation
import JobEngine
import Jobs
import Logging
import SigndCore
import StateStore

/// The runner of sign jobs: it reads a job's row, turns it into the state machine
/// (`JobEngine.SignJob`), runs the action the job waits for, hands the result to the machine as
/// an event, persists the machine's new state and action in one compare-and-set write, and goes
/// on until the job waits (a retry, a signature) or is finished. The steps themselves live in
/// SignSteps.swift (cloud), ExternalSigning.swift (external) and Delivery.swift (delivery and
/// failure); intake is in JobPipeline.swift.
///
/// After a crash nothing is inferred from which files exist: the job's pending action is run
/// again, and every action is written so that running it again ends as running it once would.
extension JobPipeline {
    /// How long an attempt's lease lasts. One instance owns every lease it finds (interrupted
    /// attempts are counted at start); issue 15's instances take over expired ones.
    static let attemptLease: TimeInterval = 300

    /// This process's name as a lease owner: host, process id and a random part.
    static let instanceId: String = {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
    }()

    var policy: JobPolicy {
        JobPolicy(maximumRetries: configuration.maximumRetries, retryBase: configuration.retryBase,
                  maximumInterruptions: configuration.maximumInterruptions)
    }

    // MARK: - Entry points

    /// Runs the job's pending action if it is due. `resumed`: the job was found unfinished after a
    /// restart or is retried, so steps recorded before a crash may be missing from the audit trail.
    /// `claimed`: the sign manifest intake just parsed and moved to work/, and the row it just
    /// inserted (saves reading and parsing both again).
    public func process(jobId: String, resumed: Bool = true, claimed: (manifest: SignManifest, record: JobRecord)? = nil) async {
        await withJob(jobId, row: claimed?.record) { row, logger in
            if row.state.isFinal { return }
            if let next = row.nextAttemptAt, next > now { return }
            if claimed == nil, row.mode == nil, await processAdministrative(job: row, resumed: resumed, logger: logger) { return }
            await run(row, event: nil, manifest: claimed?.manifest, resumed: resumed, logger: logger)
        }
    }

    /// Holds the job (one worker at a time), reads its row and gives it to `body` with a logger
    /// whose lines carry the job id and a fresh trace id.
    func withJob(_ jobId: String, row given: JobRecord? = nil, _ body: (JobRecord, Logger) async -> Void) async {
        guard bookkeeping.begin(jobId) else { return }
        defer { bookkeeping.end(jobId) }
        let row: JobRecord
        do {
            guard let found = try given ?? deps.database.job(jobId) else { return }
            row = found
        } catch {
            deps.logger.error("reading the job from the state database failed; it is tried again at the next rescan",
                              metadata: ["job": .string(jobId), "error": .string("\(error)")])
            return
        }
        var logger = deps.logger
        logger[metadataKey: "job"] = .string(jobId)
        logger[metadataKey: "trace"] = .string(TraceID.make())
        await body(row, logger)
    }

    /// Jobs found unfinished at start. An attempt found under way was interrupted by a crash:
    /// the machine counts it (and sets the job aside at the limit, `job.crashed`) before the
    /// pending action runs again. Work files without a row are a claim cut short between its
    /// renames and its insert; the claim is completed (`completeInterruptedClaims`).
    public func recover() async {
        removeTemporaryFiles()
        // Listed (and work/<job>/ directories of older versions flattened) before any job runs.
        let inWork = layout.jobsInWork()
        let unfinished: [JobRecord]
        do { unfinished = try deps.database.unfinishedJobs(spool: layout.name) } catch {
            deps.logger.error("reading unfinished jobs from the state database failed; they are resumed at the next start",
                              metadata: ["error": .string("\(error)")])
            return
        }
        for row in unfinished {
            if row.mode == nil, !isSignJob(row) {
                // Administrative jobs (and an older version's sign job whose manifest left work/): their own path.
                await process(jobId: row.jobId)
                continue
            }
            await withJob(row.jobId) { row, logger in
                guard !row.state.isFinal else { return }
                if row.attemptInProgress {
                    metrics.attemptInterrupted()
                    logger.warning("an attempt of this job was interrupted by a crash; it is counted and the job's pending action runs again",
                                   metadata: ["interruptions": .stringConvertible(row.interruptions + 1),
                                              "limit": .stringConvertible(configuration.maximumInterruptions),
                                              "action": .string(row.pendingAction ?? "(derived)")])
                    await run(row, event: .crashed, manifest: nil, resumed: true, logger: logger)
                } else {
                    if let next = row.nextAttemptAt, next > now { return }
                    await run(row, event: nil, manifest: nil, resumed: true, logger: logger)
                }
            }
        }
        await completeInterruptedClaims(inWork)
    }

    /// Whether a row without a recorded mode (an older version's) is a sign job: its manifest in
    /// work/ says so. Administrative jobs are left to their own path.
    func isSignJob(_ row: JobRecord) -> Bool {
        guard row.mode == nil else { return true }
        guard let data = try? SpoolFiles.readRegular(layout.workFiles(row.jobId).manifest, limit: ManifestValidator.maximumManifestBytes),
              let parsed = try? ManifestValidator.parseJob(data, defaults: configuration.manifestDefaults) else { return false }
        if case .sign = parsed { return true }
        return false
    }

    /// Jobs whose retry time has come.
    public func dueRetries() -> [String] {
        let rows: [JobRecord]
        do { rows = try deps.database.unfinishedJobs(spool: layout.name) } catch {
            deps.logger.error("reading due retries from the state database failed; looking again at the next rescan", metadata: ["error": .string("\(error)")])
            return []
        }
        return rows.filter { job in job.nextAttemptAt.map { $0 <= now } ?? false }
            .map(\.jobId)
            .filter { !bookkeeping.isInFlight($0) }
    }

    // MARK: - The loop

    /// Feeds `event` (if any) to the job's machine, persists, and runs actions until the job waits
    /// or is finished. The caller holds the job (`withJob`).
    func run(_ start: JobRecord, event first: SignJobEvent?, manifest given: SignManifest?, resumed: Bool, logger: Logger) async {
        var row = start
        var manifest = given
        // Rows of older versions keep no mode or action: both come from the manifest and state.
        if manifest == nil, row.mode == nil || row.signJob().action.needsManifest {
            manifest = try? ManifestValidator.parse(try SpoolFiles.readRegular(layout.workFiles(row.jobId).manifest, limit: ManifestValidator.maximumManifestBytes),
                                                    defaults: configuration.manifestDefaults)
        }
        var job = legacyAwareMachine(row, manifest: manifest)
        var event = first
        logger.info("job processing", metadata: ["spool": .string(layout.name), "state": .string(row.state.rawValue),
                                                 "action": .string(job.action.name), "attempt": .stringConvertible(row.attempts + 1)])
        // The attempt is marked under way (with this instance as owner) before anything runs: found
        // so at the next start, a crash interrupted it (the poison-job guard counts it).
        if !row.attemptInProgress || row.owner != Self.instanceId {
            row.attemptInProgress = true
            row.owner = Self.instanceId
            row.leaseUntil = now.addingTimeInterval(Self.attemptLease)
            row = row.applying(job, now: row.updatedAt)
            do { row = try deps.database.transitionJob(row) } catch {
                logger.error("marking the attempt in the state database failed; the job waits for the next rescan", metadata: ["error": .string("\(error)")])
                return
            }
        }
        while true {
            if let happened = event {
                let effects = job.handle(happened, now: now, policy: policy)
                if case .ignored(let why)? = effects.first {
                    logger.warning("event ignored", metadata: ["reason": .string(why)])
                    endAttempt(&row, logger: logger)
                    return
                }
                var next: JobAction?
                var ends = false
                for effect in effects {
                    switch effect {
                    case .persist, .ignored: break
                    case .run(let action): next = action
                    case .retry(let at, let failure):
                        metrics.retryScheduled(code: failure.code)
                        logger.warning("job will be retried", metadata: ["code": .string(failure.code), "message": .string(failure.message),
                                                                        "at": .string(Timestamps.iso8601(at))])
                        ends = true
                    case .waitForSignature, .finished: ends = true
                    }
                }
                if ends {
                    row.attemptInProgress = false
                    row.owner = nil
                    row.leaseUntil = nil
                }
                do { row = try deps.database.transitionJob(row.applying(job, now: now)) } catch {
                    logger.error("recording the job's new state failed; its last step runs again at the next rescan or start",
                                 metadata: ["error": .string("\(error)"), "action": .string(job.action.name)])
                    return
                }
                if effects.contains(.finished) { finished(row, logger: logger) }
                if next == nil { return }
            }
            // Run the pending action; its outcome is the next event.
            guard let outcome = await perform(job.action, row: &row, manifest: manifest, resumed: resumed, logger: logger) else {
                endAttempt(&row, logger: logger)
                return
            }
            event = outcome
        }
    }

    /// The machine of a row; rows of older versions get their mode from the manifest and their
    /// action from the state (a failure cut short by a crash: from the files in failed/).
    func legacyAwareMachine(_ row: JobRecord, manifest: SignManifest?) -> SignJob {
        let mode: JobMode = manifest?.mode == .external ? .external : .cloud
        if row.pendingAction == nil, row.state == .awaitingSignature {
            return row.signJob(fallbackMode: mode, signatureTaken: SpoolFiles.isRegularFile(layout.workFiles(row.jobId).signature))
        }
        if row.pendingAction == nil, manifest == nil, row.state != .signed,
           SpoolFiles.isRegularFile(layout.failed + "/\(row.jobId).json") {
            // An older version crashed while failing the job, after its inputs were moved.
            let (code, message) = Self.failureOnRecord(jobId: row.jobId, errorCode: row.errorCode, failedDir: layout.failed)
            var legacy = row
            legacy.pendingAction = "fail"
            legacy.errorCode = code
            legacy.failMessage = message
            return legacy.signJob(fallbackMode: mode)
        }
        return row.signJob(fallbackMode: mode)
    }

    /// Runs one action; nil when the job now waits without a new event (nothing arrived yet).
    func perform(_ action: JobAction, row: inout JobRecord, manifest: SignManifest?, resumed: Bool, logger: Logger) async -> SignJobEvent? {
        if action.needsManifest, manifest == nil {
            return .stepFailed(JobFailure(code: "job.workFilesMissing",
                                          message: "the manifest of job \(row.jobId) is missing from work/ (was it moved or deleted by hand?); the job cannot go on. Submit it again under a new job id",
                                          retryable: false))
        }
        switch action {
        case .authorize: return await authorize(row: row, manifest: manifest!, resumed: resumed, logger: logger)
        case .sign: return await signStep(row: row, manifest: manifest!, logger: logger)
        case .prepareExternal: return await prepareExternalStep(row: row, manifest: manifest!, resumed: resumed, logger: logger)
        case .awaitSignature: return await awaitSignatureStep(row: row, manifest: manifest!, logger: logger)
        case .completeExternal: return await completeExternalStep(row: row, manifest: manifest!, logger: logger)
        case .deliver: return deliverStep(row: &row, resumed: resumed, logger: logger)
        case .fail(let failure): return failStep(row: &row, failure: failure, logger: logger)
        case .none: return nil
        }
    }

    /// Ends the attempt without a transition (the job waits for something to arrive).
    func endAttempt(_ row: inout JobRecord, logger: Logger) {
        guard row.attemptInProgress, !row.state.isFinal else { return }
        row.attemptInProgress = false
        row.owner = nil
        row.leaseUntil = nil
        do { row = try deps.database.transitionJob(row) } catch {
            logger.error("ending a job attempt in the state database failed", metadata: ["error": .string("\(error)")])
        }
    }

    /// Temporary files of writers killed mid-write (AtomicFileWriter names them
    /// .<name>.tmp-<random>); nothing else reads them.
    func removeTemporaryFiles() {
        for dir in [layout.done, layout.failed, layout.pending, layout.work] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
                unlink(dir + "/" + name)
            }
        }
    }
}
