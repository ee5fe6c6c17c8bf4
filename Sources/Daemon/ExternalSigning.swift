import Audit
import CMSSigning
import Crypto
import DocumentSigning
import Foundation
import JobEngine
import Jobs
import Logging
import PAdES
import PDFSignatures
import SigndCore
import StateStore
import SwiftASN1
import Timestamping
import X509

/// What signd hands out in external mode: `pending/<job>.dtbs.json` (docs/spool.md).
struct PendingDTBS: Codable {
    var version = 1
    var jobId: String
    var deviceId: String
    var userId: String
    /// The device signs the DTBS with ECDSA P-256 and SHA-256.
    var algorithm = "ECDSA-P256-SHA256"
    /// Base64 of the DER signed attributes (SET, tag 0x31): the device hashes them itself.
    var dtbs: String
    var dtbsSha256: String
    var expiresAt: String
    var level: String
    var mode = "external"
    /// The resolved appearance texts the DTBS commits to (the signature dictionary holds them
    /// and is covered by the message digest inside the DTBS), for the phone to show, and their
    /// canonical digest (docs/sca.md).
    var appearance: SignManifest.Appearance?
    var appearanceSha256: String
    var document: Document
    struct Document: Codable {
        var name: String
        var sha256: String
    }
}

/// What the orchestrator drops back: `signatures/<job>.signature.json`.
struct DeviceSignatureFile: Codable {
    var jobId: String
    /// Base64 of the ECDSA signature: DER SEQUENCE{r, s}, or raw r||s with `signatureFormat` JOSE.
    var signature: String
    var signatureFormat: String?
}

extension JobPipeline {
    /// `prepareExternal`: phase one, as an event for the machine.
    func prepareExternalStep(row: JobRecord, manifest: SignManifest, resumed: Bool, logger: Logger) async -> SignJobEvent {
        do {
            try auditReceived(row: row, manifest: manifest, resumed: resumed)
            return .prepared(deadline: try await prepareExternal(manifest: manifest, job: row, work: layout.workFiles(row.jobId), logger: logger))
        } catch {
            return .stepFailed(failure(error, logger: logger))
        }
    }

    /// `awaitSignature`: hands out the DTBS (again: after a restart, a crash or a failed first
    /// try) from the prepared state, recorded before it appears in pending/; a signature already
    /// taken into work/ (a crash right after it was taken in) is the event the job waits for.
    func awaitSignatureStep(row: JobRecord, manifest: SignManifest, logger: Logger) async -> SignJobEvent? {
        let work = layout.workFiles(row.jobId)
        if let taken = FileStatus(path: work.signature), taken.kind == .regular {
            // Taken in before a crash: it arrived when signd renamed it into work/ (its inode
            // change time), however late the restart comes.
            return .signatureArrived(at: Date(timeIntervalSince1970: taken.changed))
        }
        guard let deadline = row.signatureDeadline else {
            return .stepFailed(JobFailure(code: "external.unknownJob", message: "job \(row.jobId) waits for a signature but has no deadline on record", retryable: false))
        }
        do {
            let data = try SpoolFiles.readRegular(work.externalState, limit: 16 << 20)
            let state = try JSONDecoder().decode(ExternalSigningState.self, from: data)
            let pending = makePending(jobId: row.jobId, manifest: manifest, documentSha256: row.documentSha256, state: state, deadline: deadline)
            // Recorded first (once per job: a crash may have come after the record).
            try audit(.jobDTBSIssued, manifest: manifest, digest: row.documentSha256, outcome: "info",
                      details: ["dtbsSha256": pending.dtbsSha256, "expiresAt": pending.expiresAt])
            // Written whole each time (same bytes from the same state).
            try writePending(pending)
            logger.info("data to be signed handed out", metadata: ["deadline": .string(pending.expiresAt)])
            return .dtbsIssued
        } catch {
            return .stepFailed(failure(error, logger: logger, retryableByDefault: true))
        }
    }

    /// Phase one: checks the device and its certificate, prepares the PDF and the signed
    /// attributes (signing time frozen now) and persists them in work/<job>.external-state.json.
    /// Returns the deadline of the device's signature.
    func prepareExternal(manifest: SignManifest, job: JobRecord, work: WorkFiles, logger: Logger) async throws -> Date {
        let deviceId = manifest.signer.deviceId
        guard let device = try deps.database.device(deviceId), device.userId == manifest.signer.userId else {
            throw SpoolError("sca.denied", "The signing authorization was not accepted.")
        }
        guard device.status == .active else {
            auditDenial(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
                  details: ["code": device.status == .blocked ? "sca.deviceBlocked" : "sca.deviceRemoved", "reason": "device \(deviceId) is \(device.status.rawValue)"])
            throw SpoolError("sca.denied", "The signing authorization was not accepted. Approve this job again on the registered device; repeated failures block the device.")
        }
        let signingTime = now
        guard let certRecord = try deps.database.activeCertificate(deviceId: deviceId, at: signingTime) else {
            throw SpoolError("certificate.none", "device \(deviceId) has no valid certificate; enroll it (signd enroll --csr) before signing")
        }
        let certificate = try Certificate(derEncoded: Array(certRecord.der))
        // The certificate must belong to this device: it certifies the device's registered key.
        var keyDER = DER.Serializer()
        try keyDER.serialize(certificate.publicKey)
        guard let registered = device.publicKeyDER, Array(registered) == keyDER.serializedBytes else {
            throw SpoolError("certificate.notDeviceKey", "the certificate of device \(deviceId) does not certify the device's registered key; enroll the device from its own CSR for external mode")
        }
        try checkApprovedTerms(manifest: manifest, job: job)
        let builder = PAdESSignatureBuilder(signer: ExternalSigner.p256(certificate: certificate), chain: deps.caChain, digest: .sha256)
        let a = manifest.appearance
        let request = SignatureRequest(fieldName: a?.fieldName, signingTime: signingTime, reason: a?.reason, location: a?.location,
                                       contactInfo: a?.contactInfo, name: a?.name)
        var reserve = 0
        if manifest.level == .bt {
            guard let timestamper = deps.timestamper else { throw SpoolError("tsa.notConfigured", "the job asks for B-T but no TSA is configured") }
            reserve = timestamper.reservedTokenSize
        }
        // Phase one parses the document before it hashes it, and phase two runs minutes later:
        // both read a private copy whose bytes were proven to be the approved ones.
        try privatizeDocument(work: work, approvedSha256: job.documentSha256)
        let state = try PDFSigningService().prepareExternal(inputPath: work.document, builder: builder, request: request, timestampReserve: reserve,
                                                            expectedDocumentSHA256: job.documentSha256)
        let stateWriter = try AtomicFileWriter(path: work.externalState, mode: 0o600)
        try stateWriter.write(Array(try JSONEncoder().encode(state)))
        try stateWriter.commit()

        // The runner records the new state (awaitingSignature, with the deadline) before the DTBS
        // is handed out (the awaitSignature step): after a crash in between, the pending file is written
        // again from the persisted state (same bytes).
        return signingTime.addingTimeInterval(configuration.externalSignatureTimeout)
    }

    func makePending(jobId: String, manifest: SignManifest, documentSha256: String, state: ExternalSigningState, deadline: Date) -> PendingDTBS {
        PendingDTBS(jobId: jobId, deviceId: manifest.signer.deviceId, userId: manifest.signer.userId,
                    dtbs: Data(state.dataToBeSigned).base64EncodedString(), dtbsSha256: Hex.encode(Array(SHA256.hash(data: state.dataToBeSigned))),
                    expiresAt: Timestamps.iso8601(deadline), level: manifest.level.rawValue,
                    appearance: manifest.appearance, appearanceSha256: manifest.appearanceSha256,
                    document: .init(name: manifest.document.file, sha256: documentSha256))
    }

    func writePending(_ pending: PendingDTBS) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let writer = try AtomicFileWriter(path: layout.pending + "/\(pending.jobId).dtbs.json")
        try writer.write(Array(try encoder.encode(pending)))
        try writer.commit()
    }

    /// Phase two: a signature file arrived in signatures/.
    public func handleSignature(fileName name: String) async {
        guard name.hasSuffix(".signature.json"), !name.hasPrefix("."), !name.contains("/") else { return }
        let path = layout.signatures + "/" + name
        guard SpoolFiles.isRegularFile(path) || SpoolFiles.isSymlink(path) else { return }
        // One worker per signature file (the rescan can queue it again while a worker has it).
        guard bookkeeping.begin("intake-signature:" + name) else { return }
        defer { bookkeeping.end("intake-signature:" + name) }
        guard SpoolFiles.isRegularFile(path) || SpoolFiles.isSymlink(path) else { return }
        let base = String(name.dropLast(".signature.json".count))
        let file: DeviceSignatureFile
        do {
            let data = try SpoolFiles.readRegular(path, limit: 64 * 1024)
            file = try JSONDecoder().decode(DeviceSignatureFile.self, from: data)
            try ManifestValidator.validate(SignManifest(jobId: file.jobId, document: .init(file: "x.pdf", sha256: String(repeating: "0", count: 64)),
                                                        signer: .init(userId: "u", deviceId: "d"), mode: .external, level: .bb, authorization: nil))
        } catch {
            rejectSignatureFile(path: path, baseName: base, code: "external.malformedSignature",
                                message: "\(name) is not a signature file {jobId, signature (base64), signatureFormat DER|JOSE}", jobId: nil)
            return
        }
        let jobId = file.jobId
        // A job a worker holds (phase one still finishing, or being completed) is not refused:
        // the file stays for the next rescan, which decides once the job is free.
        await withJob(jobId) { row, logger in
            let work = layout.workFiles(jobId)
            guard row.state == .awaitingSignature, row.mode != nil || isSignJob(row) else {
                rejectSignatureFile(path: path, baseName: base, code: "external.unknownJob",
                                    message: "no job \(jobId) is waiting for a device signature (unknown or finished)", jobId: jobId)
                return
            }
            guard SpoolFiles.isRegularFile(work.manifest), SpoolFiles.isRegularFile(work.externalState) else {
                rejectSignatureFile(path: path, baseName: base, code: "external.unknownJob", message: "the prepared state of job \(jobId) is missing", jobId: jobId)
                return
            }
            do {
                // Never beside or over a signature already taken in (its completion may be retried).
                guard try SpoolFiles.claim(path, to: work.signature) else {
                    rejectSignatureFile(path: path, baseName: base + ".duplicate", code: "external.duplicateSignature",
                                        message: "job \(jobId) already has a device signature being processed (its completion is retried); this one was not used. Nothing to do: the job ends in done/ or with failed/\(jobId).error.json", jobId: jobId)
                    return
                }
            } catch {
                logger.error("taking in the signature file failed; it stays in signatures/", metadata: ["error": .string("\(error)")])
                return
            }
            SpoolFiles.fsyncDirectory(layout.work)
            // A crash from here on: the job's awaitSignature action finds the signature in work/.
            await run(row, event: .signatureArrived(at: now), manifest: nil, resumed: false, logger: logger)
        }
    }

    /// `completeExternal`: verifies the signature in work/<job>.signature.json over the issued
    /// DTBS and completes and checks the PDF. Infrastructure failures (TSA unreachable) are
    /// retried: the user already approved on the phone.
    func completeExternalStep(row job: JobRecord, manifest: SignManifest, logger: Logger) async -> SignJobEvent {
        let jobId = job.jobId
        let work = layout.workFiles(jobId)
        guard let stateData = try? SpoolFiles.readRegular(work.externalState, limit: 16 << 20),
              let state = try? JSONDecoder().decode(ExternalSigningState.self, from: stateData) else {
            return .stepFailed(JobFailure(code: "external.unknownJob", message: "the prepared state of job \(jobId) is missing", retryable: false))
        }
        guard let sigData = try? SpoolFiles.readRegular(work.signature, limit: 64 * 1024),
              let file = try? JSONDecoder().decode(DeviceSignatureFile.self, from: sigData) else {
            return .stepFailed(JobFailure(code: "external.malformedSignature", message: "the signature file of job \(jobId) cannot be read", retryable: false))
        }
        // The device and its certificate must still be good now (blocked, removed or revoked
        // between the phases: refused).
        let device: DeviceRecord?
        let active: CertificateRecord?
        do {
            device = try deps.database.device(manifest.signer.deviceId)
            active = try deps.database.activeCertificate(deviceId: manifest.signer.deviceId, at: now)
        } catch {
            return .stepFailed(failure(error, logger: logger))
        }
        let certSerial = (try? Certificate(derEncoded: state.certificateDER)).map { Hex.encode(Array($0.serialNumber.bytes)) }
        guard let device, device.status == .active, let certSerial, active?.serial == certSerial else {
            let precise = device?.status == .blocked ? "sca.deviceBlocked" : device?.status == .removed ? "sca.deviceRemoved" : "certificate.notActive"
            auditDenial(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
                  details: ["code": precise, "reason": "between the phases the device became \(device?.status.rawValue ?? "unknown") or its certificate \(certSerial ?? "?") stopped being the active one"])
            return .stepFailed(JobFailure(code: "sca.denied", message: "The signing authorization was not accepted. Approve this job again on the registered device; repeated failures block the device.", retryable: false))
        }
        guard let raw = Data(base64Encoded: file.signature), let der = Self.derSignature(Array(raw), format: file.signatureFormat?.uppercased()) else {
            refuseSignature(manifest: manifest, job: job, code: "external.malformedSignature", reason: "the signature is not base64 of a DER or raw P-256 ECDSA signature")
            return .stepFailed(JobFailure(code: "external.malformedSignature", message: "the signature value is not a P-256 ECDSA signature (DER, or raw r||s with signatureFormat JOSE)", retryable: false))
        }
        do {
            let output = work.signed
            let timestamper = manifest.level == .bt ? deps.timestamper : nil
            let outcome = try await PDFSigningService().completeExternal(inputPath: work.document, outputPath: output, state: state,
                                                                         signature: der, timestamper: timestamper,
                                                                         expectedDocumentSHA256: job.documentSha256)
            do { try deps.database.recordSuccessfulAuthorization(deviceId: manifest.signer.deviceId, now: now) } catch {
                logger.warning("resetting the device's failure count failed", metadata: ["error": .string("\(error)")])
            }
            try audit(.jobAuthorized, manifest: manifest, digest: job.documentSha256, details: ["kind": "external-device-signature"])
            let last = try await selfCheck(output: output, level: manifest.level, signingTime: now,
                                           approved: (job.documentSha256, outcome.originalLength))
            try audit(.jobSigned, manifest: manifest, digest: job.documentSha256, serial: certSerial, details: ["level": manifest.level.rawValue, "mode": "external"])
            if let genTime = last.timestamp?.genTime {
                try audit(.jobTimestamped, manifest: manifest, digest: job.documentSha256, serial: certSerial, details: ["genTime": genTime])
            }
            return .signed
        } catch let e as PAdESError where e.code == .signatureInvalid {
            refuseSignature(manifest: manifest, job: job, code: "external.badSignature", reason: e.message)
            return .stepFailed(JobFailure(code: "external.badSignature",
                                          message: "the device signature does not verify over the data to be signed with the device certificate; sign the exact DTBS of pending/\(jobId).dtbs.json with the device key",
                                          retryable: false))
        } catch {
            return .stepFailed(failure(error, logger: logger))
        }
    }

    /// External jobs whose deadline passed without a signature fail with `external.expired`.
    public func expireAwaitingSignatures() async {
        let rows: [JobRecord]
        do { rows = try deps.database.unfinishedJobs(spool: layout.name) } catch {
            deps.logger.error("reading jobs awaiting a signature failed; looking again at the next rescan", metadata: ["error": .string("\(error)")])
            return
        }
        let due = rows.filter { $0.state == .awaitingSignature && ($0.signatureDeadline.map { $0 < now } ?? false) && !bookkeeping.isInFlight($0.jobId) }
            // A signature taken in before the deadline is being completed (or retried), not late.
            .filter { $0.pendingAction != JobAction.completeExternal.name && !SpoolFiles.isRegularFile(layout.workFiles($0.jobId).signature) }
        for candidate in due {
            // Held while expiring, and re-read: a worker may have taken the signature in since.
            await withJob(candidate.jobId) { row, logger in
                guard row.state == .awaitingSignature, !SpoolFiles.isRegularFile(layout.workFiles(row.jobId).signature) else { return }
                await run(row, event: .deadlinePassed, manifest: nil, resumed: false, logger: logger)
            }
        }
    }

    /// A signature file that is not the device's signature over the DTBS is refused and audited,
    /// but not counted against the device: anyone who can write signatures/ could otherwise block
    /// another user's phone with junk (issue 11 §3). A signature that verifies with the device's
    /// key is the approval itself and cannot mismatch, so nothing in external mode counts.
    func refuseSignature(manifest: SignManifest, job: JobRecord, code: String, reason: String) {
        metrics.scaDenied(code: code)
        auditDenial(.jobDenied, manifest: manifest, digest: job.documentSha256, outcome: "failure",
              details: ["code": code, "reason": reason, "counted": "false"])
    }

    func rejectSignatureFile(path: String, baseName: String, code: String, message: String, jobId: String?) {
        _ = try? SpoolFiles.move(path, to: layout.failed + "/\(baseName).signature.json")
        let target = layout.failed + "/\(baseName).signature.error.json"
        do {
            try Self.writeError(jobId: jobId, code: code, message: message, retryable: false, to: target, at: now)
        } catch {
            deps.logger.error("cannot write the error report", metadata: ["path": .string(target), "error": .string("\(error)")])
        }
        _ = try? deps.audit.append(AuditEntry(type: .inputRejected, jobId: jobId, outcome: "failure", details: ["code": code, "message": message]))
        deps.logger.warning("signature file rejected", metadata: ["code": .string(code)])
    }

    /// Replaces work/<job>.document.pdf by a copy only signd can write, proven in the copying pass
    /// to hash to the approved digest (`document.changed` otherwise). A producer that kept a
    /// descriptor of the file it handed over cannot reach the bytes the two phases read.
    func privatizeDocument(work: WorkFiles, approvedSha256: String) throws {
        let source = try FileByteSource(path: work.document, followSymlinks: false)
        let writer = try AtomicFileWriter(path: work.document, mode: 0o600)
        var hasher = SHA256()
        try source.forEachChunk(offset: 0, length: source.length) { chunk in
            hasher.update(bufferPointer: chunk)
            try writer.write(chunk)
        }
        let digest = Hex.encode(Array(hasher.finalize()))
        guard digest == approvedSha256 else {
            throw SpoolError("document.changed", "\(work.document) hashes to SHA-256 \(digest), not the approved \(approvedSha256): the document changed after it was approved (did the producer keep writing to it?); nothing was signed. Submit the job again with a new approval")
        }
        try writer.commit()
    }

    /// DER ECDSA signature from DER or JOSE (raw r||s, 64 bytes) input.
    static func derSignature(_ bytes: [UInt8], format: String?) -> [UInt8]? {
        if format == "JOSE" || (format == nil && bytes.count == 64 && bytes.first != 0x30) {
            return (try? P256.Signing.ECDSASignature(rawRepresentation: bytes)).map { Array($0.derRepresentation) }
        }
        return (try? P256.Signing.ECDSASignature(derRepresentation: bytes)).map { Array($0.derRepresentation) }
    }
}
