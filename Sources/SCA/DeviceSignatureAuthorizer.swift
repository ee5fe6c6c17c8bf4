import Foundation
import Jobs
import StateStore

/// Kind `device-signature`: the device signed ``AuthorizationStatement/canonicalBytes`` with its
/// P-256 key (ECDSA/SHA-256, DER or JOSE). Checked in this order (docs/sca.md, "Rules"):
///
/// 1. kind; 2. the job's device exists, is ACTIVE and belongs to the job's user;
/// 3. statement and signature are well-formed; 4. the statement names the job's device;
/// 5. the signature verifies (locally, or through PowerAuth when configured);
/// 6. job id, document digest (as signd computed it from the PDF), user and level match;
/// 7. lifetime ≤ maximum, not before notBefore, not after expiresAt (± clock skew);
/// 8. the nonce is unused (and, with `consume`, is used up now).
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
        guard let authorization = manifest.authorization else {
            return .denied(gate.denial(.malformed, "the job has no authorization", manifest: manifest))
        }
        guard authorization.kind == AuthorizationKind.deviceSignature else {
            return .denied(gate.denial(.unsupportedKind, "authorization kind \"\(authorization.kind)\" is not device-signature", manifest: manifest))
        }
        let device: DeviceRecord
        switch gate.device(for: manifest, now: now, consume: consume) {
        case .failure(let denial): return .denied(denial)
        case .success(let d): device = d
        }
        func fail(_ code: AuthorizationErrorCode, _ reason: String, upstreamCode: String? = nil) -> AuthorizationOutcome {
            .denied(gate.fail(code, reason, manifest: manifest, device: device, now: now, consume: consume, upstreamCode: upstreamCode))
        }

        // 3. Shape.
        guard let statement = authorization.statement else { return fail(.malformed, "the device-signature authorization has no statement") }
        guard let signatureText = authorization.signature else { return fail(.malformed, "the device-signature authorization has no signature") }
        if let problem = Self.shapeProblem(statement) { return fail(.malformed, problem) }
        var declared: ECDSASignatureFormat?
        if let f = authorization.signatureFormat {
            guard let format = ECDSASignatureFormat(rawValue: f) else {
                return fail(.malformed, "signatureFormat \"\(f)\" is neither DER nor JOSE")
            }
            declared = format
        }
        guard let signatureBytes = TokenSyntax.decodeBase64(signatureText) else {
            return fail(.malformed, "the signature is not base64 (or longer than 1024 characters)")
        }
        guard let (signature, format) = ECDSASignatureDecoding.decode(signatureBytes, declared: declared) else {
            return fail(.malformed, "the signature (\(signatureBytes.count) bytes) is not a P-256 ECDSA signature in \(declared?.rawValue ?? "DER or JOSE") encoding")
        }

        // 4. The statement must be for the job's device.
        guard statement.deviceId == device.id else {
            return fail(.wrongDevice, "the statement names device \(statement.deviceId), but the job's signer device is \(device.id)")
        }

        // 5. Signature.
        switch await verifier.verify(device: device, data: statement.canonicalBytes, signature: signature, encoded: signatureBytes, format: format) {
        case .valid: break
        case .invalid(let reason): return fail(.badSignature, reason)
        case .noKey(let reason): return .denied(gate.denial(.noDeviceKey, reason, manifest: manifest))
        case .failed(let code, let reason, let upstream): return .denied(gate.denial(code, reason, manifest: manifest, upstreamCode: upstream))
        }

        // 6. Bindings.
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

        // 7. Time.
        let notBefore = Date(timeIntervalSince1970: TimeInterval(statement.notBefore))
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(statement.expiresAt))
        guard statement.expiresAt > statement.notBefore else {
            return fail(.malformed, "the statement expires (\(statement.expiresAt)) before it becomes valid (\(statement.notBefore))")
        }
        let lifetime = TimeInterval(statement.expiresAt) - TimeInterval(statement.notBefore)
        guard lifetime <= configuration.maxLifetime else {
            return fail(.lifetimeTooLong, "the statement is valid for \(Int(lifetime)) s; at most \(Int(configuration.maxLifetime)) s is allowed")
        }
        guard now.addingTimeInterval(configuration.clockSkew) >= notBefore else {
            return fail(.notYetValid, "the statement becomes valid at \(statement.notBefore) (Unix s), it is \(Int64(now.timeIntervalSince1970)) (skew tolerance \(Int(configuration.clockSkew)) s)")
        }
        guard now.addingTimeInterval(-configuration.clockSkew) < expiresAt else {
            return fail(.expired, "the statement expired at \(statement.expiresAt) (Unix s), it is \(Int64(now.timeIntervalSince1970)) (skew tolerance \(Int(configuration.clockSkew)) s)")
        }

        // 8. Single use.
        return gate.grant(manifest: manifest, device: device, documentSHA256: digest, reference: statement.nonce,
                          referenceKey: Self.nonceKey(deviceId: device.id, nonce: statement.nonce),
                          keepUntil: expiresAt.addingTimeInterval(configuration.clockSkew), now: now, consume: consume)
    }

    /// Why the statement's fields cannot be encoded unambiguously, or nil.
    static func shapeProblem(_ s: AuthorizationStatement) -> String? {
        for (name, value) in [("jobId", s.jobId), ("deviceId", s.deviceId), ("userId", s.userId)] where !TokenSyntax.isIdentifier(value) {
            return "statement.\(name) is not 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit"
        }
        guard TokenSyntax.isSHA256Hex(s.documentSha256) else { return "statement.documentSha256 is not 64 lowercase hex digits" }
        guard TokenSyntax.isNonce(s.nonce) else { return "statement.nonce is not 16-64 base64url characters" }
        return nil
    }
}
