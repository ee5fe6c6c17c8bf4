import Audit
import CertificateAuthority
import CertificateLifecycle
import Crypto
import Foundation
import Jobs
import Logging
import PKIStructures
import SCA
import SigndCore
import StateStore
import SwiftASN1
import Timestamping
import X509

/// What done/<job>.result.json says about an administrative job (docs/spool.md). Absent fields
/// are omitted.
struct AdministrativeResult: Codable, Sendable {
    var jobId: String
    var type: String
    /// enroll: `enrolled`; device: `registered`, `blocked`, `unblocked`, `removed`; revoke: `revoked`.
    var status: String
    var userId: String?
    var deviceId: String?
    // enroll
    var certificateSerial: String?
    var notBefore: String?
    var notAfter: String?
    var profile: String?
    var certificatePEM: String?
    var chainPEM: String?
    var supersededSerial: String?
    // device register
    var publicKeySha256: String?
    // device remove, revoke
    var revokedSerials: [String]?
    // revoke
    var serial: String?
    var reason: String?
    var completedAt: String
}

/// Administrative jobs (`enroll`, `device`, `revoke`) from the spool: one short step each. The
/// manifest is claimed into work/ (work/<job>.manifest.json) and recorded in the job table (state claimed → delivered
/// | failed, documentSha256 = SHA-256 of the manifest bytes), the change is applied through the
/// same services the CLI uses (EnrollmentService, DeviceRegistry, the CA), the result is written
/// to work/<job>.result.json, the manifest is archived and the result published to done/.
/// A job id is processed once: the job table is shared with sign jobs.
extension JobPipeline {
    /// The profile reserved for signd's own TSA certificate; never issued to a device.
    static let reservedProfiles: Set<String> = ["tsa"]

    // MARK: - Intake (called from intake(manifestName:))

    func intakeAdministrative(_ manifest: JobManifest, manifestName name: String, data: Data) async -> IntakeResult {
        let jobId = manifest.jobId
        let path = layout.incoming + "/" + name
        if let existing = try? deps.database.job(jobId) {
            let where_ = existing.resultPath ?? "\(layout.failed)/\(existing.jobId).error.json"
            rejectUnclaimed(files: [name], baseName: jobId + ".duplicate", code: "job.duplicate",
                            message: "job \(jobId) was already processed (state \(existing.state.rawValue)); its result: \(where_). Use a new job id for a new job.",
                            jobId: jobId, auditType: .inputRejected)
            return .rejected(code: "job.duplicate")
        }
        let work = layout.workFiles(jobId)
        let digest = Hex.encode(Array(SHA256.hash(data: data)))
        do {
            // The manifest's no-replace rename into work/ is the claim: a second claimant finds it taken.
            guard !work.exists, try SpoolFiles.claim(path, to: work.manifest) else {
                rejectUnclaimed(files: [name], baseName: jobId + ".duplicate", code: "job.duplicate",
                                message: "job \(jobId) is already in progress; use a new job id for a new job", jobId: jobId, auditType: .inputRejected)
                return .rejected(code: "job.duplicate")
            }
            SpoolFiles.fsyncDirectory(layout.work)
            SpoolFiles.fsyncDirectory(layout.incoming)
            _ = try deps.database.claimJob(administrativeRecord(manifest, digest: digest))
        } catch {
            deps.logger.error("claiming job failed", metadata: ["job": .string(jobId), "trace": .string(TraceID.make()), "error": .string("\(error)")])
            return .waiting
        }
        auditAdministrative(.jobReceived, manifest, details: receivedDetails(manifest, digest: digest))
        await process(jobId: jobId, resumed: false)
        return .processed(jobId: jobId)
    }

    /// recover(): work files without a job row whose manifest is administrative (a crash
    /// between the claim's rename and its insert). Claims and runs it; false for sign jobs.
    func recoverAdministrativeClaim(jobId: String, work: WorkFiles) async -> Bool {
        guard let data = try? SpoolFiles.readRegular(work.manifest, limit: ManifestValidator.maximumManifestBytes),
              let manifest = try? ManifestValidator.parseJob(data, defaults: configuration.manifestDefaults) else { return false }
        if case .sign = manifest { return false }
        guard manifest.jobId == jobId else { return true }  // not ours to run; left for the operator
        let digest = Hex.encode(Array(SHA256.hash(data: data)))
        _ = try? deps.database.claimJob(administrativeRecord(manifest, digest: digest))
        var details = receivedDetails(manifest, digest: digest)
        details["recovered"] = "true"
        auditAdministrative(.jobReceived, manifest, details: details)
        await process(jobId: jobId)
        return true
    }

    // MARK: - Processing (called from process(jobId:resumed:))

    /// Runs, resumes or finishes the job when it is administrative; false for sign jobs (and for
    /// jobs whose manifest is nowhere to be found, which the sign path reports).
    func processAdministrative(job: JobRecord, resumed: Bool, logger: Logger) async -> Bool {
        let jobId = job.jobId
        let work = layout.workFiles(jobId)
        let limit = ManifestValidator.maximumManifestBytes
        if let data = try? SpoolFiles.readRegular(work.manifest, limit: limit) {
            guard let manifest = try? ManifestValidator.parseJob(data, defaults: configuration.manifestDefaults) else { return false }
            if case .sign = manifest { return false }
            await runAdministrative(job: job, manifest: manifest, resumed: resumed, logger: logger)
            return true
        }
        // The manifest already left work/: a crash while delivering or failing the job.
        if let data = try? SpoolFiles.readRegular(layout.archive + "/\(jobId).json", limit: limit),
           let manifest = try? ManifestValidator.parseJob(data, defaults: configuration.manifestDefaults), manifest.jobId == jobId {
            if case .sign = manifest { return false }
            finishAdministrativeDelivery(job: job, manifest: manifest, logger: logger)
            return true
        }
        if let data = try? SpoolFiles.readRegular(layout.failed + "/\(jobId).json", limit: limit),
           let manifest = try? ManifestValidator.parseJob(data, defaults: configuration.manifestDefaults), manifest.jobId == jobId {
            if case .sign = manifest { return false }
            let (code, message) = Self.failureOnRecord(jobId: jobId, errorCode: job.errorCode, failedDir: layout.failed)
            failAdministrative(job: job, manifest: manifest, code: code, message: message, retryable: false, logger: logger)
            return true
        }
        return false
    }

    func runAdministrative(job: JobRecord, manifest: JobManifest, resumed: Bool, logger: Logger) async {
        let work = layout.workFiles(job.jobId)
        if resumed && job.state == .claimed {
            // A crash between the claim and its audit record: record it now (once).
            var details = receivedDetails(manifest, digest: job.documentSha256)
            details["recovered"] = "true"
            auditAdministrative(.jobReceived, manifest, details: details)
        }
        if SpoolFiles.isRegularFile(work.result) {
            // Applied before a crash; only the delivery is missing.
            finishAdministrativeDelivery(job: job, manifest: manifest, logger: logger)
            return
        }
        if resumed, let failure = failureReport(of: job) {
            // Failed before a crash: the error report is written first, the manifest had not yet
            // left work/. Finish that failure; do not apply the job again.
            failAdministrative(job: job, manifest: manifest, code: failure.code, message: failure.message, retryable: failure.retryable, logger: logger)
            return
        }
        // One administrative job per device at a time: two enroll jobs must not both pass the
        // enroll.exists check, nor a revoke run beside a remove of the same device.
        let deviceKey = subjects(of: manifest).deviceId.flatMap { $0.isEmpty ? nil : "intake-device:" + $0 }
        if let deviceKey, !(await acquireDevice(deviceKey)) {
            let delay = configuration.retryBase
            try? deps.database.scheduleJobRetry(job.jobId, at: now.addingTimeInterval(delay), now: now, errorCode: "device.busy")
            logger.info("device busy with another administrative job; job will be retried", metadata: ["in": .string("\(delay)s")])
            return
        }
        defer { if let deviceKey { bookkeeping.end(deviceKey) } }
        do {
            let result = try await applyAdministrative(manifest, job: job, resumed: resumed)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let writer = try AtomicFileWriter(path: work.result)
            try writer.write(Array(try encoder.encode(result)))
            try writer.commit()
            finishAdministrativeDelivery(job: job, manifest: manifest, logger: logger)
        } catch {
            let (code, message, retryable) = Self.describeAdministrative(error)
            if code == "internal" { logger.error("administrative job failed unexpectedly", metadata: ["error": .string("\(error)")]) }
            if retryable && job.attempts < configuration.maximumRetries {
                let delay = configuration.retryBase * pow(2, Double(job.attempts))
                try? deps.database.scheduleJobRetry(job.jobId, at: now.addingTimeInterval(delay), now: now, errorCode: code)
                logger.warning("job will be retried", metadata: ["code": .string(code), "in": .string("\(delay)s")])
                return
            }
            failAdministrative(job: job, manifest: manifest, code: code, message: message, retryable: retryable, logger: logger)
        }
    }

    /// Applies the change through the CLI's services. `resumed`: an earlier attempt may have
    /// applied it before a crash, so "already done by this job" counts as done.
    func applyAdministrative(_ manifest: JobManifest, job: JobRecord, resumed: Bool) async throws -> AdministrativeResult {
        switch manifest {
        case .sign:
            throw SpoolError("internal", "a sign job reached the administrative path")
        case .enroll(let m):
            return try await enroll(m, job: job, resumed: resumed)
        case .device(let m):
            return try await device(m, job: job, resumed: resumed)
        case .revoke(let m):
            return try await revoke(m, job: job, resumed: resumed)
        }
    }

    // MARK: - enroll

    func enroll(_ m: EnrollManifest, job: JobRecord, resumed: Bool) async throws -> AdministrativeResult {
        let database = deps.database
        let profile = m.profile ?? "default"
        guard !Self.reservedProfiles.contains(profile) else {
            throw SpoolError("enroll.profileNotAllowed", "profile \"\(profile)\" is reserved for signd's own TSA certificate and is never issued to a device")
        }
        // Activation comes first (brief, journey 1): the spool never registers a device implicitly.
        guard try database.device(m.deviceId) != nil else {
            throw StateStoreError(code: "device.unknown", message: "no device \(m.deviceId) is registered; register it first (device job, action register)")
        }
        if resumed {
            let issuedByOthers = certificatesIssuedByOthers(since: job)
            let certificates = try database.certificates(deviceId: m.deviceId)
            if let issued = certificates.last(where: { $0.status == .active && $0.createdAt >= job.createdAt && $0.userId == m.userId
                                                       && !issuedByOthers.contains($0.serial) }) {
                // Issued by this job before a crash: report it, do not issue a second one, and
                // record it (once: the crash may have come before or after the event).
                let superseded = certificates.last(where: { $0.supersededBy == issued.serial })?.serial
                auditAdministrative(.certificateEnrolled, .enroll(m), serial: issued.serial,
                                    details: ["profile": issued.profile, "mode": m.key == .cloud ? "cloud" : "external", "renew": String(m.renew ?? false),
                                              "superseded": superseded ?? "", "recovered": "true"])
                return try enrollResult(m, record: issued, certificate: try Certificate(derEncoded: Array(issued.der)),
                                        chain: try await deps.enrollment.ca.caChain(), superseded: superseded)
            }
        }
        let existing = try database.activeCertificate(deviceId: m.deviceId, at: now)
        if let existing, m.renew != true {
            throw LifecycleError(code: "enroll.exists", message: "device \(m.deviceId) already has an active certificate (serial \(existing.serial)); set \"renew\": true to re-enroll")
        }
        let issued: IssuedCertificate
        switch m.key {
        case .cloud:
            issued = try await deps.enrollment.enrollCloud(userId: m.userId, deviceId: m.deviceId,
                                                          subject: try SubjectName.parse(m.subject ?? ""), profile: profile)
        case .csr:
            let der: [UInt8]
            do { der = try PEMDocument(pemString: m.csr ?? "").derBytes } catch {
                throw CertificateAuthorityError(.csrMalformed, "csr is not a PEM certificate request")
            }
            issued = try await deps.enrollment.enrollExternal(userId: m.userId, deviceId: m.deviceId, csrDER: der, profile: profile)
        }
        let serial = Hex.encode(issued.certificate.serialNumber.bytes)
        auditAdministrative(.certificateEnrolled, .enroll(m), serial: serial,
                            details: ["profile": profile, "mode": m.key == .cloud ? "cloud" : "external", "renew": String(m.renew ?? false),
                                      "superseded": existing?.serial ?? ""])
        guard let record = try database.certificate(serial: serial) else {
            throw SpoolError("internal", "certificate \(serial) was issued but is not in the state database")
        }
        return try enrollResult(m, record: record, certificate: issued.certificate, chain: issued.chain, superseded: existing?.serial)
    }

    func enrollResult(_ m: EnrollManifest, record: CertificateRecord, certificate: Certificate, chain: [Certificate], superseded: String?) throws -> AdministrativeResult {
        AdministrativeResult(jobId: m.jobId, type: "enroll", status: "enrolled", userId: m.userId, deviceId: m.deviceId,
                             certificateSerial: record.serial, notBefore: Timestamps.iso8601(record.notBefore),
                             notAfter: Timestamps.iso8601(record.notAfter), profile: record.profile,
                             certificatePEM: try PEM.encode([certificate]), chainPEM: chain.isEmpty ? nil : try PEM.encode(chain),
                             supersededSerial: superseded, completedAt: Timestamps.iso8601(now))
    }

    // MARK: - device

    func device(_ m: DeviceManifest, job: JobRecord, resumed: Bool) async throws -> AdministrativeResult {
        let database = deps.database
        let registry = DeviceRegistry(database: database)
        var result = AdministrativeResult(jobId: m.jobId, type: "device", status: "", userId: m.userId, deviceId: m.deviceId,
                                          completedAt: Timestamps.iso8601(now))
        let manifest = JobManifest.device(m)
        if m.action == .register {
            let record: DeviceRecord
            do {
                record = try registry.register(deviceId: m.deviceId, userId: m.userId, publicKeyPEM: m.publicKey ?? "", now: now)
            } catch let e as StateStoreError where e.code == "device.exists" && resumed {
                // Registered by this job before a crash: the same user and key count as done.
                guard let existing = try database.device(m.deviceId), existing.userId == m.userId,
                      let key = try? P256.Signing.PublicKey(pemRepresentation: m.publicKey ?? ""),
                      existing.publicKeyDER.map({ Array($0) }) == Array(key.derRepresentation) else { throw e }
                record = existing
            }
            let fingerprint = record.publicKeyDER.map { Hex.encode(Array(SHA256.hash(data: $0))) }
            auditAdministrative(.deviceRegistered, manifest, details: ["publicKeySha256": fingerprint ?? ""])
            result.status = "registered"
            result.publicKeySha256 = fingerprint
            return result
        }
        guard let device = try database.device(m.deviceId) else {
            throw StateStoreError(code: "device.unknown", message: "no device \(m.deviceId) is registered")
        }
        guard device.userId == m.userId else {
            throw LifecycleError(code: "device.userMismatch", message: "device \(m.deviceId) belongs to another user than \(m.userId)")
        }
        switch m.action {
        case .register:
            break
        case .block:
            try registry.block(deviceId: m.deviceId, now: now)
            auditAdministrative(.deviceBlocked, manifest, details: ["previousStatus": device.status.rawValue])
            result.status = "blocked"
        case .unblock:
            try registry.unblock(deviceId: m.deviceId, now: now)
            auditAdministrative(.deviceUnblocked, manifest, details: ["previousStatus": device.status.rawValue])
            result.status = "unblocked"
        case .remove:
            let report = try await DeviceRemoval(database: database, certificateAuthority: deps.enrollment.ca).remove(deviceId: m.deviceId, now: now)
            // Resumed: certificates an earlier attempt revoked (and marked) before a crash are
            // no longer pending for the removal; they are this job's revocations all the same.
            var earlier: [CertificateRecord] = []
            if resumed {
                let thisRun = Set(report.revoked.map(\.serial) + report.alreadyRevoked)
                earlier = try revokedByEarlierAttempt(of: job, deviceId: m.deviceId).filter { !thisRun.contains($0.serial) }
            }
            for c in earlier {
                auditRevocation(manifest, serial: c.serial, details: ["reason": c.revocationReason ?? "", "recovered": "true"])
            }
            for r in report.revoked {
                auditRevocation(manifest, serial: r.serial, details: ["reason": r.reason.rawValue])
            }
            for s in report.alreadyRevoked {
                auditRevocation(manifest, serial: s, details: ["alreadyRevokedAtCA": "true"])
            }
            let revokedSerials = earlier.map(\.serial) + report.revoked.map(\.serial) + report.alreadyRevoked
            // The device is REMOVED even when some revocations failed: record that now.
            auditAdministrative(.deviceRemoved, manifest,
                                details: ["revoked": revokedSerials.joined(separator: ","),
                                          "notRevoked": report.failed.map(\.serial).joined(separator: ",")])
            if !report.complete {
                let retryable = report.failed.allSatisfy(\.retryable)
                let list = report.failed.map { "\($0.serial): \($0.error)" }.joined(separator: "; ")
                throw SpoolError(retryable ? "ca.unavailable" : "device.revocationIncomplete",
                                 "device \(m.deviceId) is removed, but \(report.failed.count) certificate(s) are not revoked (\(list)); submit a new remove job or run `signd device remove --device \(m.deviceId)`",
                                 retryable: retryable)
            }
            result.status = "removed"
            result.revokedSerials = revokedSerials
        }
        return result
    }

    // MARK: - revoke

    func revoke(_ m: RevokeManifest, job: JobRecord, resumed: Bool) async throws -> AdministrativeResult {
        let database = deps.database
        guard let reason = RevocationReason(rawValue: m.reason) else {
            throw ManifestError(code: "manifest.invalidValue", message: "reason \"\(m.reason)\" is not an RFC 5280 reason name")
        }
        var targets: [CertificateRecord]
        // Resumed: certificates this job revoked and marked before a crash (revoked at or after
        // its claim, by no other job): recorded and reported, not revoked again.
        var revokedEarlier: Set<String> = []
        if let serial = m.normalizedSerial {
            // Only device certificates signd enrolled: the CA's other certificates (the embedded
            // TSA's) are the operator's, through `signd ca revoke`.
            guard let record = try database.certificate(serial: serial) else {
                throw CertificateAuthorityError(.unknownCertificate, "no device certificate with serial \(serial); check `signd certificates`")
            }
            targets = [record]
            if resumed { revokedEarlier = Set(try revokedByEarlierAttempt(of: job, deviceId: record.deviceId).map(\.serial)) }
        } else {
            let deviceId = m.deviceId ?? ""
            guard try database.device(deviceId) != nil else {
                throw StateStoreError(code: "device.unknown", message: "no device \(deviceId) is registered")
            }
            targets = try database.certificates(deviceId: deviceId).filter { $0.status == .active || $0.status == .superseded }
            if resumed {
                let earlier = try revokedByEarlierAttempt(of: job, deviceId: deviceId)
                revokedEarlier = Set(earlier.map(\.serial))
                targets = earlier + targets
            }
            guard !targets.isEmpty || resumed else {
                throw SpoolError("revoke.nothingToRevoke", "device \(deviceId) has no certificate to revoke (none active or superseded)")
            }
        }
        if let user = m.userId, let other = targets.first(where: { $0.userId != user }) {
            throw SpoolError("certificate.userMismatch", "certificate \(other.serial) belongs to another user than \(user)")
        }
        let manifest = JobManifest.revoke(m)
        var revoked: [String] = []
        for cert in targets {
            var details = ["reason": reason.rawValue]
            if revokedEarlier.contains(cert.serial) {
                details["recovered"] = "true"
            } else {
                do {
                    try await deps.enrollment.ca.revoke(serialHex: cert.serial, reason: reason, at: now)
                } catch let e as CertificateAuthorityError where e.code == .alreadyRevoked && cert.status != .revoked {
                    // Revoked at the CA by this job before a crash (not yet marked here), or by the
                    // CA's operator: record it here too.
                    details["alreadyRevokedAtCA"] = "true"
                }
                try database.markRevoked(serial: cert.serial, reason: reason.rawValue, at: now)
            }
            // Once per job and serial: a resumed job may have recorded it before the crash.
            auditRevocation(manifest, serial: cert.serial, userId: cert.userId, deviceId: cert.deviceId, details: details)
            revoked.append(cert.serial)
        }
        return AdministrativeResult(jobId: m.jobId, type: "revoke", status: "revoked", userId: targets.first?.userId ?? m.userId,
                                    deviceId: targets.first?.deviceId ?? m.deviceId, revokedSerials: revoked,
                                    serial: revoked.count == 1 ? revoked[0] : nil, reason: reason.rawValue,
                                    completedAt: Timestamps.iso8601(now))
    }

    // MARK: - Delivery and failure

    /// Archives the manifest, publishes done/<job>.result.json (rename: it appears complete),
    /// records job.delivered, then the state, then removes the job's work files. Every step can be redone
    /// after a crash.
    func finishAdministrativeDelivery(job: JobRecord, manifest: JobManifest, logger: Logger) {
        let work = layout.workFiles(job.jobId)
        let resultPath = layout.done + "/\(job.jobId).result.json"
        if SpoolFiles.isRegularFile(work.manifest) {
            _ = try? SpoolFiles.move(work.manifest, to: layout.archive + "/\(job.jobId).json")
            SpoolFiles.fsyncDirectory(layout.archive)
        }
        if SpoolFiles.isRegularFile(work.result) {
            guard rename(work.result, resultPath) == 0 else {
                logger.error("cannot publish the result; will retry", metadata: ["path": .string(resultPath), "error": .string(String(cString: strerror(errno)))])
                try? deps.database.scheduleJobRetry(job.jobId, at: now.addingTimeInterval(configuration.retryBase), now: now, errorCode: "spool.io")
                return
            }
            SpoolFiles.fsyncDirectory(layout.done)
        }
        guard SpoolFiles.isRegularFile(resultPath) else {
            logger.error("administrative job cannot be finished: its result is missing", metadata: ["state": .string(job.state.rawValue)])
            return
        }
        let status = (try? SpoolFiles.readRegular(resultPath, limit: 1 << 20))
            .flatMap { try? JSONDecoder().decode(AdministrativeResult.self, from: $0) }?.status ?? ""
        auditAdministrative(.jobDelivered, manifest, details: ["output": resultPath, "status": status])
        try? deps.database.setJobState(job.jobId, .delivered, now: now, resultPath: resultPath)
        work.removeAll()
        logger.info("job delivered", metadata: ["type": .string(manifest.type), "status": .string(status)])
    }

    func failAdministrative(job: JobRecord, manifest: JobManifest, code: String, message: String, retryable: Bool, logger: Logger) {
        let jobId = job.jobId
        let work = layout.workFiles(jobId)
        let report = layout.failed + "/\(jobId).error.json"
        // The report first: a crash before the manifest leaves work/ is finished from it with the
        // real code (runAdministrative), and so is one after (processAdministrative).
        if failureReport(of: job)?.code != code {
            do {
                try Self.writeError(jobId: jobId, code: code, message: message, retryable: retryable, to: report, at: now, replacingOwn: true)
            } catch {
                logger.error("cannot write the error report", metadata: ["path": .string(report), "error": .string("\(error)")])
            }
        }
        if SpoolFiles.isRegularFile(work.manifest) {
            _ = try? SpoolFiles.move(work.manifest, to: layout.failed + "/\(jobId).json")
            SpoolFiles.fsyncDirectory(layout.failed)
        }
        // Once: a crash after the event and before the state change makes the daemon come here again.
        if !jobFailureAudited(jobId: jobId, code: code) {
            auditAdministrative(.jobFailed, manifest, outcome: "failure", details: ["code": code, "message": message, "type": manifest.type], once: false)
        }
        try? deps.database.setJobState(jobId, .failed, now: now, errorCode: code, resultPath: report)
        work.removeAll()
        logger.warning("job failed", metadata: ["code": .string(code), "type": .string(manifest.type)])
    }

    // MARK: - Helpers

    /// How long an administrative job waits for another one of the same device (docs/spool.md)
    /// before it is scheduled for a retry instead.
    static let deviceWaitSeconds: TimeInterval = 10

    /// Takes the device's slot (bookkeeping key `intake-device:<id>`: not a job in flight),
    /// polling every 20 ms for up to `deviceWaitSeconds`; false when it stayed taken.
    func acquireDevice(_ key: String) async -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(Self.deviceWaitSeconds * 1e9)
        while !bookkeeping.begin(key) {
            guard DispatchTime.now().uptimeNanoseconds < deadline else { return false }
            do { try await Task.sleep(nanoseconds: 20_000_000) } catch { return false }
        }
        return true
    }

    /// The error report failAdministrative wrote for this job (it is written before the manifest
    /// leaves work/). A report written before the job was claimed (an earlier rejected file of
    /// the same name) does not count.
    func failureReport(of job: JobRecord) -> (code: String, message: String, retryable: Bool)? {
        guard let data = try? SpoolFiles.readRegular(layout.failed + "/\(job.jobId).error.json", limit: 1 << 20),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["jobId"] as? String == job.jobId,
              let code = object["code"] as? String, let message = object["message"] as? String,
              let at = (object["at"] as? String).flatMap({ try? Date($0, strategy: .iso8601) }),
              at >= Date(timeIntervalSince1970: job.createdAt.timeIntervalSince1970.rounded(.down)) else { return nil }  // `at` has whole seconds
        return (code, message, object["retryable"] as? Bool ?? false)
    }

    /// Whether `job.failed` with `code` is already recorded for the job (sign and administrative
    /// jobs: a failure finished after a crash is recorded once).
    func jobFailureAudited(jobId: String, code: String) -> Bool {
        var q = AuditLog.Query()
        q.jobId = jobId
        q.type = AuditEventType.jobFailed.rawValue
        return ((try? deps.audit.query(q)) ?? []).contains { $0.detailFields["code"] == code }
    }

    /// Records `certificate.revoked` for `serial` once per job: a resumed job may have recorded
    /// it before the crash.
    func auditRevocation(_ manifest: JobManifest, serial: String, userId: String? = nil, deviceId: String? = nil, details: [String: String]) {
        var q = AuditLog.Query()
        q.jobId = manifest.jobId
        q.type = AuditEventType.certificateRevoked.rawValue
        if ((try? deps.audit.query(q)) ?? []).contains(where: { $0.certificateSerial == serial }) { return }
        auditAdministrative(.certificateRevoked, manifest, serial: serial, userId: userId, deviceId: deviceId, details: details, once: false)
    }

    /// Serials another job or command recorded as revoked, enrolled or renewed since `job` was
    /// claimed: not this job's work, even when they fall in its time window.
    func auditedSerialsOfOthers(since job: JobRecord, types: [AuditEventType]) -> Set<String> {
        var serials: Set<String> = []
        for type in types {
            var q = AuditLog.Query()
            q.type = type.rawValue
            q.since = job.createdAt.addingTimeInterval(-1)
            for event in (try? deps.audit.query(q)) ?? [] where event.jobId != job.jobId {
                if let serial = event.certificateSerial { serials.insert(serial) }
            }
        }
        return serials
    }

    func certificatesIssuedByOthers(since job: JobRecord) -> Set<String> {
        auditedSerialsOfOthers(since: job, types: [.certificateEnrolled, .certificateRenewed])
    }

    /// Certificates of the device an earlier attempt of `job` revoked and marked before a crash:
    /// marked revoked at or after the job's claim and not recorded as revoked by anyone else.
    func revokedByEarlierAttempt(of job: JobRecord, deviceId: String) throws -> [CertificateRecord] {
        let candidates = try deps.database.certificates(deviceId: deviceId)
            .filter { $0.status == .revoked && ($0.revokedAt.map { $0 >= job.createdAt } ?? false) }
        guard !candidates.isEmpty else { return [] }
        let others = auditedSerialsOfOthers(since: job, types: [.certificateRevoked])
        return candidates.filter { !others.contains($0.serial) }
    }

    /// The job row: user and device from the manifest (for a revoke by serial, from the certificate).
    func administrativeRecord(_ manifest: JobManifest, digest: String) -> JobRecord {
        let (userId, deviceId) = subjects(of: manifest)
        return JobRecord(jobId: manifest.jobId, spool: layout.name, state: .claimed, documentSha256: digest,
                         userId: userId ?? "", deviceId: deviceId ?? "", now: now)
    }

    func subjects(of manifest: JobManifest) -> (userId: String?, deviceId: String?) {
        switch manifest {
        case .sign(let m): return (m.signer.userId, m.signer.deviceId)
        case .enroll(let m): return (m.userId, m.deviceId)
        case .device(let m): return (m.userId, m.deviceId)
        case .revoke(let m):
            if let serial = m.normalizedSerial, let cert = try? deps.database.certificate(serial: serial) {
                return (cert.userId, cert.deviceId)
            }
            return (m.userId, m.deviceId)
        }
    }

    func receivedDetails(_ manifest: JobManifest, digest: String) -> [String: String] {
        var details = ["spool": layout.name, "type": manifest.type, "manifestSha256": digest]
        switch manifest {
        case .sign: break
        case .enroll(let m): details["key"] = m.key.rawValue
        case .device(let m): details["action"] = m.action.rawValue
        case .revoke(let m): details["reason"] = m.reason
        }
        return details
    }

    /// Audit records of administrative jobs carry the job id, user and device. The job steps
    /// (received, delivered) and the one-per-job service events are recorded once even when a
    /// crash makes the daemon redo the step.
    func auditAdministrative(_ type: AuditEventType, _ manifest: JobManifest, serial: String? = nil, userId: String? = nil, deviceId: String? = nil,
                             outcome: String = "success", details: [String: String] = [:], once: Bool = true) {
        let subject = subjects(of: manifest)
        _ = try? deps.audit.append(AuditEntry(type: type, jobId: manifest.jobId, userId: userId ?? subject.userId, deviceId: deviceId ?? subject.deviceId,
                                              certificateSerial: serial, outcome: outcome, details: details),
                                   oncePerJob: once)
    }

    /// Code, message and retryability of a failure, for the services' error types.
    static func describeAdministrative(_ error: any Error) -> (code: String, message: String, retryable: Bool) {
        switch error {
        case let e as CertificateAuthorityError: return (e.code.rawValue, e.message, e.retryable)
        case let e as SCAError: return (e.code, e.message, e.retryable)
        case let e as StateStoreError: return (e.code, e.message, false)
        case let e as SpoolError: return (e.code, e.message, e.retryable)
        default:
            let (code, message) = describe(error)
            if code == "internal" { return (code, "an internal error occurred; the job did not complete (see the daemon log)", false) }
            return (code, message, false)
        }
    }
}
