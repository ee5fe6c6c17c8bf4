import CertificateAuthority
import Foundation
import PKIStructures
import StateStore

/// What removing a device did to its certificates.
public struct DeviceRemovalReport: Sendable {
    public var device: DeviceRecord
    /// Revoked now, with the reason used.
    public var revoked: [(serial: String, reason: RevocationReason)] = []
    /// The CA already had them revoked; now marked revoked here too.
    public var alreadyRevoked: [String] = []
    /// Revocation failed (CA unreachable…): run `signd device remove` again to retry.
    public var failed: [(serial: String, error: String, retryable: Bool)] = []

    public var complete: Bool { failed.isEmpty }

    public init(device: DeviceRecord) {
        self.device = device
    }
}

/// Removes a device for good: marks it REMOVED in the state database (first, so nothing more is
/// authorized), then revokes its certificates through the CA. The SCA side (which devices may
/// authorize) only reads the device's status; the revocation is certificate lifecycle.
public struct DeviceRemoval: Sendable {
    public let database: StateDatabase
    /// Needed only when the device has certificates to revoke.
    public let certificateAuthority: (any CertificateAuthorityService)?

    public init(database: StateDatabase, certificateAuthority: (any CertificateAuthorityService)?) {
        self.database = database
        self.certificateAuthority = certificateAuthority
    }

    /// Marks the device REMOVED, then revokes through the CA every certificate of the device that
    /// is active (reason cessationOfOperation) or superseded (reason superseded) and not yet
    /// revoked, marking each revoked in the state database. Safe to run again: a second run
    /// retries what failed. With certificates to revoke and no CA: `device.noCA` (the device is
    /// removed all the same).
    public func remove(deviceId: String, now: Date, operation: String? = nil) async throws -> DeviceRemovalReport {
        let device = try database.setDeviceStatus(deviceId, to: .removed, now: now)
        var report = DeviceRemovalReport(device: device)
        let pending = try database.certificates(deviceId: deviceId).filter { $0.status == .active || $0.status == .superseded }
        guard !pending.isEmpty else { return report }
        guard let ca = certificateAuthority else {
            throw LifecycleError(code: "device.noCA", message: "device \(deviceId) is removed, but \(pending.count) certificate(s) need revocation and no CA is configured; run the command again with the CA available")
        }
        for cert in pending {
            let reason: RevocationReason = cert.status == .active ? .cessationOfOperation : .superseded
            do {
                try await ca.revoke(serialHex: cert.serial, reason: reason, at: now)
                try database.markRevoked(serial: cert.serial, reason: reason.rawValue, at: now, byJob: operation)
                report.revoked.append((cert.serial, reason))
            } catch let e as CertificateAuthorityError where e.code == .alreadyRevoked {
                try database.markRevoked(serial: cert.serial, reason: reason.rawValue, at: now, byJob: operation)
                report.alreadyRevoked.append(cert.serial)
            } catch let e as CertificateAuthorityError {
                report.failed.append((cert.serial, e.description, e.retryable))
            } catch {
                report.failed.append((cert.serial, "\(error)", true))
            }
        }
        return report
    }
}
