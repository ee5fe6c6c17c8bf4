import Audit
import Foundation
import JobEngine
import Jobs
import Logging
import SigndCore
import StateStore

/// The last steps of a sign job: `deliver` (publish the signed PDF and its result) and `fail`
/// (move the job's files to failed/ with a report). Both work from the state row alone and may
/// run again after a crash part-way through: every move is done only when its source is still
/// there, every record once.
extension JobPipeline {
    /// `deliver`: done/<job>.pdf, the inputs archived, then done/<job>.result.json (written last:
    /// its presence means the job is complete), then the audit record. The runner then records
    /// the state and removes the job's work files (`finished`).
    func deliverStep(row: inout JobRecord, resumed: Bool, logger: Logger) -> SignJobEvent {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { metrics.record(.deliver, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
        let jobId = row.jobId
        let work = layout.workFiles(jobId)
        let donePDF = layout.done + "/\(jobId).pdf"
        do {
            if FileStatus(path: work.signed) != nil {
                guard rename(work.signed, donePDF) == 0 else {
                    throw SpoolError("spool.io", "cannot publish \(donePDF): \(String(cString: strerror(errno)))", retryable: true)
                }
                SpoolFiles.fsyncDirectory(layout.done)
            }
            guard SpoolFiles.isRegularFile(donePDF) else {
                return .stepFailed(JobFailure(code: "job.workFilesMissing",
                                              message: "the signed output of job \(jobId) is neither in work/ nor in done/ (was it moved or deleted by hand?); submit the job again under a new job id",
                                              retryable: false))
            }
            // The level for the result: from the row (older rows: the archived manifest).
            var level = row.level
            if level == nil {
                let manifestPath = SpoolFiles.isRegularFile(work.manifest) ? work.manifest : layout.archive + "/\(jobId).json"
                level = (try? SpoolFiles.readRegular(manifestPath, limit: ManifestValidator.maximumManifestBytes))
                    .flatMap { try? ManifestValidator.parse($0, defaults: configuration.manifestDefaults) }?.level.rawValue
            }
            if SpoolFiles.isRegularFile(work.document) { try SpoolFiles.move(work.document, to: layout.archive + "/\(jobId).pdf") }
            if SpoolFiles.isRegularFile(work.manifest) { try SpoolFiles.move(work.manifest, to: layout.archive + "/\(jobId).json") }
            if SpoolFiles.isRegularFile(work.signature) { try SpoolFiles.move(work.signature, to: layout.archive + "/\(jobId).signature.json") }
            SpoolFiles.fsyncDirectory(layout.archive)
            // The prepared external state and the handed-out DTBS are not needed once the output
            // is published; removed before result.json appears, so that a complete result means
            // nothing of the job is left in work/ or pending/.
            unlink(work.externalState)
            unlink(layout.pending + "/\(jobId).dtbs.json")
            let signedDigest = try Self.sha256(ofFile: donePDF)
            let result: [String: String] = [
                "jobId": jobId, "status": "signed", "document": "\(jobId).pdf",
                "documentSha256": signedDigest, "originalSha256": row.documentSha256,
                "level": level ?? "", "signedAt": Timestamps.iso8601(resumed ? row.updatedAt : now),
            ]
            try Self.writeJSON(result, to: layout.done + "/\(jobId).result.json")
            // Audit, then state, then clean up: a crash between any two of these runs this step
            // again, which finds the files in place and records nothing twice.
            var entry = AuditEntry(type: .jobDelivered, jobId: jobId, userId: row.userId, deviceId: row.deviceId,
                                   documentSha256: row.documentSha256, details: ["output": donePDF, "outputSha256": signedDigest])
            entry.outcome = "success"
            try deps.audit.append(entry, oncePerJob: true)
            row.resultPath = donePDF
            return .delivered
        } catch {
            return .stepFailed(failure(error, logger: logger, retryableByDefault: true))
        }
    }

    /// `fail`: the job's inputs to failed/, its report, its audit record. A step of it that
    /// fails (a file that cannot be moved) is retried; the failure itself never changes.
    func failStep(row: inout JobRecord, failure: JobFailure, logger: Logger) -> SignJobEvent {
        let jobId = row.jobId
        let work = layout.workFiles(jobId)
        do {
            if SpoolFiles.isRegularFile(work.document) { try SpoolFiles.move(work.document, to: layout.failed + "/\(jobId).pdf") }
            if SpoolFiles.isRegularFile(work.manifest) { try SpoolFiles.move(work.manifest, to: layout.failed + "/\(jobId).json") }
            if SpoolFiles.isRegularFile(work.signature) { try SpoolFiles.move(work.signature, to: layout.failed + "/\(jobId).signature.json") }
            unlink(layout.pending + "/\(jobId).dtbs.json")
            let report = try Self.writeError(jobId: jobId, code: failure.code, message: failure.message, retryable: failure.retryable,
                                             to: layout.failed + "/\(jobId).error.json", at: now, replacingOwn: true)
            // Once per job and code: a failure finished again after a crash is not recorded twice.
            if try !jobFailureAudited(jobId: jobId, code: failure.code) {
                try deps.audit.append(AuditEntry(type: .jobFailed, jobId: jobId, userId: row.userId, deviceId: row.deviceId,
                                                 outcome: "failure", details: ["code": failure.code, "message": failure.message]))
            }
            row.resultPath = report
            return .failureRecorded
        } catch {
            logger.error("recording the job's failure failed; it is tried again", metadata: ["code": .string(failure.code), "error": .string("\(error)")])
            return .stepFailed(self.failure(error, logger: logger, retryableByDefault: true))
        }
    }

    /// After the final state is recorded: the job's work files go, the metrics count it.
    func finished(_ row: JobRecord, logger: Logger) {
        layout.workFiles(row.jobId).removeAll()
        metrics.record(.job, seconds: now.timeIntervalSince(row.createdAt))
        if row.state == .delivered {
            metrics.jobEnded(outcome: "delivered")
            logger.info("job delivered")
        } else {
            metrics.jobEnded(outcome: "failed", code: row.errorCode)
            logger.warning("job failed", metadata: ["code": .string(row.errorCode ?? "")])
        }
    }

    /// As `failure(_:logger:)`, but an error that carries no retryability of its own (a file
    /// system error while moving files) counts as retryable: finishing a step must not give up.
    func failure(_ error: any Error, logger: Logger, retryableByDefault: Bool) -> JobFailure {
        var result = failure(error, logger: logger)
        if retryableByDefault, !(error is SpoolError) { result.retryable = true }
        return result
    }

    // MARK: - Claims a crash cut short

    /// Work files without a state row: the claim's renames happened, its insert did not (the
    /// claim's one crash window; docs/spool.md). The claim is completed from the manifest in
    /// work/, and the job runs. Work files of finished jobs (a crash before their removal) go.
    func completeInterruptedClaims(_ inWork: [String]) async {
        for jobId in inWork {
            let work = layout.workFiles(jobId)
            let row: JobRecord?
            do { row = try deps.database.job(jobId) } catch {
                deps.logger.error("reading a job from the state database failed; it is resumed at the next start",
                                  metadata: ["job": .string(jobId), "error": .string("\(error)")])
                continue
            }
            if let row {
                if row.state.isFinal { work.removeAll() }
                continue
            }
            if await recoverAdministrativeClaim(jobId: jobId, work: work) { continue }
            if !SpoolFiles.isRegularFile(work.manifest), SpoolFiles.isRegularFile(work.document), let name = manifestInIncoming(forJob: jobId) {
                // The PDF was moved before the manifest (the order of older versions).
                _ = try? SpoolFiles.claim(layout.incoming + "/" + name, to: work.manifest)
            }
            guard let data = try? SpoolFiles.readRegular(work.manifest, limit: ManifestValidator.maximumManifestBytes),
                  let manifest = try? ManifestValidator.parse(data, defaults: configuration.manifestDefaults), manifest.jobId == jobId else {
                deps.logger.warning("files in work/ belong to no job signd can resume; left for the operator", metadata: ["job": .string(jobId)])
                continue
            }
            if !SpoolFiles.isRegularFile(work.document) {
                let incomingPDF = layout.incoming + "/" + manifest.document.file
                guard SpoolFiles.isRegularFile(incomingPDF), (try? Self.sha256(ofFile: incomingPDF)) == manifest.document.sha256 else { continue }
                _ = try? SpoolFiles.claim(incomingPDF, to: work.document)
            }
            // The job's digest is the approved one from the manifest: whether the file still has
            // it is proven when it is signed (document.changed otherwise).
            var record = claimedRecord(manifest, now: now)
            record.attemptInProgress = false
            record.owner = nil
            record.leaseUntil = nil
            do {
                guard try deps.database.claimJob(record).claimed else { continue }
            } catch {
                deps.logger.error("recording the claimed job failed; it is resumed at the next start",
                                  metadata: ["job": .string(jobId), "error": .string("\(error)")])
                continue
            }
            await process(jobId: jobId, resumed: true, claimed: (manifest, record))
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
}
