import Foundation
import Jobs
import SigndCore
import StateStore

/// Kind `powerauth-operation`: the user approved an operation in PowerAuth on the job's device.
/// signd asks `POST /rest/v3/operation/detail` {operationId, userId} and accepts only an operation
/// that is APPROVED, for the job's user (and, when PowerAuth names one, on the job's device),
/// not expired, approved no longer than the maximum lifetime ago, and whose `data` equals the
/// template rendered for this job, this PDF digest, level and appearance. The operation id is
/// single-use (remembered as `powerauth:<id>`).
///
/// Only an operation PowerAuth reports APPROVED for the job's user *on the job's device*
/// (`activationId` = device id) is provably the device's approval: only its refusals (data or
/// document mismatch) count toward blocking the device, once per operation.
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
        func refuse(_ code: AuthorizationErrorCode, _ reason: String, upstreamCode: String? = nil) -> AuthorizationOutcome {
            .denied(gate.refuse(code, reason, manifest: manifest, upstreamCode: upstreamCode))
        }
        guard let authorization = manifest.authorization else {
            return refuse(.malformed, "the job has no authorization")
        }
        guard authorization.kind == AuthorizationKind.powerAuthOperation else {
            return refuse(.unsupportedKind, "authorization kind \"\(authorization.kind)\" is not powerauth-operation")
        }
        let device: DeviceRecord
        switch gate.device(for: manifest) {
        case .failure(let denial): return .denied(denial)
        case .success(let d): device = d
        }
        if let problem = gate.ownerProblem(device, manifest: manifest) { return refuse(.userMismatch, problem) }

        guard let operationId = authorization.operationId, TokenSyntax.isIdentifier(operationId) else {
            return refuse(.malformed, "operationId is missing or not 1-128 characters of A-Z a-z 0-9 . _ : -")
        }
        let template = configuration.operationDataTemplate
        guard template.bindsMode || manifest.mode == .cloud else {
            return refuse(.modeMismatch, "the operation data template \"\(template.text)\" does not bind ${mode}, so an operation approves cloud signing only; the job is \(manifest.mode.rawValue) mode")
        }
        let key = Self.referenceKey(operationId: operationId)
        // A known replay (or an operation already counted) needs no PowerAuth call.
        if let used = gate.replayed(manifest: manifest, referenceKey: key, now: now) { return .denied(used) }

        let operation: PowerAuthOperation
        do {
            operation = try await powerAuth.operationDetail(operationId: operationId, userId: manifest.signer.userId)
        } catch let e as PowerAuthError {
            return refuse(e.retryable ? .unavailable : .powerauthError, e.description, upstreamCode: e.code)
        } catch {
            return refuse(.powerauthError, "PowerAuth operation/detail failed: \(error)")
        }

        guard operation.id == operationId else {
            return refuse(.powerauthError, "PowerAuth answered with operation \(operation.id) for operation \(operationId)")
        }
        // Not (yet) an approval of this user's device: not counted.
        guard operation.status == PowerAuthOperationStatus.approved else {
            return refuse(.operationNotApproved, "operation \(operationId) is \(operation.status), not APPROVED")
        }
        guard operation.userId == manifest.signer.userId else {
            return refuse(.operationUserMismatch, "operation \(operationId) belongs to user \(operation.userId ?? "(none)"), not \(manifest.signer.userId)")
        }
        if let activation = operation.activationId, activation != device.id {
            return refuse(.wrongDevice, "operation \(operationId) was approved on activation \(activation), but the job's signer device is \(device.id)")
        }
        guard let expires = operation.timestampExpires else {
            return refuse(.powerauthError, "operation \(operationId) has no timestampExpires")
        }
        // Expired: not counted (no longer remembered, so it could not be counted only once).
        guard now.addingTimeInterval(-configuration.clockSkew) < expires else {
            return refuse(.operationExpired, "operation \(operationId) expired at \(expires), it is \(now)")
        }
        if let finalized = operation.timestampFinalized,
           now.addingTimeInterval(-configuration.clockSkew) >= finalized.addingTimeInterval(configuration.maxLifetime) {
            return refuse(.operationExpired, "operation \(operationId) was approved at \(finalized), more than \(secondsText(configuration.maxLifetime)) s ago")
        }

        // Provably the device's approval only when PowerAuth names the device's activation.
        let keepUntil = max(expires, now.addingTimeInterval(configuration.maxLifetime)).addingTimeInterval(configuration.clockSkew)
        let proven = operation.activationId == device.id
        func fail(_ code: AuthorizationErrorCode, _ reason: String) -> AuthorizationOutcome {
            guard proven else {
                return refuse(code, reason + " (not counted: PowerAuth does not report the operation's activation)")
            }
            return .denied(gate.failProven(code, reason, manifest: manifest, device: device, now: now, consume: consume,
                                           referenceKey: key, keepUntil: keepUntil))
        }
        let digest = computed.lowercased()
        guard manifest.document.sha256.lowercased() == digest else {
            return fail(.documentMismatch, "the manifest claims document SHA-256 \(manifest.document.sha256), but the PDF hashes to \(digest)")
        }
        let expected = template.render(manifest: manifest, documentSHA256: digest)
        guard operation.data == expected else {
            return fail(.operationDataMismatch, "operation \(operationId) carries data \"\(operation.data ?? "(none)")\", expected \"\(expected)\"")
        }

        return gate.grant(manifest: manifest, device: device, documentSHA256: digest, reference: operationId, referenceKey: key,
                          keepUntil: keepUntil, now: now, consume: consume, appearanceSha256: manifest.appearanceSha256)
    }
}
