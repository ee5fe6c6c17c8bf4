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

/// The cloud-mode steps of a sign job (`authorize`, `sign`) and the self-check every signed
/// output passes before it is delivered. Each returns the event the runner hands to the machine.
extension JobPipeline {
    /// `authorize`: verifies and consumes the job's SCA approval.
    func authorize(row: JobRecord, manifest: SignManifest, resumed: Bool, logger: Logger) async -> SignJobEvent {
        do {
            try auditReceived(row: row, manifest: manifest, resumed: resumed)
            // Verified and used up before a crash, but the state was not yet recorded: go on.
            // (Only a resumed job can have; a job claimed just now cannot.)
            let alreadyConsumed = try resumed && deps.database.authorizationConsumed(byJob: row.jobId)
            let outcome: AuthorizationOutcome = alreadyConsumed
                ? .authorized(AuthorizationGrant(kind: manifest.authorization?.kind ?? "", deviceId: manifest.signer.deviceId,
                                                 userId: manifest.signer.userId, jobId: row.jobId, documentSHA256: row.documentSha256,
                                                 level: manifest.level, reference: "resumed", validUntil: now, consumed: true))
                : await metrics.measure(.authorize) {
                    await deps.authorizer.authorize(manifest: manifest, documentSHA256: row.documentSha256, now: now, consume: true)
                }
            switch outcome {
            case .authorized(let grant):
                try audit(.jobAuthorized, manifest: manifest, digest: row.documentSha256, details: ["kind": grant.kind, "reference": grant.reference])
                return .authorized
            case .denied(let denial):
                metrics.scaDenied(code: denial.code.rawValue)
                auditDenial(.jobDenied, manifest: manifest, digest: row.documentSha256, outcome: "failure",
                            details: ["code": denial.code.rawValue, "reason": denial.reason, "blockedDevice": String(denial.blockedDevice)])
                return .stepFailed(JobFailure(code: denial.publicCode, message: denial.publicMessage, retryable: denial.retryable))
            }
        } catch {
            return .stepFailed(failure(error, logger: logger))
        }
    }

    /// The job's first record, written by its first step (once per job: a step run again after
    /// a crash or a retry adds nothing). `resumed`: found after a restart.
    func auditReceived(row: JobRecord, manifest: SignManifest, resumed: Bool) throws {
        var details = ["spool": layout.name, "mode": manifest.mode.rawValue, "level": manifest.level.rawValue]
        if resumed { details["recovered"] = "true" }
        try audit(.jobReceived, manifest: manifest, digest: row.documentSha256, details: details)
    }

    /// `sign`: signs work/<job>.document.pdf into work/<job>.signed.pdf and checks the result.
    func signStep(row: JobRecord, manifest: SignManifest, logger: Logger) async -> SignJobEvent {
        do {
            let (serial, genTime) = try await sign(manifest: manifest, job: row, work: layout.workFiles(row.jobId))
            try audit(.jobSigned, manifest: manifest, digest: row.documentSha256, serial: serial, details: ["level": manifest.level.rawValue])
            if let genTime {
                try audit(.jobTimestamped, manifest: manifest, digest: row.documentSha256, serial: serial, details: ["genTime": genTime])
            }
            return .signed
        } catch {
            return .stepFailed(failure(error, logger: logger))
        }
    }

    /// The job-level failure for an error a step threw: its stable code, message and whether a
    /// retry can help. An error signd cannot classify is logged with its cause (the report only
    /// says `internal`).
    func failure(_ error: any Error, logger: Logger) -> JobFailure {
        let (code, message) = Self.describe(error)
        let retryable = classify(error).retryable
        if code == "internal" {
            logger.error("a job step failed with an error signd does not classify", metadata: ["error": .string(String(reflecting: error))])
        }
        return JobFailure(code: code, message: message, retryable: retryable)
    }

    /// The state row of a sign job claimed now: the approved document digest, level and
    /// appearance, the machine's first action, and an attempt under way (owned by this instance).
    func claimedRecord(_ manifest: SignManifest, now: Date) -> JobRecord {
        var record = JobRecord(jobId: manifest.jobId, spool: layout.name, state: .claimed, documentSha256: manifest.document.sha256,
                               userId: manifest.signer.userId, deviceId: manifest.signer.deviceId, now: now)
        record.level = manifest.level.rawValue
        record.appearanceSha256 = manifest.appearanceSha256
        record.attemptInProgress = true
        record.owner = Self.instanceId
        record.leaseUntil = now.addingTimeInterval(Self.attemptLease)
        return record.applying(SignJob(claimed: manifest.jobId, mode: manifest.mode == .external ? .external : .cloud), now: now)
    }

    /// The terms the job was claimed (and authorized) with must still be the manifest's: a job
    /// resumed after a restart is parsed again, and what it leaves out now comes from the
    /// spool's defaults as they are now. If those changed, refuse rather than sign what nobody
    /// approved.
    func checkApprovedTerms(manifest: SignManifest, job: JobRecord) throws {
        let approvedLevel = job.level ?? manifest.authorization?.statement?.level.rawValue
        if let approved = approvedLevel, approved != manifest.level.rawValue {
            auditDenial(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
                  details: ["code": "sca.levelMismatch", "reason": "approved \(approved), resumed job resolves to \(manifest.level.rawValue)"])
            throw SpoolError("sca.denied", "the authorization approves level \(approved) but the job would now be signed at \(manifest.level.rawValue) (the spool's default level changed since the job was claimed); submit the job again with an explicit level")
        }
        // Rows of older versions have no recorded appearance: the statement's (V2) stands in.
        if let approved = job.appearanceSha256 ?? manifest.authorization?.statement?.appearanceSha256, approved != manifest.appearanceSha256 {
            metrics.scaDenied(code: "sca.appearanceMismatch")
            auditDenial(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
                  details: ["code": "sca.appearanceMismatch", "reason": "approved appearance SHA-256 \(approved), resumed job resolves to \(manifest.appearanceSha256)"])
            throw SpoolError("sca.denied", "the authorization approves another appearance (reason, name, location, contact, field) than the job would now be signed with (the spool's default appearance changed since the job was claimed); submit the job again with the appearance given in the manifest")
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

    /// Never deliver what our own verifier does not accept (DocumentSigning.SignedOutputCheck):
    /// intact, trusted, at the level asked, and whose first revision is the approved document.
    func selfCheck(output: String, level: SignatureLevel, signingTime: Date, approved: (sha256: String, length: Int64)) async throws -> SignatureReport {
        var report: (@Sendable ([UInt8], [UInt8]) async -> TimestampReport)?
        if let validator = deps.timestamper?.configuration.validator {
            report = { token, value in await validator.report(token: token, signatureValue: value) }
        }
        let check = SignedOutputCheck(trustRoots: deps.caChain.last.map { [$0] }, timestampReport: report)
        return try await check.check(output: output, level: level == .bt ? "B-T" : "B-B", signingTime: signingTime, approved: approved)
    }
}
