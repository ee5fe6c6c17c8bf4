import CertificateAuthority
import Crypto
import Foundation
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
}

/// Registers, blocks, unblocks, removes and lists devices. A device is a user's phone: its P-256
/// public key (stored as SubjectPublicKeyInfo DER) verifies the device's authorization
/// statements; its certificates are issued by the CA. Removing a device revokes them.
public struct DeviceRegistry: Sendable {
    public let database: StateDatabase
    /// Needed only by ``remove(deviceId:now:)``.
    public let certificateAuthority: (any CertificateAuthorityService)?

    public init(database: StateDatabase, certificateAuthority: (any CertificateAuthorityService)? = nil) {
        self.database = database
        self.certificateAuthority = certificateAuthority
    }

    /// Registers a device with a P-256 public key given as PEM (`PUBLIC KEY`, SubjectPublicKeyInfo).
    @discardableResult
    public func register(deviceId: String, userId: String, publicKeyPEM: String, now: Date) throws -> DeviceRecord {
        let key: P256.Signing.PublicKey
        do { key = try P256.Signing.PublicKey(pemRepresentation: publicKeyPEM) } catch {
            throw SCAError(code: .deviceInvalidKey, message: "the public key is not a PEM \"PUBLIC KEY\" of an EC P-256 key; export it with `openssl ec -pubout` or `signd device-sim create`")
        }
        return try register(deviceId: deviceId, userId: userId, publicKey: key, now: now)
    }

    @discardableResult
    public func register(deviceId: String, userId: String, publicKey: P256.Signing.PublicKey, now: Date) throws -> DeviceRecord {
        guard TokenSyntax.isIdentifier(deviceId) else {
            throw SCAError(code: .deviceInvalidId, message: "device id \"\(deviceId)\" must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
        }
        guard TokenSyntax.isIdentifier(userId) else {
            throw SCAError(code: .deviceInvalidId, message: "user id \"\(userId)\" must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
        }
        return try database.registerDevice(id: deviceId, userId: userId, publicKeyDER: Array(publicKey.derRepresentation), now: now)
    }

    /// Blocks a device: its authorizations are refused until it is unblocked.
    @discardableResult
    public func block(deviceId: String, now: Date) throws -> DeviceRecord {
        try database.setDeviceStatus(deviceId, to: .blocked, now: now)
    }

    /// Unblocks a device and resets its failure count. A removed device cannot be unblocked.
    @discardableResult
    public func unblock(deviceId: String, now: Date) throws -> DeviceRecord {
        try database.setDeviceStatus(deviceId, to: .active, now: now)
    }

    /// Marks the device REMOVED (first, so nothing more is authorized), then revokes through the CA
    /// every certificate of the device that is active (reason cessationOfOperation) or superseded
    /// (reason superseded) and not yet revoked, marking each revoked in the state database.
    /// Safe to run again: a second run retries what failed. `operation`: the job id or command
    /// operation id, stored as each certificate's `revokedByJob`.
    public func remove(deviceId: String, now: Date, operation: String? = nil) async throws -> DeviceRemovalReport {
        let device = try database.setDeviceStatus(deviceId, to: .removed, now: now)
        var report = DeviceRemovalReport(device: device)
        let pending = try database.certificates(deviceId: deviceId).filter { $0.status == .active || $0.status == .superseded }
        guard !pending.isEmpty else { return report }
        guard let ca = certificateAuthority else {
            throw SCAError(code: .deviceNoCA, message: "device \(deviceId) is removed, but \(pending.count) certificate(s) need revocation and no CA is configured; run the command again with the CA available")
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

    public func list() throws -> [DeviceRecord] {
        try database.devices()
    }
}
