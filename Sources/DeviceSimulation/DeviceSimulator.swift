import Crypto
import Foundation
import Jobs
import SCA
import SigndCore
import SwiftASN1
import X509

/// A stand-in for the user's phone, for integrators and tests: a P-256 key pair kept in a
/// directory the simulator owns (`device-key.pem`, mode 0600, PKCS#8 PEM; `device-public.pem`,
/// SubjectPublicKeyInfo PEM), and the things the phone does with it: a CSR, an authorization
/// statement for a job, a complete sign manifest, and the ECDSA signature over a DTBS (external
/// mode).
public struct DeviceSimulator: @unchecked Sendable {
    public static let privateKeyFileName = "device-key.pem"
    public static let publicKeyFileName = "device-public.pem"

    public let privateKey: P256.Signing.PrivateKey
    /// The directory the key lives in (nil for an in-memory device).
    public let directory: String?

    /// An in-memory device (tests).
    public init(privateKey: P256.Signing.PrivateKey = P256.Signing.PrivateKey()) {
        self.privateKey = privateKey
        self.directory = nil
    }

    /// Loads the device key from `directory`.
    public init(directory: String) throws {
        let path = directory + "/" + Self.privateKeyFileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SCAError(code: .simNoDevice, message: "no device key at \(path); create one with `signd device-sim create --dir \(directory)`")
        }
        do {
            privateKey = try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self))
        } catch {
            throw SCAError(code: .simBadKey, message: "\(path) is not a PEM EC P-256 private key")
        }
        self.directory = directory
    }

    /// Creates a new device key pair in `directory` (created 0700 if missing). Refuses to replace
    /// an existing key: it is the device's identity.
    public static func create(directory: String) throws -> DeviceSimulator {
        let keyPath = directory + "/" + privateKeyFileName
        if FileManager.default.fileExists(atPath: keyPath) {
            throw SCAError(code: .simExists, message: "\(keyPath) already exists; use another --dir for a new device, or delete it to start over")
        }
        let key = P256.Signing.PrivateKey()
        try SecureFile.write(Array(key.pemRepresentation.utf8) + [0x0A], to: keyPath)
        let publicPath = directory + "/" + publicKeyFileName
        let writer = try AtomicFileWriter(path: publicPath, mode: 0o644)
        try writer.write(Array(key.publicKey.pemRepresentation.utf8) + [0x0A])
        try writer.commit()
        return try DeviceSimulator(directory: directory)
    }

    public var publicKey: P256.Signing.PublicKey { privateKey.publicKey }
    public var publicKeyPEM: String { publicKey.pemRepresentation + "\n" }
    public var publicKeyPath: String? { directory.map { $0 + "/" + Self.publicKeyFileName } }

    // MARK: CSR

    /// A PKCS#10 request for the device key, signed by it (ECDSA with SHA-256), for `subject`
    /// (RFC 4514, see ``SubjectName``). Returns DER.
    public func csr(subject: String) throws -> [UInt8] {
        let name = try SubjectName.parse(subject)
        let request = try CertificateSigningRequest(version: .v1, subject: name, privateKey: .init(privateKey),
                                                    attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }

    public func csrPEM(subject: String) throws -> String {
        try PEMDocument(type: "CERTIFICATE REQUEST", derBytes: csr(subject: subject)).pemString + "\n"
    }

    // MARK: Authorization

    /// 24 random base64url characters (144 bits).
    public static func makeNonce<R: RandomNumberGenerator>(using generator: inout R) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return String((0..<24).map { _ in alphabet[Int(generator.next() % 64)] })
    }

    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return makeNonce(using: &generator)
    }

    /// The (version-2) statement for one job, valid from `now` for `expiresIn` seconds (default
    /// 300). `appearanceSha256`: ``SignManifest/appearanceSha256`` of the job as the daemon will
    /// resolve it (default: no appearance texts at all).
    public static func statement(jobId: String, documentSHA256: String, userId: String, deviceId: String, level: SignatureLevel,
                                 mode: SigningMode = .cloud, appearanceSha256: String = ApprovedAppearance.sha256Hex(nil),
                                 now: Date, expiresIn: TimeInterval = 300, nonce: String = DeviceSimulator.makeNonce()) -> AuthorizationStatement {
        let start = Int64(now.timeIntervalSince1970.rounded(.down))
        // Clamped: a lifetime beyond 10 years (or NaN) is no lifetime the verifier accepts anyway,
        // and must not trap in the conversion.
        let lifetime = expiresIn.isFinite ? Int64(min(max(expiresIn, 0), 315_360_000).rounded()) : 0
        return AuthorizationStatement(jobId: jobId, documentSha256: documentSHA256.lowercased(), deviceId: deviceId, userId: userId,
                                      level: level, mode: mode, appearanceSha256: appearanceSha256.lowercased(),
                                      notBefore: start, expiresAt: start + lifetime, nonce: nonce)
    }

    /// Signs `statement` and wraps it as a device-signature authorization.
    public func authorize(_ statement: AuthorizationStatement, format: ECDSASignatureFormat = .der) throws -> Authorization {
        let signature = try privateKey.signature(for: statement.canonicalBytes)
        let bytes = format == .der ? Array(signature.derRepresentation) : Array(signature.rawRepresentation)
        return Authorization(kind: AuthorizationKind.deviceSignature, statement: statement, signature: Data(bytes).base64EncodedString(),
                             signatureFormat: format.rawValue)
    }

    /// The authorization for a job over the PDF at `documentPath` (its SHA-256 is computed here)
    /// and the appearance the daemon will sign: `appearance` as the manifest gives it, merged
    /// over the spool's `spoolDefaults` (the daemon does the same when it reads the manifest).
    public func authorize(jobId: String, documentPath: String, userId: String, deviceId: String, level: SignatureLevel,
                          mode: SigningMode = .cloud, appearance: SignManifest.Appearance? = nil,
                          spoolDefaults: SignManifest.Appearance? = nil, now: Date, expiresIn: TimeInterval = 300,
                          format: ECDSASignatureFormat = .der) throws -> Authorization {
        let digest = try FileDigest.sha256Hex(path: documentPath)
        let resolved = ManifestDefaults.merge(appearance, under: spoolDefaults)
        return try authorize(Self.statement(jobId: jobId, documentSHA256: digest, userId: userId, deviceId: deviceId, level: level,
                                            mode: mode, appearanceSha256: ApprovedAppearance.sha256Hex(resolved),
                                            now: now, expiresIn: expiresIn), format: format)
    }

    /// A complete, valid version-1 sign manifest for the PDF at `pdfPath`: file name, digest,
    /// signer, mode, level, `appearance` (written as given) and (cloud mode) a fresh
    /// device-signature authorization whose statement approves the appearance the daemon will
    /// sign — `appearance` merged over the spool's `spoolDefaults` (the spool's
    /// `spools[].appearance`; leave it nil for a spool without appearance defaults). In
    /// external mode the device's signature over the DTBS is the SCA proof, so no authorization
    /// is added.
    public func manifest(pdfPath: String, jobId: String, userId: String, deviceId: String, level: SignatureLevel = .bt,
                         mode: SigningMode = .cloud, appearance: SignManifest.Appearance? = nil,
                         spoolDefaults: SignManifest.Appearance? = nil, now: Date, expiresIn: TimeInterval = 300) throws -> SignManifest {
        let fileName = (pdfPath as NSString).lastPathComponent
        let digest = try FileDigest.sha256Hex(path: pdfPath)
        var authorization: Authorization?
        if mode == .cloud {
            let resolved = ManifestDefaults.merge(appearance, under: spoolDefaults)
            authorization = try authorize(Self.statement(jobId: jobId, documentSHA256: digest, userId: userId, deviceId: deviceId,
                                                         level: level, mode: mode, appearanceSha256: ApprovedAppearance.sha256Hex(resolved),
                                                         now: now, expiresIn: expiresIn))
        }
        let manifest = SignManifest(jobId: jobId, document: .init(file: fileName, sha256: digest), signer: .init(userId: userId, deviceId: deviceId),
                                    mode: mode, level: level, appearance: appearance, authorization: authorization)
        do { try ManifestValidator.validate(manifest) } catch let e as ManifestError {
            throw SCAError(code: e.code.rawValue, message: e.message)
        }
        return manifest
    }

    // MARK: External mode

    /// ECDSA P-256 / SHA-256 over the DTBS (the DER signed attributes, hashed here), DER-encoded.
    public func signDTBS(_ dtbs: [UInt8]) throws -> [UInt8] {
        Array(try privateKey.signature(for: dtbs).derRepresentation)
    }

    /// A pending-signature request as the orchestrator relays it: `{"jobId", "dtbs" (base64)}`
    /// (other fields are ignored).
    public struct PendingDTBS: Codable, Sendable {
        public var jobId: String
        public var dtbs: String
    }

    /// The answer for `signatures/`: `{"jobId", "signature" (base64 DER)}`.
    public struct DTBSSignature: Codable, Sendable, Hashable {
        public var jobId: String
        public var signature: String
    }

    public func signPending(_ json: Data) throws -> DTBSSignature {
        let pending: PendingDTBS
        do { pending = try JSONDecoder().decode(PendingDTBS.self, from: json) } catch {
            throw SCAError(code: .simBadDTBS, message: "the pending file is not JSON with string fields \"jobId\" and \"dtbs\"")
        }
        guard let dtbs = Data(base64Encoded: pending.dtbs), !dtbs.isEmpty else {
            throw SCAError(code: .simBadDTBS, message: "\"dtbs\" of job \(pending.jobId) is not base64")
        }
        return DTBSSignature(jobId: pending.jobId, signature: Data(try signDTBS(Array(dtbs))).base64EncodedString())
    }
}

/// SHA-256 of a file, read in 1 MiB chunks.
public enum FileDigest {
    public static func sha256Hex(path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SCAError(code: .ioRead, message: "cannot open \(path); check that the file exists and is readable")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 20) } catch {
                throw SCAError(code: .ioRead, message: "reading \(path) failed: \(error)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
        }
        return Hex.encode(Array(hasher.finalize()))
    }
}
