import Crypto
import Foundation
import StateStore

/// Registers, blocks, unblocks and lists devices. A device is a user's phone: its P-256
/// public key (stored as SubjectPublicKeyInfo DER) verifies the device's authorization
/// statements; its certificates are issued by the CA. Removing a device for good, with the
/// revocation of its certificates, is `DeviceRemoval` in CertificateLifecycle.
public struct DeviceRegistry: Sendable {
    public let database: StateDatabase

    public init(database: StateDatabase) {
        self.database = database
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

    public func list() throws -> [DeviceRecord] {
        try database.devices()
    }
}
