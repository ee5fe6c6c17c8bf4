import CertificateAuthority
import Crypto
import Foundation
import PKIStructures
import SwiftASN1
import TestSupport
import X509

/// A CA for lifecycle tests: issues from TestPKI's root with a configurable validity, and can be
/// switched to "unavailable" to test retries.
actor FakeCertificateAuthority: CertificateAuthorityService {
    let pki: TestPKI
    var validity: TimeInterval
    var now: @Sendable () -> Date
    var unavailable = false
    private(set) var enrollments = 0
    private(set) var revocations: [String] = []

    init(validity: TimeInterval, now: @escaping @Sendable () -> Date) throws {
        pki = try TestPKI(now: Date(timeIntervalSince1970: 1_700_000_000))
        self.validity = validity
        self.now = now
    }

    func setUnavailable(_ value: Bool) { unavailable = value }

    func enroll(_ request: EnrollmentRequest) async throws -> IssuedCertificate {
        if unavailable { throw CertificateAuthorityError(.unavailable, "CA down (test)", retryable: true) }
        let csr = try CertificateSigningRequest(derEncoded: request.csrDER)
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else { throw CertificateAuthorityError(.csrBadSignature, "bad") }
        enrollments += 1
        let start = now()
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: csr.publicKey,
            notValidBefore: start, notValidAfter: start.addingTimeInterval(validity),
            issuer: pki.root.subject, subject: csr.subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(KeyUsage(digitalSignature: true, nonRepudiation: true)) },
            issuerPrivateKey: .init(pki.rootKey))
        return IssuedCertificate(certificate: cert, chain: [pki.root])
    }

    func revoke(serialHex: String, reason: RevocationReason, at date: Date) async throws { revocations.append(serialHex) }
    func revocationStatus(serialHex: String) async throws -> RevocationStatus { .good }
    func caChain() async throws -> [Certificate] { [pki.root] }
}

/// A manual clock shared by the test and the code under test.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    init(_ start: Date) { current = start }
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}
