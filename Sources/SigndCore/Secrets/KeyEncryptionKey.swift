import Crypto
import Foundation

/// Failures around secrets, with stable codes. Messages never contain secret material.
public struct SecretError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }
        /// The KEK is not 32 bytes / base64 of 32 bytes.
        public static let kekInvalid = Code(rawValue: "kek.invalid")
        public static let kekMissing = Code(rawValue: "kek.missing")
        public static let kekUnreadable = Code(rawValue: "kek.unreadable")
        /// A secret was sealed under another KEK.
        public static let kekWrongKey = Code(rawValue: "kek.wrongKey")
        /// A stored secret failed authentication.
        public static let kekDecryptFailed = Code(rawValue: "kek.decryptFailed")
        /// A secret file (`*_FILE`) cannot be read.
        public static let secretUnreadable = Code(rawValue: "secret.unreadable")
    }
    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public init(code: String, message: String) {
        self.init(code: Code(rawValue: code), message: message)
    }
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}

/// The key-encryption key (KEK) that protects private keys at rest (AES-256-GCM).
///
/// Sources, in order: `SIGND_KEK` (base64 of 32 bytes), `SIGND_KEK_FILE` (a file holding the
/// base64 text or 32 raw bytes), else `<data-dir>/secrets/kek`, created 0600 on first use. The
/// default file keeps a fresh machine working with no setup; production deployments point
/// `SIGND_KEK_FILE` at a secret mounted from outside the data directory (docs/security.md).
public struct KeyEncryptionKey: @unchecked Sendable {
    let key: SymmetricKey
    /// Identifies the KEK without revealing it: first 8 bytes of SHA-256 over the key, hex.
    public let id: String
    /// Where it came from: "env", "file:<path>" or "default:<path>".
    public let origin: String

    public init(rawKey: [UInt8], origin: String) throws {
        guard rawKey.count == 32 else {
            throw SecretError(code: .kekInvalid, message: "the key-encryption key must be 32 bytes (base64 of 32 random bytes); generate one with `head -c 32 /dev/urandom | base64`")
        }
        key = SymmetricKey(data: rawKey)
        id = Hex.encode(Array(SHA256.hash(data: rawKey + Array("signd-kek-id".utf8))).prefix(8))
        self.origin = origin
    }

    public static func load(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            createIfMissing: Bool = true) throws -> KeyEncryptionKey {
        if let text = environment["SIGND_KEK"], !text.isEmpty {
            guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw SecretError(code: .kekInvalid, message: "SIGND_KEK is not base64; set it to the base64 of 32 random bytes")
            }
            return try KeyEncryptionKey(rawKey: Array(raw), origin: "env")
        }
        if let path = environment["SIGND_KEK_FILE"], !path.isEmpty {
            return try KeyEncryptionKey(rawKey: try readKeyFile(path), origin: "file:\(path)")
        }
        let path = dataDirectory + "/secrets/kek"
        if FileManager.default.fileExists(atPath: path) {
            return try KeyEncryptionKey(rawKey: try readKeyFile(path), origin: "default:\(path)")
        }
        guard createIfMissing else {
            throw SecretError(code: .kekMissing, message: "no key-encryption key: set SIGND_KEK or SIGND_KEK_FILE, or run `signd init --data-dir \(dataDirectory)`")
        }
        var raw = [UInt8](repeating: 0, count: 32)
        for i in raw.indices { raw[i] = UInt8.random(in: 0...255) }
        try SecureFile.write(Array(Data(raw).base64EncodedString().utf8), to: path)
        return try KeyEncryptionKey(rawKey: raw, origin: "default:\(path)")
    }

    static func readKeyFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError(code: .kekUnreadable, message: "cannot read the key-encryption key file \(path); check the path and that signd may read it")
        }
        if data.count == 32 { return Array(data) }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text) else {
            throw SecretError(code: .kekInvalid, message: "\(path) holds neither 32 raw bytes nor base64 of 32 bytes")
        }
        return Array(raw)
    }

    /// Encrypts `plaintext`; `context` (e.g. "tsa-key") is bound as associated data so a blob
    /// cannot be swapped for another purpose.
    public func seal(_ plaintext: [UInt8], context: String) throws -> EncryptedBlob {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
        return EncryptedBlob(version: 1, algorithm: "AES-256-GCM", kekID: id, context: context,
                             nonce: Array(box.nonce), ciphertext: Array(box.ciphertext), tag: Array(box.tag))
    }

    public func open(_ blob: EncryptedBlob) throws -> [UInt8] {
        guard blob.kekID == id else {
            throw SecretError(code: .kekWrongKey, message: "this secret was encrypted under KEK \(blob.kekID), but the configured KEK is \(id); configure the right KEK or rotate with `signd keys rotate-kek`")
        }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: blob.nonce), ciphertext: blob.ciphertext, tag: blob.tag)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(blob.context.utf8)))
        } catch {
            throw SecretError(code: .kekDecryptFailed, message: "a stored secret (\(blob.context)) failed authentication: it was altered or belongs to another KEK")
        }
    }
}

/// A secret encrypted under a ``KeyEncryptionKey``; stored as JSON.
public struct EncryptedBlob: Codable, Sendable, Hashable {
    public var version: Int
    public var algorithm: String
    public var kekID: String
    public var context: String
    public var nonce: [UInt8]
    public var ciphertext: [UInt8]
    public var tag: [UInt8]
}

/// Files that hold secrets: created 0600, written atomically.
public enum SecureFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let writer = try AtomicFileWriter(path: path, mode: 0o600)
        try writer.write(bytes)
        try writer.commit()
    }

    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try write(Array(try encoder.encode(value)), to: path)
    }

    public static func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError(code: .secretUnreadable, message: "cannot read \(path)")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }
}
