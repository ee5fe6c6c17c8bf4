import ArgumentParser
import Audit
import CertificateAuthority
import CertificateLifecycle
import Foundation
import SigndCore
import StateStore

/// The object graph, built here and passed down (no singletons).
enum Composition {
    static func statePath(_ dir: String) -> String { dir + "/state.sqlite" }
    static func auditPath(_ dir: String) -> String { dir + "/audit.sqlite" }

    static func kek(_ dir: String) throws -> KeyEncryptionKey { try KeyEncryptionKey.load(dataDirectory: dir) }

    static func database(_ dir: String) throws -> StateDatabase { try StateDatabase(path: statePath(dir)) }

    static func audit(_ dir: String) throws -> AuditLog { try AuditLog(path: auditPath(dir)) }

    static func embeddedCA(dataDirectory dir: String, configuration: SigndConfiguration) throws -> EmbeddedCA {
        let algorithm = configuration.ca?.keyAlgorithm.flatMap(KeyType.init(rawValue:)) ?? .p256
        return try EmbeddedCA.loadOrCreate(dataDirectory: dir, kek: try kek(dir), profiles: try configuration.profiles, keyAlgorithm: algorithm)
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

    static func enrollment(dataDirectory dir: String, configuration: SigndConfiguration) throws -> EnrollmentService {
        EnrollmentService(database: try database(dir), ca: try certificateAuthority(dataDirectory: dir, configuration: configuration), kek: try kek(dir))
    }
}

/// Used by the device commands (removing a device revokes its certificates).
func makeCertificateAuthority(dataDirectory: String) async throws -> any CertificateAuthorityService {
    try Composition.certificateAuthority(dataDirectory: dataDirectory, configuration: try SigndConfiguration.load(path: nil))
}
