import Foundation
import Jobs

/// `signd authorize check`: reads a manifest so that a problem in its `authorization` becomes an
/// authorization refusal (`sca.malformed`, `sca.unsupportedKind`) rather than a manifest error,
/// while every other manifest problem stays a ``ManifestError``.
public enum AuthorizationCheck {
    public enum ReadManifest: Sendable {
        /// A manifest whose authorization (if any) the authorizer judges.
        case manifest(SignManifest)
        /// The rest of the manifest is valid, but its authorization cannot even be decoded.
        case malformedAuthorization(SignManifest, reason: String)
    }

    /// `defaults`: the target spool's defaults (level, appearance texts), merged as the daemon
    /// merges them — the approval must cover the merged appearance.
    public static func read(_ data: Data, defaults: ManifestDefaults? = nil) throws -> ReadManifest {
        let original: ManifestError
        do {
            return .manifest(try ManifestValidator.parse(data, defaults: defaults))
        } catch let e as ManifestError {
            original = e
        }
        // Is it only the authorization? Check the manifest without it.
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let modeText = object["mode"] as? String, let mode = SigningMode(rawValue: modeText) else { throw original }
        let authorizationObject = object.removeValue(forKey: "authorization")
        object["mode"] = SigningMode.external.rawValue
        guard let stripped = try? JSONSerialization.data(withJSONObject: object),
              var manifest = try? ManifestValidator.parse(stripped, defaults: defaults) else { throw original }
        manifest.mode = mode
        guard let authorizationObject, !(authorizationObject is NSNull) else {
            return .malformedAuthorization(manifest, reason: "the \(mode.rawValue)-mode job has no authorization (\(original.message))")
        }
        guard let authorizationData = try? JSONSerialization.data(withJSONObject: authorizationObject),
              let authorization = try? JSONDecoder().decode(Authorization.self, from: authorizationData) else {
            return .malformedAuthorization(manifest, reason: "the authorization does not decode: \(original.message)")
        }
        manifest.authorization = authorization
        return .manifest(manifest)
    }

    /// The outcome for what ``read(_:)`` returned.
    public static func check(_ read: ReadManifest, documentSHA256: String, authorizer: any JobAuthorizer, now: Date) async -> AuthorizationOutcome {
        switch read {
        case .manifest(let manifest):
            guard manifest.authorization != nil else {
                return .denied(AuthorizationDenial(code: .malformed, reason: "the job has no authorization (external mode: the DTBS signature is the proof)",
                                                   deviceId: manifest.signer.deviceId, userId: manifest.signer.userId))
            }
            return await authorizer.authorize(manifest: manifest, documentSHA256: documentSHA256, now: now, consume: false)
        case .malformedAuthorization(let manifest, let reason):
            return .denied(AuthorizationDenial(code: .malformed, reason: reason, deviceId: manifest.signer.deviceId, userId: manifest.signer.userId))
        }
    }
}
