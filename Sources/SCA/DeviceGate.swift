import Foundation
import Jobs
import StateStore

/// The steps every kind shares: find the job's device and refuse unknown, removed or blocked
/// devices; count failures (the `maxFailures`th blocks the device); on success, use up the
/// single-use reference and reset the count. With `consume == false` nothing is written.
///
/// Only a refusal of an approval that is provably the device's is counted (``failProven``):
/// anyone who can write a manifest can name any device, so a refusal before that proof
/// (``refuse``) never counts, or a handful of garbage manifests would block someone else's
/// device.
struct DeviceGate: Sendable {
    let database: StateDatabase
    let configuration: SCAConfiguration
    let kind: String

    /// The manifest's signer device when it may authorize (registered, ACTIVE), else the
    /// refusal (never counted). Whether it belongs to the manifest's user is ``ownerProblem``'s
    /// question, asked by each kind where the answer may be counted.
    func device(for manifest: SignManifest) -> Result<DeviceRecord, AuthorizationDenial> {
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
        return .success(device)
    }

    /// Why `device` may not sign for the manifest's user, or nil.
    func ownerProblem(_ device: DeviceRecord, manifest: SignManifest) -> String? {
        guard device.userId != manifest.signer.userId else { return nil }
        return "device \(device.id) belongs to user \(device.userId), but the job names user \(manifest.signer.userId)"
    }

    func denial(_ code: AuthorizationErrorCode, _ reason: String, manifest: SignManifest, upstreamCode: String? = nil) -> AuthorizationDenial {
        AuthorizationDenial(code: code, reason: reason, kind: kind, deviceId: manifest.signer.deviceId, userId: manifest.signer.userId,
                            upstreamCode: upstreamCode)
    }

    /// A refusal of something that is not provably the device's approval: never counted.
    func refuse(_ code: AuthorizationErrorCode, _ reason: String, manifest: SignManifest, upstreamCode: String? = nil) -> AuthorizationDenial {
        denial(code, reason, manifest: manifest, upstreamCode: upstreamCode)
    }

    /// A refusal of an approval that is provably the device's (its signature verified with the
    /// device's key, or PowerAuth reports it approved for this user on this device). Counted
    /// when `consume` and the code is the device's fault; the approval's single-use
    /// `referenceKey` is used up in the same transaction (until `keepUntil`), so one approval
    /// counts at most once — a copy of it presented again is `sca.replayed`, not counted.
    func failProven(_ code: AuthorizationErrorCode, _ reason: String, manifest: SignManifest, device: DeviceRecord, now: Date, consume: Bool,
                    referenceKey: String, keepUntil: Date, upstreamCode: String? = nil) -> AuthorizationDenial {
        var d = denial(code, reason, manifest: manifest, upstreamCode: upstreamCode)
        guard consume, code.countsAsDeviceFailure else { return d }
        do {
            if let updated = try database.recordFailedAuthorization(deviceId: device.id, maxFailures: configuration.maxFailures, now: now,
                                                                    burning: referenceKey, referenceExpiresAt: max(keepUntil, now)) {
                d.countedAsFailure = true
                d.failedAttempts = updated.failedAttempts
                // Counted only while ACTIVE, so BLOCKED now means this refusal blocked it.
                d.blockedDevice = updated.status == .blocked
            } else {
                d.reason += " (not counted: this approval was already used or counted, or the device is no longer active)"
            }
        } catch {
            d.reason += " (counting the failure in the state database failed: \(error))"
        }
        return d
    }

    /// Refuses a `referenceKey` that was already used (consumed by a success, or counted by a
    /// refusal): never counted, whatever else is wrong with it. Nil when unused.
    func replayed(manifest: SignManifest, referenceKey: String, now: Date) -> AuthorizationDenial? {
        do {
            guard try database.isNonceUsed(referenceKey, now: now) else { return nil }
            return refuse(.replayed, "\(referenceKey) was already used", manifest: manifest)
        } catch {
            return denial(.internalError, "reading \(referenceKey) from the state database failed: \(error)", manifest: manifest)
        }
    }

    /// Grants after every check passed: uses up `referenceKey` until `keepUntil` (replay →
    /// refusal) and resets the failure count. Without `consume`, only checks it is unused.
    func grant(manifest: SignManifest, device: DeviceRecord, documentSHA256: String, reference: String, referenceKey: String,
               keepUntil: Date, now: Date, consume: Bool, appearanceSha256: String? = nil) -> AuthorizationOutcome {
        do {
            if consume {
                // Uses up the reference and resets the device's failure count in one transaction
                // (the count read before a PowerAuth round trip may be stale, so always asked).
                guard try database.consumeNonce(referenceKey, deviceId: device.id, jobId: manifest.jobId, expiresAt: keepUntil, now: now,
                                                resetFailures: true) else {
                    return .denied(refuse(.replayed, "\(referenceKey) was already used", manifest: manifest))
                }
            } else if try database.isNonceUsed(referenceKey, now: now) {
                return .denied(refuse(.replayed, "\(referenceKey) was already used", manifest: manifest))
            }
        } catch {
            return .denied(denial(.internalError, "recording \(referenceKey) in the state database failed: \(error)", manifest: manifest))
        }
        return .authorized(AuthorizationGrant(kind: kind, deviceId: device.id, userId: device.userId, jobId: manifest.jobId,
                                              documentSHA256: documentSHA256, level: manifest.level, reference: reference,
                                              validUntil: keepUntil, consumed: consume, appearanceSha256: appearanceSha256))
    }
}
