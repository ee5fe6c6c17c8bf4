import Foundation
import Jobs

/// The stable code of a refused authorization (docs/sca.md lists them all). The precise code goes
/// to the audit record and to operators; the orchestrator sees only ``AuthorizationDenial/publicCode``.
public struct AuthorizationErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The device signature does not verify over the statement's canonical bytes.
    public static let badSignature = Self(rawValue: "sca.badSignature")
    /// The statement names another device than the manifest's signer.
    public static let wrongDevice = Self(rawValue: "sca.wrongDevice")
    /// The statement's document digest (or the manifest's) differs from the digest of the PDF.
    public static let documentMismatch = Self(rawValue: "sca.documentMismatch")
    public static let jobMismatch = Self(rawValue: "sca.jobMismatch")
    public static let levelMismatch = Self(rawValue: "sca.levelMismatch")
    /// The statement approves another signing mode (cloud / external) than the job's.
    public static let modeMismatch = Self(rawValue: "sca.modeMismatch")
    /// The approved appearance digest is not the digest of the job's resolved appearance
    /// (reason, name, location, contact info, field name, after the spool's defaults).
    public static let appearanceMismatch = Self(rawValue: "sca.appearanceMismatch")
    /// A statement in a format signd no longer accepts (version 1: it binds neither mode nor
    /// appearance) or does not know; the device must sign a version-2 statement.
    public static let unsupportedStatementVersion = Self(rawValue: "sca.unsupportedStatementVersion")
    /// The statement's user, or the registered owner of the device, is not the manifest's user.
    public static let userMismatch = Self(rawValue: "sca.userMismatch")
    public static let expired = Self(rawValue: "sca.expired")
    public static let notYetValid = Self(rawValue: "sca.notYetValid")
    /// expiresAt − notBefore exceeds the configured maximum lifetime.
    public static let lifetimeTooLong = Self(rawValue: "sca.lifetimeTooLong")
    /// The nonce (or PowerAuth operation id) was already used.
    public static let replayed = Self(rawValue: "sca.replayed")
    public static let unknownDevice = Self(rawValue: "sca.unknownDevice")
    public static let deviceBlocked = Self(rawValue: "sca.deviceBlocked")
    public static let deviceRemoved = Self(rawValue: "sca.deviceRemoved")
    /// The device has no usable registered P-256 key (e.g. a cloud-mode device), so a device
    /// signature cannot be verified locally.
    public static let noDeviceKey = Self(rawValue: "sca.noDeviceKey")
    /// The authorization object is missing fields, has values outside their character sets, or
    /// a signature that is not base64 / not a DER or JOSE ECDSA value.
    public static let malformed = Self(rawValue: "sca.malformed")
    public static let unsupportedKind = Self(rawValue: "sca.unsupportedKind")
    /// PowerAuth Server answered with its ERROR envelope (its code is in ``AuthorizationDenial/upstreamCode``)
    /// or with something that is not its documented JSON.
    public static let powerauthError = Self(rawValue: "sca.powerauthError")
    public static let operationNotApproved = Self(rawValue: "sca.operationNotApproved")
    public static let operationExpired = Self(rawValue: "sca.operationExpired")
    public static let operationUserMismatch = Self(rawValue: "sca.operationUserMismatch")
    public static let operationDataMismatch = Self(rawValue: "sca.operationDataMismatch")
    /// PowerAuth Server could not be reached or timed out. Retryable.
    public static let unavailable = Self(rawValue: "sca.unavailable")
    /// signd's own state database could not be read or written. Retryable.
    public static let internalError = Self(rawValue: "sca.internal")

    /// Every code, for documentation checks.
    public static let all: [AuthorizationErrorCode] = [
        .badSignature, .wrongDevice, .documentMismatch, .jobMismatch, .levelMismatch, .modeMismatch, .appearanceMismatch,
        .unsupportedStatementVersion, .userMismatch, .expired,
        .notYetValid, .lifetimeTooLong, .replayed, .unknownDevice, .deviceBlocked, .deviceRemoved, .noDeviceKey,
        .malformed, .unsupportedKind, .powerauthError, .operationNotApproved, .operationExpired,
        .operationUserMismatch, .operationDataMismatch, .unavailable, .internalError,
    ]

    /// Refusals that count toward blocking the device *when the refused approval is provably
    /// the device's*: a statement whose signature verified with the device's key, or an
    /// operation PowerAuth reports APPROVED for the job's user on the job's device (activation).
    /// The authorizers count only such approvals, each at most once (docs/sca.md, "Five
    /// strikes"). Never counted: refusals before that proof (malformed tokens, bad signatures,
    /// statements naming another device, unapproved or foreign operations, old statement
    /// versions), replays (the approval was already used or counted), expired approvals (an
    /// approval is remembered only while it is valid, so an expired one could not be counted just
    /// once), unknown/blocked/removed devices, unsupported kinds and infrastructure failures.
    public var countsAsDeviceFailure: Bool {
        switch self {
        case .documentMismatch, .jobMismatch, .levelMismatch, .modeMismatch, .appearanceMismatch, .userMismatch,
             .notYetValid, .lifetimeTooLong, .operationDataMismatch:
            return true
        default:
            return false
        }
    }

    /// Infrastructure failures: the job should be retried later, not rejected.
    public var retryable: Bool { self == .unavailable || self == .internalError }
}

/// Authorization kinds (`authorization.kind` in the manifest).
public enum AuthorizationKind {
    public static let deviceSignature = "device-signature"
    public static let powerAuthOperation = "powerauth-operation"
}

/// A granted authorization: who approved what, through which kind and reference.
public struct AuthorizationGrant: Sendable, Hashable, Codable {
    public var kind: String
    public var deviceId: String
    public var userId: String
    public var jobId: String
    public var documentSHA256: String
    public var level: SignatureLevel
    /// The single-use reference: the statement nonce, or the PowerAuth operation id.
    public var reference: String
    /// Until when the reference is remembered as used.
    public var validUntil: Date
    /// False for a check (`consume: false`): the reference was not marked as used.
    public var consumed: Bool
    /// The approved appearance digest (``SignManifest/appearanceSha256`` of the job), when the
    /// authorizer checked it.
    public var appearanceSha256: String?

    public init(kind: String, deviceId: String, userId: String, jobId: String, documentSHA256: String,
                level: SignatureLevel, reference: String, validUntil: Date, consumed: Bool, appearanceSha256: String? = nil) {
        self.appearanceSha256 = appearanceSha256
        self.kind = kind
        self.deviceId = deviceId
        self.userId = userId
        self.jobId = jobId
        self.documentSHA256 = documentSHA256
        self.level = level
        self.reference = reference
        self.validUntil = validUntil
        self.consumed = consumed
    }
}

/// A refused authorization. ``code`` and ``reason`` are precise and belong in the audit record;
/// ``publicCode`` and ``publicMessage`` are what the orchestrator and the user see, and never say
/// which element of the token was wrong.
public struct AuthorizationDenial: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: AuthorizationErrorCode
    /// The precise reason, with the values involved (audit log only).
    public var reason: String
    public var kind: String?
    /// The device the job names (the manifest's signer), when known.
    public var deviceId: String?
    public var userId: String?
    /// PowerAuth Server's own error code (e.g. `ERR0009`) or `HTTP_<status>`, when it answered.
    public var upstreamCode: String?
    /// This refusal was counted as a failed attempt of the device.
    public var countedAsFailure: Bool
    /// The device's consecutive failures after this refusal (when counted).
    public var failedAttempts: Int?
    /// This refusal blocked the device (the `maxFailures`th consecutive failure).
    public var blockedDevice: Bool

    public init(code: AuthorizationErrorCode, reason: String, kind: String? = nil, deviceId: String? = nil, userId: String? = nil,
                upstreamCode: String? = nil, countedAsFailure: Bool = false, failedAttempts: Int? = nil, blockedDevice: Bool = false) {
        self.code = code
        self.reason = reason
        self.kind = kind
        self.deviceId = deviceId
        self.userId = userId
        self.upstreamCode = upstreamCode
        self.countedAsFailure = countedAsFailure
        self.failedAttempts = failedAttempts
        self.blockedDevice = blockedDevice
    }

    public var retryable: Bool { code.retryable }

    /// `sca.unavailable` (retry later) or `sca.denied` (the job is rejected).
    public var publicCode: String { retryable ? "sca.unavailable" : "sca.denied" }

    public var publicMessage: String {
        if retryable {
            return "The signing authorization could not be checked right now; the job will be retried."
        }
        if code == .unsupportedStatementVersion {
            // Not an oracle: the format version is the submitter's own choice, and it must learn
            // to change it.
            return "The signing authorization uses a statement format this signd no longer accepts; approve the job again with a version-2 statement."
        }
        return "The signing authorization was not accepted. Approve this job again on the registered device; repeated failures block the device."
    }

    public var description: String { "[\(code)] \(reason)" }
}

/// What the daemon gets when it asks "is this job authorized?": never a bare Bool.
public enum AuthorizationOutcome: Sendable, Hashable {
    case authorized(AuthorizationGrant)
    case denied(AuthorizationDenial)

    public var isAuthorized: Bool {
        if case .authorized = self { return true }
        return false
    }

    public var grant: AuthorizationGrant? {
        if case .authorized(let g) = self { return g }
        return nil
    }

    public var denial: AuthorizationDenial? {
        if case .denied(let d) = self { return d }
        return nil
    }

    /// The denial code, nil when authorized.
    public var code: AuthorizationErrorCode? { denial?.code }
}

/// Decides whether a job is authorized by its user's device.
///
/// - Parameters:
///   - manifest: the job; its `authorization` is the proof to check.
///   - documentSHA256: the digest signd computed from the PDF bytes (lowercase hex), not the
///     manifest's claim.
///   - now: the decision time.
///   - consume: true marks the single-use reference as used, counts failures and resets the count
///     on success; false (`signd authorize check`) only reads the state.
public protocol JobAuthorizer: Sendable {
    func authorize(manifest: SignManifest, documentSHA256: String, now: Date, consume: Bool) async -> AuthorizationOutcome
}

/// Limits that apply to every kind (docs/sca.md, "Configuration").
public struct SCAConfiguration: Sendable, Hashable {
    /// Longest allowed expiresAt − notBefore of a statement (default 300 s).
    public var maxLifetime: TimeInterval = 300
    /// Tolerated difference between the device's clock and ours (default 30 s).
    public var clockSkew: TimeInterval = 30
    /// Consecutive failures that block a device (default 5).
    public var maxFailures: Int = 5
    /// Expected PowerAuth operation data (see ``OperationDataTemplate``).
    public var operationDataTemplate: OperationDataTemplate = .default
    /// device-signature: verify through PowerAuth `signature/ecdsa/verify` instead of locally.
    public var verifyDeviceSignaturesWithPowerAuth: Bool = false

    public init(maxLifetime: TimeInterval = 300, clockSkew: TimeInterval = 30, maxFailures: Int = 5,
                operationDataTemplate: OperationDataTemplate = .default, verifyDeviceSignaturesWithPowerAuth: Bool = false) {
        self.maxLifetime = maxLifetime
        self.clockSkew = clockSkew
        self.maxFailures = maxFailures
        self.operationDataTemplate = operationDataTemplate
        self.verifyDeviceSignaturesWithPowerAuth = verifyDeviceSignaturesWithPowerAuth
    }
}
