import CertificateAuthority
import Crypto
import Foundation
import PKIStructures
import SigndCore
import StateStore
import SwiftASN1
import X509

/// Enrollment of device certificates: from the device's CSR (external mode) or with a key pair
/// signd generates and keeps encrypted (cloud mode). Stores the CSR and the certificate; a new
/// certificate supersedes the device's previous active one in the transaction that stores it.
///
/// `operation`: the job id or command operation id that asks, stored as the certificate's
/// `issuedByJob` (a resumed job finds what it issued by it; one certificate per operation).
/// `replacing`: `.none` refuses (`enroll.exists`) when the device has an active certificate by
/// the time the new one is stored; `.anyActive` re-enrolls. A certificate the CA issued that
/// cannot be stored is revoked at the CA again (reason superseded), best effort.
public struct EnrollmentService: Sendable {
    public let database: StateDatabase
    public let ca: any CertificateAuthorityService
    public let kek: KeyEncryptionKey
    public let clock: @Sendable () -> Date

    public init(database: StateDatabase, ca: any CertificateAuthorityService, kek: KeyEncryptionKey, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.ca = ca
        self.kek = kek
        self.clock = clock
    }

    /// External mode: the device's own CSR. If the device is registered with a key, the CSR must
    /// carry that key; an unknown device is registered with the CSR's key.
    public func enrollExternal(userId: String, deviceId: String, csrDER: [UInt8], profile: String, operation: String? = nil,
                               replacing: CertificateReplacement = .anyActive) async throws -> IssuedCertificate {
        let csr: CertificateSigningRequest
        do { csr = try CertificateSigningRequest(derEncoded: csrDER) } catch {
            throw CertificateAuthorityError(.csrMalformed, "the CSR is not a DER or PEM PKCS#10 request")
        }
        // The device registry stores SubjectPublicKeyInfo DER; compare in that form.
        var keySerializer = DER.Serializer()
        try keySerializer.serialize(csr.publicKey)
        let csrKey = keySerializer.serializedBytes
        let now = clock()
        if let device = try database.device(deviceId) {
            guard device.userId == userId else {
                throw LifecycleError(code: "device.userMismatch", message: "device \(deviceId) belongs to another user")
            }
            guard device.status == .active else {
                throw LifecycleError(code: "device.notActive", message: "device \(deviceId) is \(device.status.rawValue); only active devices are enrolled")
            }
            if let registered = device.publicKeyDER, Array(registered) != csrKey {
                throw CertificateAuthorityError(.csrKeyMismatch, "the CSR's public key is not the key registered for device \(deviceId)")
            }
        } else {
            try database.registerDevice(id: deviceId, userId: userId, publicKeyDER: csrKey, now: now)
        }
        let stored = try database.storeCSR(deviceId: deviceId, der: csrDER, origin: "external", now: now)
        return try await issue(csr: stored, userId: userId, deviceId: deviceId, profile: profile, operation: operation, replacing: replacing)
    }

    /// Cloud mode: signd makes a P-256 key pair, seals the private key under the KEK, builds the
    /// CSR from `subject` and enrolls it.
    public func enrollCloud(userId: String, deviceId: String, subject: DistinguishedName, profile: String, operation: String? = nil,
                            replacing: CertificateReplacement = .anyActive) async throws -> IssuedCertificate {
        let now = clock()
        let key = P256.Signing.PrivateKey()
        let csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: .init(key),
                                                attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        let csrDER = serializer.serializedBytes
        if let device = try database.device(deviceId) {
            guard device.userId == userId, device.status == .active else {
                throw LifecycleError(code: "device.notActive", message: "device \(deviceId) is not an active device of user \(userId)")
            }
        } else {
            try database.registerDevice(id: deviceId, userId: userId, publicKeyDER: nil, now: now)
        }
        let sealed = try kek.seal(Array(key.derRepresentation), context: "cloud-key:\(deviceId)")
        let json = String(decoding: try JSONEncoder().encode(sealed), as: UTF8.self)
        let stored = try database.storeCSR(deviceId: deviceId, der: csrDER, origin: "cloud", now: now)
        // The new key replaces the old one only with its certificate, in one transaction: a
        // refused or failed enrollment (unknown profile, CA unreachable) leaves the device signing
        // as before, and a crash never leaves a certificate without its key.
        return try await issue(csr: stored, userId: userId, deviceId: deviceId, profile: profile, operation: operation,
                               replacing: replacing, sealedCloudKey: json)
    }

    /// The cloud-mode signing key of a device, decrypted for use.
    public func cloudKey(deviceId: String) throws -> P256.Signing.PrivateKey {
        guard let record = try database.cloudKey(deviceId: deviceId) else {
            throw LifecycleError(code: "key.missing", message: "device \(deviceId) has no cloud-mode key; enroll it with --cloud")
        }
        let blob = try JSONDecoder().decode(EncryptedBlob.self, from: Data(record.sealedKey.utf8))
        return try P256.Signing.PrivateKey(derRepresentation: try kek.open(blob))
    }

    /// Submits a stored CSR and stores the result as the device's active certificate.
    func issue(csr: CSRRecord, userId: String, deviceId: String, profile: String, operation: String?,
               replacing: CertificateReplacement, sealedCloudKey: String? = nil) async throws -> IssuedCertificate {
        let issued = try await ca.enroll(EnrollmentRequest(csrDER: Array(csr.der), profile: profile, userId: userId, deviceId: deviceId))
        let cert = issued.certificate
        let serial = Hex.encode(cert.serialNumber.bytes)
        var serializer = DER.Serializer()
        try serializer.serialize(cert)
        do {
            try database.storeIssuedCertificate(CertificateRecord(
                serial: serial, deviceId: deviceId, csrId: csr.id, userId: userId,
                der: Data(serializer.serializedBytes), subject: cert.subject.description, issuer: cert.issuer.description,
                profile: profile, notBefore: cert.notValidBefore, notAfter: cert.notValidAfter, status: .active,
                revokedAt: nil, revocationReason: nil, supersededBy: nil, renewalFailures: 0, nextRenewalAttempt: nil, createdAt: clock(),
                issuedByJob: operation), replacing: replacing, sealedCloudKey: sealedCloudKey)
        } catch let e as StateStoreError {
            // Refused by the state database (enroll.exists, renewal.superseded, ...): nobody will
            // ever use this certificate; do not leave it valid at the CA.
            try? await ca.revoke(serialHex: serial, reason: .superseded, at: clock())
            throw e
        }
        return issued
    }

    /// Renews one certificate by re-submitting its stored CSR.
    public func renew(_ record: CertificateRecord) async throws -> IssuedCertificate {
        guard let csrId = record.csrId, let csr = try database.csr(id: csrId) else {
            throw LifecycleError(code: "renewal.noCSR", message: "certificate \(record.serial) has no stored CSR to re-submit; re-enroll the device")
        }
        // The renewal is stored only while the renewed certificate is still active, with the
        // `renewed` attempt, in one transaction; one renewal per certificate (issuedByJob).
        return try await issue(csr: csr, userId: record.userId, deviceId: record.deviceId, profile: record.profile,
                               operation: "renewal:" + record.serial, replacing: .renewal(of: record.serial))
    }
}
