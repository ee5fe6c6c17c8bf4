import Crypto
import Foundation
import CMSSigning
import SigndCore
import SwiftASN1
import X509

/// Issues the TSA certificate from a CA (the embedded CA): for `key`, with `subject`; returns
/// the certificate and its chain, issuing CA first, root last.
public protocol TSACertificateIssuer: Sendable {
    func issueTSACertificate(key: P256.Signing.PrivateKey, subject: DistinguishedName) throws -> (certificate: Certificate, chain: [Certificate])
}

/// The embedded TSA's key and certificates under `<data-dir>/tsa/`:
/// `tsa.pem` (TSA certificate), `chain.pem` (its issuers, issuing CA first, root last),
/// `root.pem` (the trust anchor), `tsa-key.json` (key encrypted under the KEK, mode 0600).
/// Created on first use: issued by the embedded CA when an issuer is given, else under a
/// self-contained TSA root (`root-key.json`, e.g. when the CA is EJBCA). The TSA certificate has
/// exactly one, critical, EKU id-kp-timeStamping.
public struct TSAIdentity: Sendable {
    public let signer: PrivateKeySigner
    /// Issuers of the TSA certificate, issuing CA first, root last.
    public let chain: [Certificate]
    public var root: Certificate { chain.last! }
    public var certificate: Certificate { signer.certificate }

    public static func loadOrCreate(dataDirectory: String, kek: KeyEncryptionKey, issuer: (any TSACertificateIssuer)? = nil,
                                    now: Date = Date()) throws -> TSAIdentity {
        let dir = dataDirectory + "/tsa"
        let certPath = dir + "/tsa.pem", rootPath = dir + "/root.pem", keyPath = dir + "/tsa-key.json", chainPath = dir + "/chain.pem"
        if FileManager.default.fileExists(atPath: certPath) {
            do {
                let cert = try KeyFiles.certificate(path: certPath)
                let chain = FileManager.default.fileExists(atPath: chainPath)
                    ? try KeyFiles.certificates(path: chainPath) : [try KeyFiles.certificate(path: rootPath)]
                let keyDER = try kek.open(SecureFile.readJSON(EncryptedBlob.self, from: keyPath))
                let key = try P256.Signing.PrivateKey(derRepresentation: keyDER)
                return TSAIdentity(signer: try PrivateKeySigner(key: .p256(key), certificate: cert), chain: chain)
            } catch let e as SecretError {
                throw TimestampError(.identity, "the embedded TSA key in \(dir) cannot be opened: \(e.message)")
            } catch {
                throw TimestampError(.identity, "the embedded TSA identity in \(dir) is damaged (\(error)); move \(dir) aside to create a new one")
            }
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let subject = try DistinguishedName { CommonName("signd embedded TSA"); OrganizationName("signd") }
        if let issuer {
            let tsaKey = P256.Signing.PrivateKey()
            let issued: (certificate: Certificate, chain: [Certificate])
            do { issued = try issuer.issueTSACertificate(key: tsaKey, subject: subject) } catch {
                throw TimestampError(.identity, "the CA could not issue the embedded TSA's certificate: \(error)")
            }
            guard let root = issued.chain.last else { throw TimestampError(.identity, "the CA returned no chain for the TSA certificate") }
            try SecureFile.writeJSON(try kek.seal(Array(tsaKey.derRepresentation), context: "tsa-key"), to: keyPath)
            try PEM.write(issued.chain, to: chainPath)
            try PEM.write([root], to: rootPath)
            try PEM.write([issued.certificate], to: certPath)
            return TSAIdentity(signer: try PrivateKeySigner(key: .p256(tsaKey), certificate: issued.certificate), chain: issued.chain)
        }
        let rootKey = P256.Signing.PrivateKey()
        let rootName = try DistinguishedName { CommonName("signd embedded TSA root"); OrganizationName("signd") }
        let root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(rootKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(20 * 365 * 86_400),
            issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(rootKey.publicKey))
            },
            issuerPrivateKey: .init(rootKey))
        let tsaKey = P256.Signing.PrivateKey()
        let tsa = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(tsaKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: rootName,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, nonRepudiation: true))
                Critical(try ExtendedKeyUsage([.timeStamping]))
                SubjectKeyIdentifier(hash: .init(tsaKey.publicKey))
                AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: .init(rootKey.publicKey)).keyIdentifier)
            },
            issuerPrivateKey: .init(rootKey))
        try SecureFile.writeJSON(try kek.seal(Array(rootKey.derRepresentation), context: "tsa-root-key"), to: dir + "/root-key.json")
        try SecureFile.writeJSON(try kek.seal(Array(tsaKey.derRepresentation), context: "tsa-key"), to: keyPath)
        try PEM.write([root], to: rootPath)
        try PEM.write([root], to: chainPath)
        try PEM.write([tsa], to: certPath)
        return TSAIdentity(signer: try PrivateKeySigner(key: .p256(tsaKey), certificate: tsa), chain: [root])
    }

    /// An authority serving with this identity, its serials in `<data-dir>/tsa/serial`.
    public func authority(dataDirectory: String, policy: ASN1ObjectIdentifier = TimeStampAuthority.defaultPolicy) -> TimeStampAuthority {
        TimeStampAuthority(signer: signer, chain: chain, policy: policy, serials: FileSerialSource(path: dataDirectory + "/tsa/serial"))
    }
}

/// PEM output of certificates.
public enum PEM {
    public static func encode(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }

    public static func write(_ certificates: [Certificate], to path: String) throws {
        let writer = try AtomicFileWriter(path: path, mode: 0o644)
        try writer.write(Array(try encode(certificates).utf8))
        try writer.commit()
    }
}

extension SubjectKeyIdentifier {
    /// SHA-1 of the public key bits (RFC 5280 4.2.1.2 method 1).
    init(hash publicKey: Certificate.PublicKey) {
        self.init(keyIdentifier: ArraySlice(Insecure.SHA1.hash(data: Array(publicKey.subjectPublicKeyInfoBytes))))
    }
}
