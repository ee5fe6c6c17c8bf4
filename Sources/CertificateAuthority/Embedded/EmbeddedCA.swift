import Foundation
import PKIStructures
import SigndCore
import SwiftASN1
import X509

/// The built-in Certification Authority: a root and an issuing CA created on first use under
/// `<data>/ca/` (see ``CAIdentity`` for the files), profiles, a registry of issued certificates
/// (``CARegistry``), revocation with RFC 5280 reasons, CRLs (RFC 5280 5) and an OCSP responder
/// (RFC 6960), all signed by the issuing CA.
///
/// Time comes from the injected clock (`now`), so tests can run it over simulated months.
/// Thread-safe: the keys and certificates are immutable, state changes go through SQLite
/// transactions.
public final class EmbeddedCA: CertificateAuthorityService, Sendable {
    public let directory: String
    public let rootCertificate: Certificate
    public let issuingCertificate: Certificate
    public let profiles: CertificateProfiles
    public let options: EmbeddedCAOptions
    let issuingKey: CASigningKey
    let registry: CARegistry
    let clock: @Sendable () -> Date
    /// Attempts at drawing an unused random serial before giving up (a collision of 126-bit
    /// serials means a broken random source).
    static let serialAttempts = 8

    private init(directory: String, identity: CAIdentity, registry: CARegistry, profiles: CertificateProfiles,
                 options: EmbeddedCAOptions, clock: @escaping @Sendable () -> Date) {
        self.directory = directory
        self.rootCertificate = identity.root
        self.issuingCertificate = identity.issuing
        self.issuingKey = identity.issuingKey
        self.registry = registry
        self.profiles = profiles
        self.options = options
        self.clock = clock
    }

    /// Opens the CA under `<dataDirectory>/ca/`, creating root and issuing CA (keys of
    /// `keyAlgorithm`, encrypted under `kek`) when there is none. An existing CA is loaded as it
    /// is: `keyAlgorithm` and the names in `options` only matter at creation.
    ///
    /// Errors: `kek.*` codes when the KEK cannot open the keys, `ca.identity` for damaged or
    /// mismatched files, `ca.storage` when the registry cannot be opened.
    public static func loadOrCreate(dataDirectory: String, kek: KeyEncryptionKey, profiles: CertificateProfiles = .builtIn,
                                    keyAlgorithm: KeyType = .p256, options: EmbeddedCAOptions = EmbeddedCAOptions(),
                                    now: @escaping @Sendable () -> Date = { Date() }) throws -> EmbeddedCA {
        let dir = dataDirectory + "/ca"
        let identity: CAIdentity
        do {
            identity = CAIdentity.exists(in: dir)
                ? try CAIdentity.load(from: dir, kek: kek)
                : try CAIdentity.create(in: dir, kek: kek, keyType: keyAlgorithm, options: options, now: now())
        } catch let e as CertificateAuthorityError {
            throw e
        } catch {
            throw CertificateAuthorityError(.identity, "cannot create the embedded CA in \(dir): \(error)")
        }
        let registry = try CARegistry(path: dir + "/ca.sqlite")
        return EmbeddedCA(directory: dir, identity: identity, registry: registry, profiles: profiles, options: options, clock: now)
    }

    /// Issuing CA first, root last.
    public var chain: [Certificate] { [issuingCertificate, rootCertificate] }

    // MARK: - CertificateAuthorityService

    public func enroll(_ request: EnrollmentRequest) async throws -> IssuedCertificate {
        try issue(request)
    }

    /// Issues a certificate from a CSR after ``CSRValidator`` passed under the requested
    /// profile (and, when `expectedPublicKeyDER` is set, the CSR's key is that key).
    ///
    /// The certificate: version 3, a random positive 126-bit serial, the subject rebuilt from
    /// the CSR's allowed attributes, notBefore = now - backdate, notAfter = notBefore + validity
    /// (capped at the issuing CA's notAfter), extensions per ``EndEntityExtensions``, signed by
    /// the issuing CA. It is recorded in the registry before it is returned.
    public func issue(_ request: EnrollmentRequest) throws -> IssuedCertificate {
        let profile = try profiles.profile(named: request.profile)
        var expectedKey: Certificate.PublicKey?
        if let spki = request.expectedPublicKeyDER {
            do {
                expectedKey = try Certificate.PublicKey(derEncoded: spki)
            } catch {
                throw CertificateAuthorityError(.csrKeyMismatch, "the device's registered public key cannot be parsed (\(error)), so the CSR's key cannot be matched to it")
            }
        }
        let csr = try CSRValidator(profile: profile).validate(request.csrDER, expectedPublicKey: expectedKey)
        let now = X509Time.wholeSeconds(clock())
        let notBefore = now.addingTimeInterval(-TimeInterval(profile.backdateSeconds))
        let notAfter = min(notBefore.addingTimeInterval(TimeInterval(profile.validitySeconds)), issuingCertificate.notValidAfter)
        guard notAfter > now else {
            throw CertificateAuthorityError(.identity, "the issuing CA certificate expired (\(issuingCertificate.notValidAfter)); the embedded CA cannot issue any more")
        }
        let extensions = try EndEntityExtensions.make(profile: profile, subjectKey: csr.publicKey,
                                                      issuerKeyIdentifier: KeyIdentifier.sha1(issuingKey.publicKey))
        for _ in 0..<Self.serialAttempts {
            let serial = SerialNumberText.random()
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: csr.publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter,
                issuer: issuingCertificate.subject, subject: csr.subject,
                signatureAlgorithm: issuingKey.signatureAlgorithm, extensions: extensions,
                issuerPrivateKey: issuingKey.privateKey)
            let record = IssuedCertificateRecord(
                serial: Hex.encode(serial), der: Data(try CADER.encode(certificate)), subject: certificate.subject.description,
                profile: profile.name, userId: request.userId, deviceId: request.deviceId,
                notBefore: notBefore, notAfter: notAfter, issuedAt: now, revokedAt: nil, revocationReason: nil)
            if try registry.insert(record) {
                return IssuedCertificate(certificate: certificate, chain: chain)
            }
        }
        throw CertificateAuthorityError(.storage, "could not draw an unused serial number in \(Self.serialAttempts) attempts; the random source is broken")
    }

    /// Revokes a certificate the CA issued (RFC 5280 5.3.1 reasons).
    ///
    /// - `certificateHold` suspends; a later revocation with another reason makes it final
    ///   (keeping the hold's time), `removeFromCRL` releases it (`ca.invalidRevocation` for a
    ///   certificate not on hold).
    /// - Revoking again otherwise is `ca.alreadyRevoked`; an unknown serial is
    ///   `ca.unknownCertificate`.
    /// - The time is kept in whole seconds; it appears in CRLs and OCSP responses.
    public func revoke(serialHex: String, reason: RevocationReason, at date: Date) throws {
        try registry.revoke(serial: SerialNumberText.normalize(serialHex), reason: reason, at: X509Time.wholeSeconds(date))
    }

    /// `.unknown` for a serial the CA never issued.
    public func revocationStatus(serialHex: String) throws -> RevocationStatus {
        try registry.record(serial: SerialNumberText.normalize(serialHex))?.revocationStatus ?? .unknown
    }

    public func caChain() async throws -> [Certificate] {
        chain
    }

    /// Every certificate the CA issued, oldest first.
    public func issuedCertificates() throws -> [IssuedCertificateRecord] {
        try registry.all()
    }

    // MARK: - CRL and OCSP

    /// The current CRL (DER): X.509 v2, signed by the issuing CA, listing every revoked
    /// certificate with its revocation time and reason (see ``CRLSigner``). thisUpdate is the
    /// time it was made, nextUpdate thisUpdate + `crlValiditySeconds`. The same CRL is returned
    /// until a revocation changes or half its validity has passed; then a new one gets the next
    /// CRL number.
    public func currentCRL(now: Date? = nil) throws -> [UInt8] {
        let time = X509Time.wholeSeconds(now ?? clock())
        let validity = TimeInterval(options.crlValiditySeconds)
        let signer = CRLSigner(issuer: issuingCertificate, key: issuingKey)
        return try registry.currentCRL(now: time, reuseFor: validity / 2) { number, revoked in
            let entries = try revoked.map { record in
                try RevokedCertificate(serialNumber: SerialNumberText.magnitude(record.serial)[...],
                                       revocationDate: record.revokedAt ?? time, reason: record.revocationReason)
            }
            return try signer.sign(number: number, thisUpdate: time, nextUpdate: time.addingTimeInterval(validity), entries: entries)
        }
    }

    /// ``currentCRL(now:)`` as PEM (`X509 CRL`).
    public func currentCRLPEM(now: Date? = nil) throws -> String {
        CAPEM.crl(try currentCRL(now: now))
    }

    /// Answers a DER OCSP request (RFC 6960) about certificates of the issuing CA; see
    /// ``OCSPResponder`` for what is answered. Never throws: failures are OCSP error statuses
    /// (malformedRequest, internalError), as the protocol requires.
    public func ocspResponse(requestDER: [UInt8], now: Date? = nil) -> [UInt8] {
        let registry = self.registry
        let responder = OCSPResponder(issuer: issuingCertificate, key: issuingKey, validity: TimeInterval(options.ocspValiditySeconds)) { serial in
            try registry.record(serial: serial)?.revocationStatus ?? .unknown
        }
        return responder.respond(to: requestDER, now: now ?? clock())
    }
}
