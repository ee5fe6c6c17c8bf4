import Foundation
import NIOSSL

/// The TLS client configuration for EJBCA: the client certificate and key (PEM files or one
/// PKCS#12 file) that EJBCA maps to an administrator role, and the roots that must sign EJBCA's
/// server certificate (system store when none are configured). Hostname verification stays on.
enum EJBCATLS {
    static func configuration(_ config: EJBCAConfiguration, environment: [String: String]) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let p12 = config.clientPKCS12Path {
            let password = try EJBCAConfiguration.secret(config.pkcs12PasswordEnvironmentVariable, environment: environment)
            let bytes = try read(p12, what: "clientPKCS12Path")
            do {
                let bundle = try NIOSSLPKCS12Bundle(buffer: bytes, passphrase: password.map { Array($0.utf8) })
                tls.certificateChain = bundle.certificateChain.map { .certificate($0) }
                tls.privateKey = .privateKey(bundle.privateKey)
            } catch {
                throw CertificateAuthorityError(.configuration, "the PKCS#12 file \(p12) cannot be opened (wrong \(config.pkcs12PasswordEnvironmentVariable)?): \(error)")
            }
        } else if config.clientCertificatePath != nil || config.clientKeyPath != nil {
            guard let certPath = config.clientCertificatePath, let keyPath = config.clientKeyPath else {
                throw CertificateAuthorityError(.configuration, "EJBCA client TLS needs both clientCertificatePath and clientKeyPath (or clientPKCS12Path)")
            }
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(read(certPath, what: "clientCertificatePath")).map { .certificate($0) }
            } catch let e as CertificateAuthorityError {
                throw e
            } catch {
                throw CertificateAuthorityError(.configuration, "\(certPath) is not a PEM certificate file: \(error)")
            }
            guard !tls.certificateChain.isEmpty else {
                throw CertificateAuthorityError(.configuration, "\(certPath) holds no PEM certificate")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: read(keyPath, what: "clientKeyPath"), format: .pem))
            } catch let e as CertificateAuthorityError {
                throw e
            } catch {
                throw CertificateAuthorityError(.configuration, "\(keyPath) is not an unencrypted PEM private key: \(error)")
            }
        }
        if let roots = config.trustRootsPath {
            do {
                let certificates = try NIOSSLCertificate.fromPEMBytes(read(roots, what: "trustRootsPath"))
                guard !certificates.isEmpty else { throw CertificateAuthorityError(.configuration, "\(roots) holds no PEM certificate") }
                tls.trustRoots = .certificates(certificates)
            } catch let e as CertificateAuthorityError {
                throw e
            } catch {
                throw CertificateAuthorityError(.configuration, "\(roots) is not a PEM certificate file: \(error)")
            }
        }
        return tls
    }

    private static func read(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CertificateAuthorityError(.configuration, "cannot read \(what) \(path); check the path and that signd may read it")
        }
        return Array(data)
    }
}
