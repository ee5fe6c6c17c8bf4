import Foundation
import Jobs
import StateStore

/// Dispatches by `authorization.kind` to the authorizer registered for it; any other kind is
/// refused with `sca.unsupportedKind`, a job without authorization with `sca.malformed`.
public struct CompositeAuthorizer: JobAuthorizer {
    public let authorizers: [String: any JobAuthorizer]

    public init(authorizers: [String: any JobAuthorizer]) {
        self.authorizers = authorizers
    }

    /// The standard set: device-signature (local, or through PowerAuth when
    /// `configuration.verifyDeviceSignaturesWithPowerAuth` and a PowerAuth service is given) and,
    /// with a PowerAuth service, powerauth-operation.
    public init(database: StateDatabase, configuration: SCAConfiguration = SCAConfiguration(), powerAuth: (any PowerAuthService)? = nil) {
        var map: [String: any JobAuthorizer] = [:]
        let verifier: any DeviceSignatureVerifier
        if configuration.verifyDeviceSignaturesWithPowerAuth, let powerAuth {
            verifier = PowerAuthDeviceSignatureVerifier(service: powerAuth)
        } else {
            verifier = LocalDeviceSignatureVerifier()
        }
        map[AuthorizationKind.deviceSignature] = DeviceSignatureAuthorizer(database: database, configuration: configuration, verifier: verifier)
        if let powerAuth {
            map[AuthorizationKind.powerAuthOperation] = PowerAuthOperationAuthorizer(database: database, configuration: configuration, powerAuth: powerAuth)
        }
        self.authorizers = map
    }

    public func authorize(manifest: SignManifest, documentSHA256: String, now: Date, consume: Bool) async -> AuthorizationOutcome {
        guard let authorization = manifest.authorization else {
            return .denied(AuthorizationDenial(code: .malformed, reason: "the job has no authorization", deviceId: manifest.signer.deviceId,
                                               userId: manifest.signer.userId))
        }
        guard let authorizer = authorizers[authorization.kind] else {
            let known = authorizers.keys.sorted().joined(separator: ", ")
            return .denied(AuthorizationDenial(code: .unsupportedKind,
                                               reason: "authorization kind \"\(authorization.kind)\" is not supported here (configured: \(known))",
                                               kind: authorization.kind, deviceId: manifest.signer.deviceId, userId: manifest.signer.userId))
        }
        return await authorizer.authorize(manifest: manifest, documentSHA256: documentSHA256, now: now, consume: consume)
    }
}
