import Foundation
import Jobs
import SigndCore
import StateStore

/// Kind `device-signature`: the device signed ``AuthorizationStatement/canonicalBytes`` (version
/// 2) with its P-256 key (ECDSA/SHA-256, DER or JOSE). Checked in this order (docs/sca.md,
/// "Verification, in order"):
///
/// 1. kind; 2. the job's device exists and is ACTIVE;
/// 3. the statement is version 2, statement and signature are well-formed;
/// 4. the statement names the job's device; 5. the signature verifies (locally, or through
///    PowerAuth when configured) — from here on the statement is provably the device's;
/// 6. the nonce is unused; 7. not expired, lifetime ≤ maximum, not before notBefore (± skew);
/// 8. the device is the job's user's; job id, document digest (as signd computed it from the
///    PDF), user, level, mode and appearance digest match;
/// 9. the nonce is used up now (with `consume`).
///
/// Refusals in steps 1-6 and an expired statement never count toward blocking the device;
/// later refusals count once per statement (its nonce is used up by the count).
public struct DeviceSignatureAuthorizer: JobAuthorizer {
    public let database: StateDatabase
    public let configuration: SCAConfiguration
    public let verifier: any DeviceSignatureVerifier

    public init(database: StateDatabase, configuration: SCAConfiguration = SCAConfiguration(),
                verifier: any DeviceSignatureVerifier = LocalDeviceSignatureVerifier()) {
        self.database = database
        self.configuration = configuration
        self.verifier = verifier
    }

    /// The key under which a statement nonce is remembered as used.
    public static func nonceKey(deviceId: String, nonce: String) -> String { "device:\(deviceId):\(nonce)" }

    public func authorize(manifest: SignManifest, documentSHA256 computed: String, now: Date, consume: Bool) async -> AuthorizationOutcome {
        let gate = DeviceGate(database: database, configuration: configuration, kind: AuthorizationKind.deviceSignature)
        func refuse(_ code: AuthorizationErrorCode, _ reason: String, upstreamCode: String? = nil) -> AuthorizationOutcome {
            .denied(gate.refuse(code, reason, manifest: manifest, upstreamCode: upstreamCode))
        }
        guard let authorization = manifest.authorization else {
            return refuse(.malformed, "the job has no authorization")
        }
        guard authorization.kind == AuthorizationKind.deviceSignature else {
            return refuse(.unsupportedKind, "authorization kind \"\(authorization.kind)\" is not device-signature")
        }
        let device: DeviceRecord
        switch gate.device(for: manifest) {
        case .failure(let denial): return .denied(denial)
        case .success(let d): device = d
        }

        // 3. Version and shape (not counted: anyone can write garbage naming any device).
        guard let statement = authorization.statement else { return refuse(.malformed, "the device-signature authorization has no statement") }
        guard let signatureText = authorization.signature else { return refuse(.malformed, "the device-signature authorization has no signature") }
        guard statement.effectiveVersion == AuthorizationStatement.currentVersion else {
            if statement.effectiveVersion == 1 {
                return refuse(.unsupportedStatementVersion, "the statement is version 1 (SIGND-SCA-STATEMENT-V1), which binds neither the signing mode nor the appearance; the device must sign a version-2 statement (\"version\": 2, with \"mode\" and \"appearanceSha256\", docs/sca.md)")
            }
            return refuse(.unsupportedStatementVersion, "statement version \(statement.effectiveVersion) is not supported; the device must sign a version-2 statement (docs/sca.md)")
        }
        if let problem = Self.shapeProblem(statement) { return refuse(.malformed, problem) }
        var declared: ECDSASignatureFormat?
        if let f = authorization.signatureFormat {
            guard let format = ECDSASignatureFormat(rawValue: f) else {
                return refuse(.malformed, "signatureFormat \"\(f)\" is neither DER nor JOSE")
            }
            declared = format
        }
        guard let signatureBytes = TokenSyntax.decodeBase64(signatureText) else {
            return refuse(.malformed, "the signature is not base64 (or longer than 1024 characters)")
        }
        guard let (signature, format) = ECDSASignatureDecoding.decode(signatureBytes, declared: declared) else {
            return refuse(.malformed, "the signature (\(signatureBytes.count) bytes) is not a P-256 ECDSA signature in \(declared?.rawValue ?? "DER or JOSE") encoding")
        }

        // 4. The statement must be for the job's device.
        guard statement.deviceId == device.id else {
            return refuse(.wrongDevice, "the statement names device \(statement.deviceId), but the job's signer device is \(device.id)")
        }

        // 5. Signature.
        switch await verifier.verify(device: device, data: statement.canonicalBytes, signature: signature, encoded: signatureBytes, format: format) {
        case .valid: break
        case .invalid(let reason): return refuse(.badSignature, reason)
        case .noKey(let reason): return refuse(.noDeviceKey, reason)
        case .failed(let code, let reason, let upstream): return refuse(code, reason, upstreamCode: upstream)
        }

        // From here on the statement is provably the device's.
        let referenceKey = Self.nonceKey(deviceId: device.id, nonce: statement.nonce)
        let notBefore = Date(timeIntervalSince1970: TimeInterval(statement.notBefore))
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(statement.expiresAt))
        let keepUntil = expiresAt.addingTimeInterval(configuration.clockSkew)
        func fail(_ code: AuthorizationErrorCode, _ reason: String) -> AuthorizationOutcome {
            .denied(gate.failProven(code, reason, manifest: manifest, device: device, now: now, consume: consume,
                                    referenceKey: referenceKey, keepUntil: keepUntil))
        }

        // 6. Used (by a success) or counted (by a refusal) before: not counted again.
        if let used = gate.replayed(manifest: manifest, referenceKey: referenceKey, now: now) { return .denied(used) }

        // 7. Time. An expired statement is not counted: it is no longer remembered once expired,
        //    so it could not be counted only once.
        guard statement.expiresAt > statement.notBefore else {
            return refuse(.malformed, "the statement expires (\(statement.expiresAt)) before it becomes valid (\(statement.notBefore))")
        }
        guard now.addingTimeInterval(-configuration.clockSkew) < expiresAt else {
            return refuse(.expired, "the statement expired at \(statement.expiresAt) (Unix s), it is \(Int64(now.timeIntervalSince1970)) (skew tolerance \(secondsText(configuration.clockSkew)) s)")
        }
        let lifetime = TimeInterval(statement.expiresAt) - TimeInterval(statement.notBefore)
        guard lifetime <= configuration.maxLifetime else {
            return fail(.lifetimeTooLong, "the statement is valid for \(secondsText(lifetime)) s; at most \(secondsText(configuration.maxLifetime)) s is allowed")
        }
        guard now.addingTimeInterval(configuration.clockSkew) >= notBefore else {
            return fail(.notYetValid, "the statement becomes valid at \(statement.notBefore) (Unix s), it is \(Int64(now.timeIntervalSince1970)) (skew tolerance \(secondsText(configuration.clockSkew)) s)")
        }

        // 8. Bindings.
        if let problem = gate.ownerProblem(device, manifest: manifest) { return fail(.userMismatch, problem) }
        let digest = computed.lowercased()
        guard statement.jobId == manifest.jobId else {
            return fail(.jobMismatch, "the statement is for job \(statement.jobId), not \(manifest.jobId)")
        }
        guard statement.documentSha256 == digest else {
            return fail(.documentMismatch, "the statement approves document SHA-256 \(statement.documentSha256), but the PDF hashes to \(digest)")
        }
        guard manifest.document.sha256.lowercased() == digest else {
            return fail(.documentMismatch, "the manifest claims document SHA-256 \(manifest.document.sha256), but the PDF hashes to \(digest)")
        }
        guard statement.userId == manifest.signer.userId else {
            return fail(.userMismatch, "the statement is for user \(statement.userId), not \(manifest.signer.userId)")
        }
        guard statement.level == manifest.level else {
            return fail(.levelMismatch, "the statement approves level \(statement.level.rawValue), but the job asks for \(manifest.level.rawValue)")
        }
        guard statement.mode == manifest.mode else {
            return fail(.modeMismatch, "the statement approves \(statement.mode?.rawValue ?? "(none)") mode, but the job is \(manifest.mode.rawValue) mode")
        }
        let appearance = manifest.appearanceSha256
        guard statement.appearanceSha256 == appearance else {
            return fail(.appearanceMismatch, "the statement approves appearance SHA-256 \(statement.appearanceSha256 ?? "(none)"), but the job's resolved appearance (spool defaults merged) hashes to \(appearance)")
        }

        // 9. Single use.
        return gate.grant(manifest: manifest, device: device, documentSHA256: digest, reference: statement.nonce,
                          referenceKey: referenceKey, keepUntil: keepUntil, now: now, consume: consume, appearanceSha256: appearance)
    }

    /// Why the statement's fields cannot be encoded unambiguously, or nil.
    static func shapeProblem(_ s: AuthorizationStatement) -> String? {
        for (name, value) in [("jobId", s.jobId), ("deviceId", s.deviceId), ("userId", s.userId)] where !TokenSyntax.isIdentifier(value) {
            return "statement.\(name) is not 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit"
        }
        guard TokenSyntax.isSHA256Hex(s.documentSha256) else { return "statement.documentSha256 is not 64 lowercase hex digits" }
        guard s.mode != nil else { return "statement.mode is missing (cloud or external)" }
        guard let appearance = s.appearanceSha256, TokenSyntax.isSHA256Hex(appearance) else {
            return "statement.appearanceSha256 is missing or not 64 lowercase hex digits"
        }
        guard TokenSyntax.isNonce(s.nonce) else { return "statement.nonce is not 16-64 base64url characters" }
        return nil
    }
}
