import Foundation
import PKIStructures
import X509

/// A certificate issued by a CA, with its chain (issuing CA first, root last).
public struct IssuedCertificate: Sendable {
    public var certificate: Certificate
    public var chain: [Certificate]
    public init(certificate: Certificate, chain: [Certificate]) {
        self.certificate = certificate
        self.chain = chain
    }
}

/// What signd asks a CA to do for a device.
public struct EnrollmentRequest: Sendable {
    /// DER PKCS#10 request, signed with the device (or cloud) key.
    public var csrDER: [UInt8]
    public var profile: String
    public var userId: String
    public var deviceId: String
    /// DER SubjectPublicKeyInfo of the key registered for the device, when there is one: the
    /// CSR's public key must then be exactly this key (`csr.keyMismatch` otherwise).
    public var expectedPublicKeyDER: [UInt8]?
    public init(csrDER: [UInt8], profile: String, userId: String, deviceId: String, expectedPublicKeyDER: [UInt8]? = nil) {
        self.csrDER = csrDER
        self.profile = profile
        self.userId = userId
        self.deviceId = deviceId
        self.expectedPublicKeyDER = expectedPublicKeyDER
    }
}

extension RevocationReason {
    /// EJBCA REST `reason` parameter.
    public var ejbcaName: String {
        switch self {
        case .unspecified: return "UNSPECIFIED"
        case .keyCompromise: return "KEY_COMPROMISE"
        case .caCompromise: return "CA_COMPROMISE"
        case .affiliationChanged: return "AFFILIATION_CHANGED"
        case .superseded: return "SUPERSEDED"
        case .cessationOfOperation: return "CESSATION_OF_OPERATION"
        case .certificateHold: return "CERTIFICATE_HOLD"
        case .removeFromCRL: return "REMOVE_FROM_CRL"
        case .privilegeWithdrawn: return "PRIVILEGES_WITHDRAWN"
        case .aaCompromise: return "AA_COMPROMISE"
        }
    }
}

/// Revocation state of one certificate as the CA knows it.
public enum RevocationStatus: Sendable, Equatable {
    case good
    case revoked(at: Date, reason: RevocationReason)
    case unknown
}

/// A Certification Authority signd enrolls through: the embedded CA, or EJBCA in production.
/// Errors are ``CertificateAuthorityError``; `retryable` tells the renewal scheduler whether
/// trying later may help (CA unreachable, HTTP 5xx).
public protocol CertificateAuthorityService: Sendable {
    /// Issues a certificate from a CSR under a profile.
    func enroll(_ request: EnrollmentRequest) async throws -> IssuedCertificate
    /// Revokes a certificate by serial (hex, as in certificate records).
    func revoke(serialHex: String, reason: RevocationReason, at date: Date) async throws
    func revocationStatus(serialHex: String) async throws -> RevocationStatus
    /// The CA chain, issuing CA first, root last.
    func caChain() async throws -> [Certificate]
}

/// The one error type of CA work, with stable codes.
public struct CertificateAuthorityError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        public static let csrMalformed = Code(rawValue: "csr.malformed")
        public static let csrBadSignature = Code(rawValue: "csr.badSignature")
        public static let csrKeyNotAllowed = Code(rawValue: "csr.keyNotAllowed")
        public static let csrMissingAttribute = Code(rawValue: "csr.missingAttribute")
        public static let csrAttributeNotAllowed = Code(rawValue: "csr.attributeNotAllowed")
        public static let csrKeyMismatch = Code(rawValue: "csr.keyMismatch")
        public static let unknownProfile = Code(rawValue: "ca.unknownProfile")
        public static let unknownCertificate = Code(rawValue: "ca.unknownCertificate")
        public static let unavailable = Code(rawValue: "ca.unavailable")
        public static let rejected = Code(rawValue: "ca.rejected")
        public static let badResponse = Code(rawValue: "ca.badResponse")
        public static let identity = Code(rawValue: "ca.identity")
        /// A subject attribute value is empty, too long, or not encodable as X.520 requires
        /// (e.g. C not two letters, serialNumber not PrintableString).
        public static let csrInvalidAttributeValue = Code(rawValue: "csr.invalidAttributeValue")
        /// A certificate profile is inconsistent (unknown attribute or key usage name, bad OID or URL).
        public static let invalidProfile = Code(rawValue: "ca.invalidProfile")
        /// The certificate is already revoked (only a certificateHold may be changed or released).
        public static let alreadyRevoked = Code(rawValue: "ca.alreadyRevoked")
        /// A revocation request that RFC 5280 does not allow (removeFromCRL for a certificate not on hold).
        public static let invalidRevocation = Code(rawValue: "ca.invalidRevocation")
        /// The CA's own registry database cannot be opened, read or written.
        public static let storage = Code(rawValue: "ca.storage")
        /// CA client configuration is incomplete or unreadable (EJBCA URL, TLS files, password).
        public static let configuration = Code(rawValue: "ca.configuration")
    }
    public let code: Code
    public let message: String
    public let retryable: Bool
    public init(_ code: Code, _ message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }
    public var description: String { "[\(code)] \(message)" }
}
