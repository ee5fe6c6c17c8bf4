import Foundation
import Jobs
import StateStore

/// Kind `powerauth-operation`: the user approved an operation in PowerAuth on the job's device.
/// signd asks `POST /rest/v3/operation/detail` {operationId, userId} and accepts only an operation
/// that is APPROVED, for the job's user, not expired, approved no longer than the maximum
/// lifetime ago, and whose `data` equals the template rendered for this job and this PDF digest.
/// The operation id is single-use (remembered as `powerauth:<id>`).
public struct PowerAuthOperationAuthorizer: JobAuthorizer {
    public let database: StateDatabase
    public let configuration: SCAConfiguration
    public let powerAuth: any PowerAuthService

    public init(database: StateDatabase, configuration: SCAConfiguration = SCAConfiguration(), powerAuth: any PowerAuthService) {
        self.database = database
        self.configuration = configuration
        self.powerAuth = powerAuth
    }

    public static func referenceKey(operationId: String) -> String { "powerauth:\(operationId)" }

    public func authorize(manifest: SignManifest, documentSHA256 computed: String, now: Date, consume: Bool) async -> AuthorizationOutcome {
        let gate = DeviceGate(database: database, configuration: configuration, kind: AuthorizationKind.powerAuthOperation)
        guard let authorization = manifest.authorization else {
            return .denied(gate.denial(.malformed, "the job has no authorization", manifest: manifest))
        }
        guard authorization.kind == AuthorizationKind.powerAuthOperation else {
            return .denied(gate.denial(.unsupportedKind, "authorization kind \"\(authorization.kind)\" is not powerauth-operation", manifest: manifest))
        }
        let device: DeviceRecord
        switch gate.device(for: manifest, now: now, consume: consume) {
        case .failure(let denial): return .denied(denial)
        case .success(let d): device = d
        }
        func fail(_ code: AuthorizationErrorCode, _ reason: String) -> AuthorizationOutcome {
            .denied(gate.fail(code, reason, manifest: manifest, device: device, now: now, consume: consume))
        }

        guard let operationId = authorization.operationId, TokenSyntax.isIdentifier(operationId) else {
            return fail(.malformed, "operationId is missing or not 1-128 characters of A-Z a-z 0-9 . _ : -")
        }
        let key = Self.referenceKey(operationId: operationId)
        // A known replay needs no PowerAuth call.
        do {
            if try database.isNonceUsed(key, now: now) { return fail(.replayed, "\(key) was already used") }
        } catch {
            return .denied(gate.denial(.internalError, "reading \(key) from the state database failed: \(error)", manifest: manifest))
        }

        let operation: PowerAuthOperation
        do {
            operation = try await powerAuth.operationDetail(operationId: operationId, userId: manifest.signer.userId)
        } catch let e as PowerAuthError {
            return .denied(gate.denial(e.retryable ? .unavailable : .powerauthError, e.description, manifest: manifest, upstreamCode: e.code))
        } catch {
            return .denied(gate.denial(.powerauthError, "PowerAuth operation/detail failed: \(error)", manifest: manifest))
        }

        guard operation.id == operationId else {
            return .denied(gate.denial(.powerauthError, "PowerAuth answered with operation \(operation.id) for operation \(operationId)", manifest: manifest))
        }
        guard operation.status == PowerAuthOperationStatus.approved else {
            return fail(.operationNotApproved, "operation \(operationId) is \(operation.status), not APPROVED")
        }
        guard operation.userId == manifest.signer.userId else {
            return fail(.operationUserMismatch, "operation \(operationId) belongs to user \(operation.userId ?? "(none)"), not \(manifest.signer.userId)")
        }
        let digest = computed.lowercased()
        guard manifest.document.sha256.lowercased() == digest else {
            return fail(.documentMismatch, "the manifest claims document SHA-256 \(manifest.document.sha256), but the PDF hashes to \(digest)")
        }
        let expected = configuration.operationDataTemplate.render(jobId: manifest.jobId, documentSHA256: digest, userId: manifest.signer.userId,
                                                                  deviceId: device.id, level: manifest.level)
        guard operation.data == expected else {
            return fail(.operationDataMismatch, "operation \(operationId) carries data \"\(operation.data ?? "(none)")\", expected \"\(expected)\"")
        }
        guard let expires = operation.timestampExpires else {
            return .denied(gate.denial(.powerauthError, "operation \(operationId) has no timestampExpires", manifest: manifest))
        }
        guard now.addingTimeInterval(-configuration.clockSkew) < expires else {
            return fail(.operationExpired, "operation \(operationId) expired at \(expires), it is \(now)")
        }
        if let finalized = operation.timestampFinalized,
           now.addingTimeInterval(-configuration.clockSkew) >= finalized.addingTimeInterval(configuration.maxLifetime) {
            return fail(.operationExpired, "operation \(operationId) was approved at \(finalized), more than \(Int(configuration.maxLifetime)) s ago")
        }

        let keepUntil = max(expires, now.addingTimeInterval(configuration.maxLifetime)).addingTimeInterval(configuration.clockSkew)
        return gate.grant(manifest: manifest, device: device, documentSHA256: digest, reference: operationId, referenceKey: key,
                          keepUntil: keepUntil, now: now, consume: consume)
    }
}
