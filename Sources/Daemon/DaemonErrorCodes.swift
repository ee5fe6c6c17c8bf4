import Jobs
import SigndCore

// Jobs does not depend on SigndCore: its error becomes a SigndError here.
extension ManifestError: SigndError {
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
}

/// Jobs' documented codes (``ManifestError/Code``).
public enum ManifestErrorCodes {
    typealias C = ManifestError.Code
    public static let all: [ErrorCodeInfo] =
        ErrorCodeInfo.group([C.invalidJSON, C.missingField, C.wrongType, C.invalidValue].map(\.rawValue), .spoolJobs,
                            meaning: "the manifest does not match docs/schemas/manifest-v1.json (the message names the field)")
        + ErrorCodeInfo.group([C.unsupportedVersion, C.unsupportedType].map(\.rawValue), .spoolJobs,
                              meaning: "only version 1 manifests of type `sign`, `enroll`, `device` or `revoke` are read")
        + [
            ErrorCodeInfo(C.tooLarge.rawValue, .spoolJobs, meaning: "manifest over 64 KiB"),
            ErrorCodeInfo(C.unsafePath.rawValue, .spoolJobs, meaning: "`document.file` is not a plain file name"),
            ErrorCodeInfo(C.unsupportedAuthorizationKind.rawValue, .spoolJobs, meaning: "`authorization.kind` is neither `device-signature` nor `powerauth-operation`"),
        ]
}

/// The Daemon's documented codes: the spool job codes (``SpoolError/Code`` and the codes the
/// pipeline writes into `failed/<job>.error.json`), the public SCA codes, and the codes of
/// administrative jobs, whichever service raises them.
public enum DaemonErrorCodes {
    typealias C = SpoolError.Code
    public static let all: [ErrorCodeInfo] = spoolJobs + scaRefusals + administrative

    static let spoolJobs: [ErrorCodeInfo] = [
        ErrorCodeInfo(C.notRegularFile.rawValue, .spoolJobs, meaning: "a symbolic link or special file in the spool (never followed)"),
        ErrorCodeInfo("document.missing", .spoolJobs, meaning: "the PDF did not arrive within the document timeout"),
        ErrorCodeInfo("document.digestMismatch", .spoolJobs, meaning: "the PDF never hashed to the manifest's SHA-256"),
        ErrorCodeInfo("document.tooLarge", .spoolJobs, meaning: "PDF over the size limit"),
        ErrorCodeInfo("document.linked", .spoolJobs, meaning: "the PDF in `incoming/` has more than one hard link: the producer kept a second name for it and could change it after the approval (docs/spool.md \"What a producer may do\"); write a new file, rename it in, resubmit"),
        ErrorCodeInfo(C.documentChanged.rawValue, .spoolJobs, meaning: "the bytes signd was about to sign (or had signed, in the self-check) do not hash to the approved digest: the document changed after the approval. Nothing was signed or released; the files are in `failed/`. Submit again with a new approval"),
        ErrorCodeInfo("job.crashed", .spoolJobs, meaning: "attempts of this job were interrupted by a crash of the daemon `maxInterruptions` times (default 2): the job was set aside with its files so it cannot stop the daemon again. Report it with the files and the log"),
        ErrorCodeInfo("job.duplicate", .spoolJobs, meaning: "the job id was already processed or is in progress (the message names the first result)"),
        ErrorCodeInfo("job.workFilesMissing", .spoolJobs, meaning: "a file of the job (its manifest in `work/`, or its signed output in `work/` or `done/`) is gone: moved or deleted by hand; the job cannot go on. Submit it again under a new job id"),
        ErrorCodeInfo("job.cancelled", .spoolJobs, meaning: "the job was cancelled before it was signed (the message gives the reason); nothing was signed"),
        ErrorCodeInfo(C.scaDenied.rawValue, .spoolJobs, meaning: "the SCA authorization was refused; the precise reason (`sca.*`, docs/sca.md) is in the audit log only"),
        ErrorCodeInfo(C.scaUnavailable.rawValue, .spoolJobs, retryable: true, meaning: "PowerAuth unreachable after retries"),
        ErrorCodeInfo(C.certificateNone.rawValue, .spoolJobs, meaning: "the device has no valid certificate: enroll it"),
        ErrorCodeInfo(C.certificateUserMismatch.rawValue, .spoolJobs, meaning: "the device's certificate belongs to another user than the manifest's signer"),
        ErrorCodeInfo("external.badSignature", .spoolJobs, meaning: "the device signature does not verify over the DTBS (counts toward blocking the device)"),
        ErrorCodeInfo("external.expired", .spoolJobs, meaning: "no valid device signature before the deadline"),
        ErrorCodeInfo("external.unknownJob", .spoolJobs, meaning: "a signature file names no job waiting for a signature"),
        ErrorCodeInfo("external.duplicateSignature", .spoolJobs, meaning: "a second signature file for a job that already has one being processed (its completion is being retried); the second one is moved to `failed/<job>.duplicate.signature.json` and not used"),
        ErrorCodeInfo("external.malformedSignature", .spoolJobs, meaning: "the signature file or value cannot be read"),
        ErrorCodeInfo(C.certificateNotDeviceKey.rawValue, .spoolJobs, meaning: "external mode: the device's certificate does not certify its registered key"),
        ErrorCodeInfo(C.io.rawValue, .spoolJobs, meaning: "a spool file could not be moved, published or written (the message names the path and the reason; a leftover in `work/` is named); retried when publishing the result failed"),
        ErrorCodeInfo(C.tooLarge.rawValue, .spoolJobs, meaning: "a spool file (signature file, prepared state) is over its size limit"),
        ErrorCodeInfo("audit.unavailable", .spoolJobs, retryable: true, meaning: "the audit trail cannot be written, so the step is not taken: the job waits and is retried (never signed or delivered with a hole in its trail); check the audit database (disk space, permissions, a lock held by another process)"),
        ErrorCodeInfo(C.watch.rawValue, .spoolJobs, meaning: "the spool directories cannot be watched (inotify); the daemon does not start (check `fs.inotify.max_user_instances` / `max_user_watches`)"),
        ErrorCodeInfo("pdf.*", .spoolJobs, meaning: "as above"),
        ErrorCodeInfo("signature.*", .spoolJobs, meaning: "as above"),
        ErrorCodeInfo("tsa.*", .spoolJobs, meaning: "as above"),
        ErrorCodeInfo("key.*", .spoolJobs, meaning: "as above"),
        ErrorCodeInfo("kek.*", .spoolJobs, meaning: "as above"),
        ErrorCodeInfo("storage.*", .spoolJobs, meaning: "as above"),
        ErrorCodeInfo("state.*", .spoolJobs, meaning: "as above"),
        ErrorCodeInfo(C.internal.rawValue, .spoolJobs, meaning: "unexpected error; the job was not signed (see the daemon log)"),
    ]

    static let scaRefusals: [ErrorCodeInfo] = [
        ErrorCodeInfo("sca.appearanceMismatch", .scaRefusals, meaning: "the statement's `appearanceSha256` is not the digest of the job's resolved appearance — reason, name, location, contact info, field name after the spool's defaults: text added after the approval is refused. (PowerAuth: operation data naming another appearance is `sca.operationDataMismatch`)", action: "yes: the statement verified with the device's key"),
        ErrorCodeInfo("sca.modeMismatch", .scaRefusals, meaning: "the statement approves another signing mode (cloud / external); or a PowerAuth template without `${mode}` was used for an external-mode job", action: "yes for a statement, no for PowerAuth"),
        ErrorCodeInfo("sca.unsupportedStatementVersion", .scaRefusals, meaning: "a version-1 statement (no `\"version\"`, `SIGND-SCA-STATEMENT-V1`): it binds neither mode nor appearance. Sign a version-2 statement (`signd device-sim manifest` makes them). Its public message says so", action: "no"),
    ]

    static let administrative: [ErrorCodeInfo] = [
        ErrorCodeInfo("device.unknown", .administrative, meaning: "no such device is registered (enroll, block, unblock, remove, revoke by device)", action: "register it first (`device` job, action `register`), or correct the device id"),
        ErrorCodeInfo("device.exists", .administrative, meaning: "register: the device id is taken", action: "use a new device id; remove the old device first if the phone was replaced"),
        ErrorCodeInfo("device.invalidKey", .administrative, meaning: "register: `publicKey` is not a PEM P-256 `PUBLIC KEY`", action: "export the phone's P-256 key as SubjectPublicKeyInfo PEM"),
        ErrorCodeInfo("device.userMismatch", .administrative, meaning: "the device belongs to another user than the manifest's `userId`", action: "check the user/device pairing in the orchestrator"),
        ErrorCodeInfo("device.notActive", .administrative, meaning: "enroll: the device is BLOCKED or REMOVED", action: "unblock it (`device` job, action `unblock`) or register a new device"),
        ErrorCodeInfo("device.removed", .administrative, meaning: "block/unblock of a removed device", action: "register a new device id"),
        ErrorCodeInfo(C.deviceRevocationIncomplete.rawValue, .administrative, meaning: "remove: the device is REMOVED but some certificates could not be revoked (the CA refused)", action: "read the message; revoke them with `signd ca revoke` or submit a new remove job"),
        ErrorCodeInfo("enroll.exists", .administrative, meaning: "enroll: the device already has an active certificate", action: "set `\"renew\": true` to re-enroll (the old certificate is superseded)"),
        ErrorCodeInfo("device.busy", .administrative, retryable: true, meaning: "`signd enroll`, `signd ca revoke`, `signd device remove`: another administrative job or command of the device is unfinished (a spool job waiting for it is retried with this `errorCode` instead of failing)", action: "wait for that job (named in the message) to finish, then run the command again"),
        ErrorCodeInfo("renewal.superseded", .administrative, meaning: "renewal: the certificate was re-enrolled, revoked or expired while it was being renewed; the renewed certificate is not stored (and is revoked at the CA)", action: "nothing to do"),
        ErrorCodeInfo("certificate.issuedTwice", .administrative, meaning: "internal guard: a job or command tried to store a second certificate", action: "report it with the daemon log"),
        ErrorCodeInfo(C.enrollProfileNotAllowed.rawValue, .administrative, meaning: "enroll: the profile is reserved (`tsa`)", action: "use a device profile"),
        ErrorCodeInfo("subject.invalid", .administrative, meaning: "enroll (cloud): `subject` is not a usable RFC 4514 name", action: "write e.g. `CN=Jan Novak,serialNumber=D-1,C=CZ`"),
        ErrorCodeInfo("csr.*", .administrative, meaning: "enroll: the CSR or profile is refused (docs/ca.md, Error codes)", action: "fix the CSR on the device / the profile name"),
        ErrorCodeInfo("ca.unknownProfile", .administrative, meaning: "enroll: the CSR or profile is refused (docs/ca.md, Error codes)", action: "fix the CSR on the device / the profile name"),
        ErrorCodeInfo("ca.unknownCertificate", .administrative, meaning: "revoke: no device certificate with that serial", action: "check `signd certificates`; other certificates are revoked with `signd ca revoke`"),
        ErrorCodeInfo("ca.alreadyRevoked", .administrative, meaning: "revoke: the certificate is already revoked", action: "nothing to do"),
        ErrorCodeInfo(C.revokeNothingToRevoke.rawValue, .administrative, meaning: "revoke by device: the device has no active or superseded certificate", action: "nothing to do"),
        ErrorCodeInfo("certificate.userMismatch", .administrative, meaning: "revoke with `userId`: a certificate belongs to another user", action: "check the serial / device and user"),
        ErrorCodeInfo(C.caUnavailable.rawValue, .administrative, retryable: true, meaning: "EJBCA unreachable (retryable: retried with backoff before the job fails)", action: "check EJBCA and the network, then resubmit under a new job id"),
        ErrorCodeInfo("ca.rejected", .administrative, meaning: "EJBCA refused or answered unusably, or is misconfigured", action: "see docs/ca.md"),
        ErrorCodeInfo("ca.badResponse", .administrative, meaning: "EJBCA refused or answered unusably, or is misconfigured", action: "see docs/ca.md"),
        ErrorCodeInfo("ca.configuration", .administrative, meaning: "EJBCA refused or answered unusably, or is misconfigured", action: "see docs/ca.md"),
        ErrorCodeInfo("kek.*", .administrative, meaning: "the cloud key could not be sealed", action: "see Secrets above"),
    ]
}
