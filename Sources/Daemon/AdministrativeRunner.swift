import Audit
import Foundation
import JobEngine
import Jobs
import Logging
import SigndCore
import StateStore

/// The runner of administrative jobs (enroll, device, revoke): the same loop as for sign jobs
/// (JobRunner.swift) over `JobEngine.AdministrativeJob`: run the pending action (`apply`,
/// `deliver`, `fail`), hand its outcome to the machine, persist state and action together
/// (compare-and-set), go on. What each change does is in AdministrativeJobs.swift.
extension JobPipeline {
    /// Runs the job's pending action and what follows. `manifest`: from work/, or, once the
    /// manifest left work/ (delivery or failure under way), from archive/ or failed/.
    func runAdministrative(job start: JobRecord, manifest: JobManifest, resumed: Bool, logger: Logger) async {
        var row = start
        var job = administrativeMachine(row)
        var event: AdministrativeJobEvent?
        if row.attemptInProgress, row.owner != Self.instanceId {
            // Found under way at start: a crash interrupted it (the poison-job guard).
            metrics.attemptInterrupted()
            logger.warning("an attempt of this job was interrupted by a crash; it is counted and the job's pending action runs again",
                           metadata: ["interruptions": .stringConvertible(row.interruptions + 1), "action": .string(job.action.name)])
            event = .crashed
        }
        if !row.attemptInProgress || row.owner != Self.instanceId {
            row.attemptInProgress = true
            row.owner = Self.instanceId
            row.leaseUntil = now.addingTimeInterval(Self.attemptLease)
            do { row = try deps.database.transitionJob(row.applying(job, now: row.updatedAt)) } catch {
                logger.error("marking the attempt in the state database failed; the job waits for the next rescan", metadata: ["error": .string("\(error)")])
                return
            }
        }
        logger.info("job processing", metadata: ["spool": .string(layout.name), "type": .string(manifest.type),
                                                 "action": .string(job.action.name), "attempt": .stringConvertible(row.attempts + 1)])
        while true {
            if let happened = event {
                let effects = job.handle(happened, now: now, policy: policy)
                if case .ignored(let why)? = effects.first {
                    logger.warning("event ignored", metadata: ["reason": .string(why)])
                    endAttempt(&row, logger: logger)
                    return
                }
                var runsNext = false
                for effect in effects {
                    switch effect {
                    case .run: runsNext = true
                    case .retry(let at, let failure):
                        if failure.code != StateStoreError.Code.deviceBusy.rawValue { metrics.retryScheduled(code: failure.code) }
                        logger.warning("job will be retried", metadata: ["code": .string(failure.code), "at": .string(Timestamps.iso8601(at))])
                    default: break
                    }
                }
                if !runsNext {
                    row.attemptInProgress = false
                    row.owner = nil
                    row.leaseUntil = nil
                }
                do { row = try deps.database.transitionJob(row.applying(job, now: now)) } catch {
                    logger.error("recording the job's new state failed; its last step runs again at the next rescan or start",
                                 metadata: ["error": .string("\(error)"), "action": .string(job.action.name)])
                    return
                }
                if effects.contains(.finished) {
                    layout.workFiles(row.jobId).removeAll()
                    if row.state == .delivered {
                        logger.info("job delivered", metadata: ["type": .string(manifest.type)])
                    } else {
                        logger.warning("job failed", metadata: ["code": .string(row.errorCode ?? ""), "type": .string(manifest.type)])
                    }
                }
                if !runsNext { return }
            }
            switch job.action {
            case .apply: event = await applyStep(row: row, manifest: manifest, resumed: resumed, logger: logger)
            case .deliver: event = deliverAdministrative(row: &row, manifest: manifest, logger: logger)
            case .fail(let failure): event = failAdministrative(row: &row, manifest: manifest, failure: failure, logger: logger)
            case .none:
                endAttempt(&row, logger: logger)
                return
            }
        }
    }

    /// The machine of a row; rows of older versions keep no action: derived from whether the
    /// change's result was written, or (a failure cut short) from the error report.
    func administrativeMachine(_ row: JobRecord) -> AdministrativeJob {
        if row.pendingAction == nil, !row.state.isFinal, let failure = failureReport(of: row) {
            var legacy = row
            legacy.pendingAction = "fail"
            legacy.errorCode = failure.code
            legacy.failMessage = failure.message
            legacy.failRetryable = failure.retryable
            return legacy.administrativeJob()
        }
        return row.administrativeJob(resultWritten: SpoolFiles.isRegularFile(layout.workFiles(row.jobId).result))
    }

    /// `apply`: the job's first record, the device's lease, the change, its result in work/.
    func applyStep(row: JobRecord, manifest: JobManifest, resumed: Bool, logger: Logger) async -> AdministrativeJobEvent {
        var details = receivedDetails(manifest, digest: row.documentSha256)
        if resumed { details["recovered"] = "true" }
        do { try auditAdministrativeStep(.jobReceived, manifest, details: details) } catch {
            return .stepFailed(failure(error, logger: logger))
        }
        // One unfinished administrative job per device: the device's lease in the state
        // database, shared with every spool and the CLI. Held until this job is delivered or
        // failed (the job row's final state ends it), across retries and restarts.
        if let deviceId = subjects(of: manifest).deviceId, !deviceId.isEmpty {
            let outcome: DeviceLeaseOutcome
            do {
                outcome = try await deps.database.waitForDeviceLease(
                    deviceId, for: .job(row.jobId), attempts: Int(Self.deviceWaitSeconds / Self.devicePollSeconds), pollInterval: Self.devicePollSeconds,
                    now: { self.now }, sleep: deps.sleep)
            } catch {
                if !(error is CancellationError) {
                    logger.error("taking the device's lease failed", metadata: ["device": .string(deviceId), "error": .string("\(error)")])
                }
                outcome = .busy(holder: "")
            }
            if case .busy(let holder) = outcome {
                logger.info("device busy with another administrative job or command", metadata: ["device": .string(deviceId), "holder": .string(holder)])
                return .deviceBusy(retryAt: now.addingTimeInterval(configuration.retryBase),
                                   JobFailure(code: StateStoreError.Code.deviceBusy.rawValue,
                                              message: "device \(deviceId) is busy with \(holder.isEmpty ? "another job or command" : holder)", retryable: true))
            }
        }
        do {
            let result = try await applyAdministrative(manifest, job: row, resumed: resumed)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let writer = try AtomicFileWriter(path: layout.workFiles(row.jobId).result)
            try writer.write(Array(try encoder.encode(result)))
            try writer.commit()
            return .applied
        } catch {
            let (code, message, retryable) = Self.describeAdministrative(error)
            if code == "internal" { logger.error("administrative job failed unexpectedly", metadata: ["error": .string(String(reflecting: error))]) }
            return .stepFailed(JobFailure(code: code, message: message, retryable: retryable))
        }
    }

    /// `deliver`: archives the manifest, publishes done/<job>.result.json (a rename: it appears
    /// complete), records job.delivered. Each part is skipped when it is already done.
    func deliverAdministrative(row: inout JobRecord, manifest: JobManifest, logger: Logger) -> AdministrativeJobEvent {
        let work = layout.workFiles(row.jobId)
        let resultPath = layout.done + "/\(row.jobId).result.json"
        do {
            if SpoolFiles.isRegularFile(work.manifest) {
                try SpoolFiles.move(work.manifest, to: layout.archive + "/\(row.jobId).json")
                SpoolFiles.fsyncDirectory(layout.archive)
            }
            if SpoolFiles.isRegularFile(work.result) {
                guard rename(work.result, resultPath) == 0 else {
                    throw SpoolError("spool.io", "cannot publish \(resultPath): \(String(cString: strerror(errno)))", retryable: true)
                }
                SpoolFiles.fsyncDirectory(layout.done)
            }
            guard SpoolFiles.isRegularFile(resultPath) else {
                return .stepFailed(JobFailure(code: "job.workFilesMissing",
                                              message: "the result of job \(row.jobId) is neither in work/ nor in done/ (was it moved or deleted by hand?); check the change with `signd device list` or `signd ca list` before submitting it again",
                                              retryable: false))
            }
            let status = (try? SpoolFiles.readRegular(resultPath, limit: 1 << 20))
                .flatMap { try? JSONDecoder().decode(AdministrativeResult.self, from: $0) }?.status ?? ""
            try auditAdministrativeStep(.jobDelivered, manifest, details: ["output": resultPath, "status": status])
            row.resultPath = resultPath
            return .delivered
        } catch {
            return .stepFailed(failure(error, logger: logger, retryableByDefault: true))
        }
    }

    /// `fail`: the report, the manifest to failed/, the record (once per job and code).
    func failAdministrative(row: inout JobRecord, manifest: JobManifest, failure: JobFailure, logger: Logger) -> AdministrativeJobEvent {
        let jobId = row.jobId
        let work = layout.workFiles(jobId)
        do {
            let report = try Self.writeError(jobId: jobId, code: failure.code, message: failure.message, retryable: failure.retryable,
                                             to: layout.failed + "/\(jobId).error.json", at: now, replacingOwn: true)
            if SpoolFiles.isRegularFile(work.manifest) {
                try SpoolFiles.move(work.manifest, to: layout.failed + "/\(jobId).json")
                SpoolFiles.fsyncDirectory(layout.failed)
            }
            if try !jobFailureAudited(jobId: jobId, code: failure.code) {
                try auditAdministrativeStep(.jobFailed, manifest, outcome: "failure",
                                            details: ["code": failure.code, "message": failure.message, "type": manifest.type], once: false)
            }
            row.resultPath = report
            return .failureRecorded
        } catch {
            logger.error("recording the job's failure failed; it is tried again", metadata: ["code": .string(failure.code), "error": .string("\(error)")])
            return .stepFailed(self.failure(error, logger: logger, retryableByDefault: true))
        }
    }

    /// A job step's record: a failure to write it fails the step (retryable `audit.unavailable`).
    func auditAdministrativeStep(_ type: AuditEventType, _ manifest: JobManifest, outcome: String = "success", details: [String: String], once: Bool = true) throws {
        try auditAdministrative(type, manifest, outcome: outcome, details: details, once: once)
    }
}
