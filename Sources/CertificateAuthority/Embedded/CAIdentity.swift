import Foundation
import PKIStructures
import SigndCore
import X509

/// The embedded CA's two certificates and the issuing key, under `<data>/ca/`:
///
/// | file | content | mode |
/// |---|---|---|
/// | `root.pem` | root CA certificate (self-signed, CA, pathLen 1, keyCertSign + cRLSign) | 0644 |
/// | `issuing.pem` | issuing CA certificate (CA, pathLen 0, keyCertSign + cRLSign + digitalSignature for OCSP) | 0644 |
/// | `root-key.json` | root private key, ``EncryptedBlob`` (AES-256-GCM under the KEK, context `ca-root-key`) | 0600 |
/// | `issuing-key.json` | issuing private key, ``EncryptedBlob`` (context `ca-issuing-key`) | 0600 |
///
/// Files are written keys first and `issuing.pem` last, so a CA exists exactly when
/// `issuing.pem` does; leftovers of an interrupted creation are overwritten.
struct CAIdentity: Sendable {
    let root: Certificate
    let issuing: Certificate
    let issuingKey: CASigningKey

    static func files(_ dir: String) -> (root: String, issuing: String, rootKey: String, issuingKey: String) {
        (dir + "/root.pem", dir + "/issuing.pem", dir + "/root-key.json", dir + "/issuing-key.json")
    }

    static func exists(in dir: String) -> Bool {
        FileManager.default.fileExists(atPath: files(dir).issuing)
    }

    /// Loads the CA; the root key is decrypted too, to prove the KEK opens both keys.
    static func load(from dir: String, kek: KeyEncryptionKey) throws -> CAIdentity {
        let f = files(dir)
        let root: Certificate, issuing: Certificate
        do {
            root = try KeyFiles.certificate(path: f.root)
            issuing = try KeyFiles.certificate(path: f.issuing)
        } catch {
            throw CertificateAuthorityError(.identity, "the embedded CA certificates in \(dir) cannot be read (\(error)); restore them from a backup")
        }
        let rootKey = try openKey(f.rootKey, certificate: root, kek: kek, dir: dir)
        let issuingKey = try openKey(f.issuingKey, certificate: issuing, kek: kek, dir: dir)
        _ = rootKey
        guard issuing.issuer == root.subject, root.publicKey.isValidSignature(issuing.signature, for: issuing) else {
            throw CertificateAuthorityError(.identity, "the issuing CA certificate in \(dir) was not issued by the root next to it")
        }
        return CAIdentity(root: root, issuing: issuing, issuingKey: issuingKey)
    }

    private static func openKey(_ path: String, certificate: Certificate, kek: KeyEncryptionKey, dir: String) throws -> CASigningKey {
        guard let type = KeyType(publicKey: certificate.publicKey) else {
            throw CertificateAuthorityError(.identity, "the embedded CA certificate \(certificate.subject) has an unsupported key type")
        }
        let der: [UInt8]
        do {
            der = try kek.open(SecureFile.readJSON(EncryptedBlob.self, from: path))
        } catch let e as SecretError {
            // Keep the kek.* code: it tells the operator the KEK is wrong, not the CA.
            throw CertificateAuthorityError(.init(rawValue: e.code.rawValue), "the embedded CA key \(path) cannot be opened: \(e.message)")
        } catch {
            throw CertificateAuthorityError(.identity, "the embedded CA key file \(path) is damaged (\(error)); restore it from a backup")
        }
        let key: CASigningKey
        do {
            key = try CASigningKey.load(der: der, type: type)
        } catch {
            throw CertificateAuthorityError(.identity, "the embedded CA key \(path) does not hold a \(type.rawValue) private key")
        }
        guard key.publicKey == certificate.publicKey else {
            throw CertificateAuthorityError(.identity, "the embedded CA key \(path) does not belong to the certificate \(certificate.subject)")
        }
        return key
    }

    /// Creates root and issuing CA with fresh keys of `keyType`.
    static func create(in dir: String, kek: KeyEncryptionKey, keyType: KeyType, options: EmbeddedCAOptions, now: Date) throws -> CAIdentity {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let f = files(dir)
        let start = X509Time.wholeSeconds(now).addingTimeInterval(-3600)
        let rootKey = try CASigningKey.generate(keyType)
        let issuingKey = try CASigningKey.generate(keyType)
        let rootName = try name(options.rootCommonName, options)
        let issuingName = try name(options.issuingCommonName, options)
        let rootSKI = KeyIdentifier.sha1(rootKey.publicKey)
        let root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: SerialNumberText.random()), publicKey: rootKey.publicKey,
            notValidBefore: start, notValidAfter: start.addingTimeInterval(TimeInterval(options.rootValiditySeconds)),
            issuer: rootName, subject: rootName, signatureAlgorithm: rootKey.signatureAlgorithm,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 1))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: rootSKI[...])
            },
            issuerPrivateKey: rootKey.privateKey)
        let issuing = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: SerialNumberText.random()), publicKey: issuingKey.publicKey,
            notValidBefore: start,
            notValidAfter: min(start.addingTimeInterval(TimeInterval(options.issuingValiditySeconds)), root.notValidAfter),
            issuer: rootName, subject: issuingName, signatureAlgorithm: rootKey.signatureAlgorithm,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: KeyIdentifier.sha1(issuingKey.publicKey)[...])
                AuthorityKeyIdentifier(keyIdentifier: rootSKI[...])
            },
            issuerPrivateKey: rootKey.privateKey)
        try SecureFile.writeJSON(try kek.seal(rootKey.derRepresentation, context: "ca-root-key"), to: f.rootKey)
        try SecureFile.writeJSON(try kek.seal(issuingKey.derRepresentation, context: "ca-issuing-key"), to: f.issuingKey)
        try CAPEM.write([root], to: f.root)
        try CAPEM.write([issuing], to: f.issuing)
        return CAIdentity(root: root, issuing: issuing, issuingKey: issuingKey)
    }

    private static func name(_ commonName: String, _ options: EmbeddedCAOptions) throws -> DistinguishedName {
        var rdns: [RelativeDistinguishedName] = []
        if let country = options.country {
            guard SubjectAttributeType.country.problem(with: country) == nil else {
                throw CertificateAuthorityError(.identity, "the CA country '\(country)' is not a two-letter ISO 3166 code in capitals")
            }
            rdns.append(RelativeDistinguishedName(try SubjectAttributeType.country.attribute(country)))
        }
        rdns.append(RelativeDistinguishedName(try SubjectAttributeType.organization.attribute(options.organization)))
        rdns.append(RelativeDistinguishedName(try SubjectAttributeType.commonName.attribute(commonName)))
        return DistinguishedName(rdns)
    }
}
