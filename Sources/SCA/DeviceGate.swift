import Foundation
import Jobs
import StateStore

/// The steps every kind shares: find the job's device and refuse unknown, removed, blocked or
/// foreign devices; count failures (the `maxFailures`th blocks the device); on success, use up the
/// single-use reference and reset the count. With `consume == false` nothing is written.
struct DeviceGate: Sendable {
    let database: StateDatabase
    let configuration: SCAConfiguration
    let kind: String

    /// The manifest's signer device when it may authorize, else the refusal.
    func device(for manifest: SignManifest, now: Date, consume: Bool) -> Result<DeviceRecord, AuthorizationDenial> {
        let deviceId = manifest.signer.deviceId
        let record: DeviceRecord?
        do { record = try database.device(deviceId) } catch {
            return .failure(denial(.internalError, "reading device \(deviceId) from the state database failed: \(error)", manifest: manifest))
        }
        guard let device = record else {
            return .failure(denial(.unknownDevice, "no device \(deviceId) is registered", manifest: manifest))
        }
        switch device.status {
        case .removed:
            return .failure(denial(.deviceRemoved, "device \(deviceId) was removed at \(device.updatedAt)", manifest: manifest))
        case .blocked:
            return .failure(denial(.deviceBlocked, "device \(deviceId) is blocked (\(device.failedAttempts) consecutive failures); unblock it with `signd device unblock`", manifest: manifest))
        case .active:
            break
        }
        guard device.userId == manifest.signer.userId else {
            return .failure(fail(.userMismatch, "device \(deviceId) belongs to user \(device.userId), but the job names user \(manifest.signer.userId)",
                                 manifest: manifest, device: device, now: now, consume: consume))
        }
        return .success(device)
    }

    func denial(_ code: AuthorizationErrorCode, _ reason: String, manifest: SignManifest, upstreamCode: String? = nil) -> AuthorizationDenial {
        AuthorizationDenial(code: code, reason: reason, kind: kind, deviceId: manifest.signer.deviceId, userId: manifest.signer.userId,
                            upstreamCode: upstreamCode)
    }

    /// A refusal for an active device: counted when the code is the device's fault and `consume`.
    func fail(_ code: AuthorizationErrorCode, _ reason: String, manifest: SignManifest, device: DeviceRecord, now: Date, consume: Bool,
              upstreamCode: String? = nil) -> AuthorizationDenial {
        var d = denial(code, reason, manifest: manifest, upstreamCode: upstreamCode)
        guard consume, code.countsAsDeviceFailure else { return d }
        do {
            if let updated = try database.recordFailedAuthorization(deviceId: device.id, maxFailures: configuration.maxFailures, now: now) {
                d.countedAsFailure = true
                d.failedAttempts = updated.failedAttempts
                d.blockedDevice = device.status == .active && updated.status == .blocked
            }
        } catch {
            d.reason += " (counting the failure in the state database failed: \(error))"
        }
        return d
    }

    /// Grants after every check passed: uses up `referenceKey` until `keepUntil` (replay →
    /// refusal) and resets the failure count. Without `consume`, only checks it is unused.
    func grant(manifest: SignManifest, device: DeviceRecord, documentSHA256: String, reference: String, referenceKey: String,
               keepUntil: Date, now: Date, consume: Bool) -> AuthorizationOutcome {
        do {
            if consume {
                // Uses up the reference and resets the device's failure count in one transaction
                // (the count read before a PowerAuth round trip may be stale, so always asked).
                guard try database.consumeNonce(referenceKey, deviceId: device.id, jobId: manifest.jobId, expiresAt: keepUntil, now: now,
                                                resetFailures: true) else {
                    return .denied(fail(.replayed, "\(referenceKey) was already used", manifest: manifest, device: device, now: now, consume: consume))
                }
            } else if try database.isNonceUsed(referenceKey, now: now) {
                return .denied(fail(.replayed, "\(referenceKey) was already used", manifest: manifest, device: device, now: now, consume: consume))
            }
        } catch {
            return .denied(denial(.internalError, "recording \(referenceKey) in the state database failed: \(error)", manifest: manifest))
        }
        return .authorized(AuthorizationGrant(kind: kind, deviceId: device.id, userId: device.userId, jobId: manifest.jobId,
                                              documentSHA256: documentSHA256, level: manifest.level, reference: reference,
                                              validUntil: keepUntil, consumed: consume))
    }
}
