import Audit
import CertificateAuthority
import CertificateLifecycle
import Crypto
import Foundation
import JobEngine
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
        let existing: JobRecord?
        do { existing = try deps.database.job(jobId) } catch {
            deps.logger.error("reading the state database failed; the manifest is looked at again at the next rescan",
                              metadata: ["job": .string(jobId), "error": .string("\(error)")])
            return .waiting
        }
        if let existing {
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
            _ = try deps.database.claimJob(administrativeRecord(manifest, digest: digest, attemptUnderWay: true))
        } catch {
            deps.logger.error("claiming job failed", metadata: ["job": .string(jobId), "trace": .string(TraceID.make()), "error": .string("\(error)")])
            return .waiting
        }
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
        do { _ = try deps.database.claimJob(administrativeRecord(manifest, digest: digest, attemptUnderWay: false)) } catch {
            deps.logger.error("recording the claimed job failed; it is resumed at the next start", metadata: ["job": .string(jobId), "error": .string("\(error)")])
            return true
        }
        await process(jobId: jobId)
        return true
    }

    // MARK: - Processing (called from process(jobId:resumed:))

    /// Runs, resumes or finishes the job when it is administrative; false for sign jobs (and for
    /// jobs whose manifest is nowhere to be found, which the sign path reports). The manifest is
    /// in work/ until the job's delivery or failure moves it to archive/ or failed/; the job's
    /// pending action, not where the manifest is, says what runs.
    func processAdministrative(job: JobRecord, resumed: Bool, logger: Logger) async -> Bool {
        let jobId = job.jobId
        let limit = ManifestValidator.maximumManifestBytes
        for path in [layout.workFiles(jobId).manifest, layout.archive + "/\(jobId).json", layout.failed + "/\(jobId).json"] {
            guard let data = try? SpoolFiles.readRegular(path, limit: limit) else { continue }
            guard let manifest = try? ManifestValidator.parseJob(data, defaults: configuration.manifestDefaults), manifest.jobId == jobId else {
                if path == layout.workFiles(jobId).manifest { return false }
                continue
            }
            if case .sign = manifest { return false }
            await runAdministrative(job: job, manifest: manifest, resumed: resumed, logger: logger)
            return true
        }
        return false
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
        if let issued = try database.certificate(issuedByJob: job.jobId) {
            // Issued by this job before a crash (its job id is on the certificate): report it, do
            // not issue a second one, and record it (once: the crash may have come before or
            // after the event).
            let superseded = try supersededSerial(by: issued)
            try auditAdministrative(.certificateEnrolled, .enroll(m), serial: issued.serial,
                                details: ["profile": issued.profile, "mode": m.key == .cloud ? "cloud" : "external", "renew": String(m.renew ?? false),
                                          "superseded": superseded ?? "", "recovered": "true"])
            return try enrollResult(m, record: issued, certificate: try Certificate(derEncoded: Array(issued.der)),
                                    chain: try await deps.enrollment.ca.caChain(), superseded: superseded)
        }
        // Refused before the CA is asked. The decision itself is taken again in the transaction
        // that stores the certificate (replacing .none), so nothing that runs meanwhile can
        // give the device a second active certificate.
        if m.renew != true, let existing = try database.activeCertificate(deviceId: m.deviceId, at: now) {
            throw LifecycleError(code: .enrollExists, message: "device \(m.deviceId) already has an active certificate (serial \(existing.serial)); set \"renew\": true to re-enroll")
        }
        let replacing: CertificateReplacement = m.renew == true ? .anyActive : .none
        let issued: IssuedCertificate
        switch m.key {
        case .cloud:
            issued = try await deps.enrollment.enrollCloud(userId: m.userId, deviceId: m.deviceId, subject: try SubjectName.parse(m.subject ?? ""),
                                                          profile: profile, operation: job.jobId, replacing: replacing)
        case .csr:
            let der: [UInt8]
            do { der = try PEMDocument(pemString: m.csr ?? "").derBytes } catch {
                throw CertificateAuthorityError(.csrMalformed, "csr is not a PEM certificate request")
            }
            issued = try await deps.enrollment.enrollExternal(userId: m.userId, deviceId: m.deviceId, csrDER: der, profile: profile,
                                                             operation: job.jobId, replacing: replacing)
        }
        let serial = Hex.encode(issued.certificate.serialNumber.bytes)
        guard let record = try database.certificate(serial: serial) else {
            throw SpoolError("internal", "certificate \(serial) was issued but is not in the state database")
        }
        let superseded = try supersededSerial(by: record)
        try auditAdministrative(.certificateEnrolled, .enroll(m), serial: serial,
                            details: ["profile": profile, "mode": m.key == .cloud ? "cloud" : "external", "renew": String(m.renew ?? false),
                                      "superseded": superseded ?? ""])
        return try enrollResult(m, record: record, certificate: issued.certificate, chain: issued.chain, superseded: superseded)
    }

    /// The certificate `record` superseded when it was stored (the newest, if several).
    func supersededSerial(by record: CertificateRecord) throws -> String? {
        try deps.database.certificates(deviceId: record.deviceId).last(where: { $0.supersededBy == record.serial })?.serial
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
            try auditAdministrative(.deviceRegistered, manifest, details: ["publicKeySha256": fingerprint ?? ""])
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
            try auditAdministrative(.deviceBlocked, manifest, details: ["previousStatus": device.status.rawValue])
            result.status = "blocked"
        case .unblock:
            try registry.unblock(deviceId: m.deviceId, now: now)
            try auditAdministrative(.deviceUnblocked, manifest, details: ["previousStatus": device.status.rawValue])
            result.status = "unblocked"
        case .remove:
            let report = try await DeviceRemoval(database: database, certificateAuthority: deps.enrollment.ca).remove(deviceId: m.deviceId, now: now, operation: job.jobId)
            // Certificates an earlier attempt revoked (and marked with this job's id) before a
            // crash are no longer pending for the removal; they are this job's revocations all the same.
            let thisRun = Set(report.revoked.map(\.serial) + report.alreadyRevoked)
            let earlier = try database.certificates(revokedByJob: job.jobId).filter { !thisRun.contains($0.serial) }
            for c in earlier {
                try auditRevocation(manifest, serial: c.serial, details: ["reason": c.revocationReason ?? "", "recovered": "true"])
            }
            for r in report.revoked {
                try auditRevocation(manifest, serial: r.serial, details: ["reason": r.reason.rawValue])
            }
            for s in report.alreadyRevoked {
                try auditRevocation(manifest, serial: s, details: ["alreadyRevokedAtCA": "true"])
            }
            let revokedSerials = earlier.map(\.serial) + report.revoked.map(\.serial) + report.alreadyRevoked
            // The device is REMOVED even when some revocations failed: record that now.
            try auditAdministrative(.deviceRemoved, manifest,
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
        // Certificates this job revoked and marked (with its job id) before a crash: recorded
        // and reported, not revoked again.
        let earlier = try database.certificates(revokedByJob: job.jobId)
        let revokedEarlier = Set(earlier.map(\.serial))
        if let serial = m.normalizedSerial {
            // Only device certificates signd enrolled: the CA's other certificates (the embedded
            // TSA's) are the operator's, through `signd ca revoke`.
            guard let record = try database.certificate(serial: serial) else {
                throw CertificateAuthorityError(.unknownCertificate, "no device certificate with serial \(serial); check `signd certificates`")
            }
            targets = [record]
        } else {
            let deviceId = m.deviceId ?? ""
            guard try database.device(deviceId) != nil else {
                throw StateStoreError(code: "device.unknown", message: "no device \(deviceId) is registered")
            }
            targets = earlier.filter { $0.deviceId == deviceId }
                + (try database.certificates(deviceId: deviceId).filter { $0.status == .active || $0.status == .superseded })
            guard !targets.isEmpty else {
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
                try database.markRevoked(serial: cert.serial, reason: reason.rawValue, at: now, byJob: job.jobId)
            }
            // Once per job and serial: a resumed job may have recorded it before the crash.
            try auditRevocation(manifest, serial: cert.serial, userId: cert.userId, deviceId: cert.deviceId, details: details)
            revoked.append(cert.serial)
        }
        return AdministrativeResult(jobId: m.jobId, type: "revoke", status: "revoked", userId: targets.first?.userId ?? m.userId,
                                    deviceId: targets.first?.deviceId ?? m.deviceId, revokedSerials: revoked,
                                    serial: revoked.count == 1 ? revoked[0] : nil, reason: reason.rawValue,
                                    completedAt: Timestamps.iso8601(now))
    }

    // MARK: - Delivery and failure

    // MARK: - Helpers

    /// How long an administrative job waits for another job or command of the same device
    /// (docs/spool.md) before it is scheduled for a retry instead, and how often it looks.
    static let deviceWaitSeconds: TimeInterval = 10
    static let devicePollSeconds: TimeInterval = 0.02

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
    func jobFailureAudited(jobId: String, code: String) throws -> Bool {
        var q = AuditLog.Query()
        q.jobId = jobId
        q.type = AuditEventType.jobFailed.rawValue
        return try deps.audit.query(q).contains { $0.detailFields["code"] == code }
    }

    /// Records `certificate.revoked` for `serial` once per job: a resumed job may have recorded
    /// it before the crash.
    func auditRevocation(_ manifest: JobManifest, serial: String, userId: String? = nil, deviceId: String? = nil, details: [String: String]) throws {
        var q = AuditLog.Query()
        q.jobId = manifest.jobId
        q.type = AuditEventType.certificateRevoked.rawValue
        if try deps.audit.query(q).contains(where: { $0.certificateSerial == serial }) { return }
        try auditAdministrative(.certificateRevoked, manifest, serial: serial, userId: userId, deviceId: deviceId, details: details, once: false)
    }

    /// The job row: user and device from the manifest (for a revoke by serial, from the certificate).
    /// `attemptUnderWay`: claimed by this instance now, which runs it at once.
    func administrativeRecord(_ manifest: JobManifest, digest: String, attemptUnderWay: Bool) -> JobRecord {
        let (userId, deviceId) = subjects(of: manifest)
        var record = JobRecord(jobId: manifest.jobId, spool: layout.name, state: .claimed, documentSha256: digest,
                               userId: userId ?? "", deviceId: deviceId ?? "", now: now)
        if attemptUnderWay {
            record.attemptInProgress = true
            record.owner = Self.instanceId
            record.leaseUntil = now.addingTimeInterval(Self.attemptLease)
        }
        return record.applying(AdministrativeJob(claimed: manifest.jobId), now: now)
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
                             outcome: String = "success", details: [String: String] = [:], once: Bool = true) throws {
        let subject = subjects(of: manifest)
        do {
            try deps.audit.append(AuditEntry(type: type, jobId: manifest.jobId, userId: userId ?? subject.userId, deviceId: deviceId ?? subject.deviceId,
                                             certificateSerial: serial, outcome: outcome, details: details),
                                  oncePerJob: once)
            deps.auditHealth.succeeded()
        } catch {
            metrics.auditFailed()
            deps.auditHealth.failed("\(error)", at: now)
            throw SpoolError("audit.unavailable", "the audit trail cannot be written (\(error)); the job waits and is tried again. Check the audit database (disk space, permissions, a lock held by another process)", retryable: true)
        }
    }

    /// Code, message and retryability of a failure, for the services' error types.
    static func describeAdministrative(_ error: any Error) -> (code: String, message: String, retryable: Bool) {
        let failure = classify(error)
        if failure.code == SystemErrorCodes.internal {
            return (failure.code, "an internal error occurred; the job did not complete (see the daemon log)", false)
        }
        return failure
    }
}
