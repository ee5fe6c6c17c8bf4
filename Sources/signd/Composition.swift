import ArgumentParser
import Audit
import CertificateAuthority
import CertificateLifecycle
import Crypto
import Foundation
import SCA
import SwiftASN1
import X509
import SigndCore
import StateStore
import Timestamping

/// The object graph, built here and passed down (no singletons).
enum Composition {
    static func statePath(_ dir: String) -> String { dir + "/state.sqlite" }
    static func auditPath(_ dir: String) -> String { dir + "/audit.sqlite" }

    static func kek(_ dir: String) throws -> KeyEncryptionKey { try KeyEncryptionKey.load(dataDirectory: dir) }

    static func database(_ dir: String) throws -> StateDatabase { try StateDatabase(path: statePath(dir)) }

    static func audit(_ dir: String) throws -> AuditLog { try AuditLog(path: auditPath(dir)) }

    static func embeddedCA(dataDirectory dir: String, configuration: SigndConfiguration) throws -> EmbeddedCA {
        let algorithm = configuration.ca?.keyAlgorithm.flatMap(KeyType.init(rawValue:)) ?? .p256
        var profiles = configuration.ca?.profiles ?? []
        if !profiles.contains(where: { $0.name == EmbeddedCATSAIssuer.profileName }) { profiles.append(EmbeddedCATSAIssuer.profile) }
        return try EmbeddedCA.loadOrCreate(dataDirectory: dir, kek: try kek(dir), profiles: try CertificateProfiles(profiles), keyAlgorithm: algorithm)
    }

    /// The embedded TSA's identity: issued by the embedded CA (or self-rooted when the CA is EJBCA).
    static func tsaIdentity(dataDirectory dir: String, configuration: SigndConfiguration) throws -> TSAIdentity {
        let issuer: (any TSACertificateIssuer)? = (configuration.ca?.kind ?? "embedded") == "embedded"
            ? EmbeddedCATSAIssuer(ca: try embeddedCA(dataDirectory: dir, configuration: configuration)) : nil
        return try TSAIdentity.loadOrCreate(dataDirectory: dir, kek: try kek(dir), issuer: issuer)
    }

    /// The CA signd enrolls through: the embedded CA, or EJBCA when `ca.kind` is `ejbca`.
    static func certificateAuthority(dataDirectory dir: String, configuration: SigndConfiguration) throws -> any CertificateAuthorityService {
        switch configuration.ca?.kind ?? "embedded" {
        case "embedded": return try embeddedCA(dataDirectory: dir, configuration: configuration)
        case "ejbca":
            guard let ejbca = configuration.ca?.ejbca else { throw ValidationError("ca.kind is ejbca but ca.ejbca is not configured") }
            return try EJBCAClient(configuration: ejbca)
        case let other: throw ValidationError("ca.kind '\(other)' is unknown; use embedded or ejbca")
        }
    }

    /// The daemon's SCA authorizer: device-signature always; with PowerAuth configured
    /// (`sca.powerauth`, `SIGND_POWERAUTH_*`) also powerauth-operation, and device signatures
    /// through PowerAuth when `sca.powerauth.verifyDeviceSignatures` is true.
    static func authorizer(database: StateDatabase, configuration: SigndConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> (authorizer: CompositeAuthorizer, sca: SCAConfiguration, powerAuth: PowerAuthClientConfiguration?) {
        let sca = try configuration.scaConfiguration
        let powerAuthConfiguration = try configuration.powerAuthClientConfiguration(environment: environment)
        if sca.verifyDeviceSignaturesWithPowerAuth, powerAuthConfiguration == nil {
            throw ConfigurationError("config.invalidValue", "sca.powerauth.verifyDeviceSignatures is true but no PowerAuth URL is set (sca.powerauth.url or SIGND_POWERAUTH_URL)")
        }
        let client = try powerAuthConfiguration.map { try PowerAuthClient(configuration: $0) }
        return (CompositeAuthorizer(database: database, configuration: sca, powerAuth: client), sca, powerAuthConfiguration)
    }

    static func enrollment(dataDirectory dir: String, configuration: SigndConfiguration) throws -> EnrollmentService {
        EnrollmentService(database: try database(dir), ca: try certificateAuthority(dataDirectory: dir, configuration: configuration), kek: try kek(dir))
    }
}

/// Used by the device commands (removing a device revokes its certificates through the CA the
/// configuration names: the embedded one or EJBCA).
func makeCertificateAuthority(dataDirectory: String, configuration: SigndConfiguration) async throws -> any CertificateAuthorityService {
    try Composition.certificateAuthority(dataDirectory: dataDirectory, configuration: configuration)
}

/// Issues the embedded TSA's certificate from the embedded CA under the `tsa` profile.
struct EmbeddedCATSAIssuer: TSACertificateIssuer {
    static let profileName = "tsa"
    /// RFC 3161 2.3: exactly one, critical, EKU id-kp-timeStamping.
    static let profile = CertificateProfile(
        name: profileName, validitySeconds: 5 * 365 * 86_400, keyUsage: [.digitalSignature, .nonRepudiation],
        extendedKeyUsage: ["timeStamping"], extendedKeyUsageCritical: true,
        requiredSubjectAttributes: ["CN"], allowedSubjectAttributes: ["CN", "O", "OU", "C"], allowedKeyTypes: [.p256])
    let ca: EmbeddedCA

    func issueTSACertificate(key: P256.Signing.PrivateKey, subject: DistinguishedName) throws -> (certificate: Certificate, chain: [Certificate]) {
        let csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: .init(key),
                                                attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        let issued = try ca.issue(EnrollmentRequest(csrDER: serializer.serializedBytes, profile: Self.profileName, userId: "signd", deviceId: "embedded-tsa"))
        return (issued.certificate, issued.chain)
    }
}
