import Foundation

/// A manifest problem, with a stable code (docs/errors.md) and the JSON path.
///
/// Jobs does not depend on SigndCore: the Daemon makes it a `SigndError` and lists its codes.
public struct ManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let invalidJSON = Code(rawValue: "manifest.invalidJSON")
        public static let missingField = Code(rawValue: "manifest.missingField")
        public static let wrongType = Code(rawValue: "manifest.wrongType")
        public static let invalidValue = Code(rawValue: "manifest.invalidValue")
        public static let unsupportedVersion = Code(rawValue: "manifest.unsupportedVersion")
        public static let unsupportedType = Code(rawValue: "manifest.unsupportedType")
        public static let tooLarge = Code(rawValue: "manifest.tooLarge")
        public static let unsafePath = Code(rawValue: "manifest.unsafePath")
        /// An `authorization.kind` signd does not know.
        public static let unsupportedAuthorizationKind = Code(rawValue: "authorization.unsupportedKind")
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
    public var description: String { "[\(code)] \(message)" }
}

/// Parses and checks manifests strictly: unknown versions, missing fields, wrong types, unsafe
/// names and oversized inputs are rejected before anything else happens.
public enum ManifestValidator {
    public static let maximumManifestBytes = 64 * 1024

    /// `defaults`: the spool's defaults for a missing level and appearance texts.
    public static func parse(_ data: Data, defaults: ManifestDefaults? = nil) throws -> SignManifest {
        let type = try manifestType(data)
        guard type == "sign" else {
            throw ManifestError(code: .unsupportedType, message: "manifest type \"\(type)\" is not supported here")
        }
        return try decodeSign(data, defaults: defaults)
    }

    /// The checks every manifest passes before its type is decoded: size, JSON object, integer
    /// `version` 1, a `type` string. Returns the type.
    static func manifestType(_ data: Data) throws -> String {
        guard data.count <= maximumManifestBytes else {
            throw ManifestError(code: .tooLarge, message: "the manifest has \(data.count) bytes; the limit is \(maximumManifestBytes)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ManifestError(code: .invalidJSON, message: "the manifest is not valid JSON; write it as UTF-8 JSON per docs/schemas/manifest-v1.json")
        }
        guard let dict = object as? [String: Any] else {
            throw ManifestError(code: .invalidJSON, message: "the manifest must be a JSON object")
        }
        guard let version = dict["version"] as? Int else {
            throw ManifestError(code: .missingField, message: "the manifest has no integer \"version\"")
        }
        guard version == 1 else {
            throw ManifestError(code: .unsupportedVersion, message: "manifest version \(version) is not supported; this signd reads version 1")
        }
        guard let type = dict["type"] as? String else {
            throw ManifestError(code: .missingField, message: "the manifest has no \"type\"")
        }
        return type
    }

    /// Decodes and validates a sign manifest whose version and type were already checked.
    static func decodeSign(_ data: Data, defaults: ManifestDefaults? = nil) throws -> SignManifest {
        let manifest: SignManifest
        let decoder = JSONDecoder()
        if let defaults { decoder.userInfo[ManifestDefaults.userInfoKey] = defaults }
        do { manifest = try decoder.decode(SignManifest.self, from: data) } catch let DecodingError.keyNotFound(key, ctx) {
            throw ManifestError(code: .missingField, message: "missing field \(path(ctx.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw ManifestError(code: .wrongType, message: "field \(path(ctx.codingPath)) has the wrong type")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw ManifestError(code: .invalidValue, message: "field \(path(ctx.codingPath)) has an invalid value")
        } catch {
            throw ManifestError(code: .invalidJSON, message: "the manifest does not match the schema")
        }
        try validate(manifest)
        return manifest
    }

    public static func validate(_ m: SignManifest) throws {
        try checkID(m.jobId, "jobId")
        try checkID(m.signer.userId, "signer.userId")
        try checkID(m.signer.deviceId, "signer.deviceId")
        try checkFileName(m.document.file)
        try checkHex(m.document.sha256, "document.sha256")
        for (name, value) in [("reason", m.appearance?.reason), ("location", m.appearance?.location),
                              ("contactInfo", m.appearance?.contactInfo), ("name", m.appearance?.name)] {
            if let v = value, v.count > 512 {
                throw ManifestError(code: .invalidValue, message: "appearance.\(name) is longer than 512 characters")
            }
        }
        if let f = m.appearance?.fieldName {
            guard !f.isEmpty, f.count <= 128, !f.contains("."), f.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw ManifestError(code: .invalidValue, message: "appearance.fieldName must be 1-128 printable ASCII characters without '.'")
            }
        }
        if m.mode == .cloud && m.authorization == nil {
            throw ManifestError(code: .missingField, message: "a cloud-mode job needs an \"authorization\"")
        }
        if let a = m.authorization {
            switch a.kind {
            case "device-signature":
                guard let st = a.statement, let sig = a.signature else {
                    throw ManifestError(code: .missingField, message: "a device-signature authorization needs \"statement\" and \"signature\"")
                }
                try checkID(st.jobId, "authorization.statement.jobId")
                try checkID(st.deviceId, "authorization.statement.deviceId")
                try checkID(st.userId, "authorization.statement.userId")
                try checkHex(st.documentSha256, "authorization.statement.documentSha256")
                guard st.nonce.count >= 16, st.nonce.count <= 64,
                      st.nonce.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" || $0 == "_" }) else {
                    throw ManifestError(code: .invalidValue, message: "authorization.statement.nonce must be 16-64 base64url characters")
                }
                guard sig.count <= 1024, Data(base64Encoded: sig) != nil else {
                    throw ManifestError(code: .invalidValue, message: "authorization.signature must be base64")
                }
                if let f = a.signatureFormat, f != "DER", f != "JOSE" {
                    throw ManifestError(code: .invalidValue, message: "authorization.signatureFormat must be DER or JOSE")
                }
            case "powerauth-operation":
                guard let op = a.operationId else {
                    throw ManifestError(code: .missingField, message: "a powerauth-operation authorization needs \"operationId\"")
                }
                try checkID(op, "authorization.operationId")
            default:
                throw ManifestError(code: .unsupportedAuthorizationKind, message: "authorization kind \"\(a.kind)\" is not supported; use device-signature or powerauth-operation")
            }
        }
    }

    static func checkID(_ value: String, _ field: String) throws {
        let scalars = Array(value.unicodeScalars)
        guard (1...128).contains(scalars.count),
              scalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._:-".unicodeScalars.contains($0)) }),
              let first = scalars.first, CharacterSet.alphanumerics.contains(first) else {
            throw ManifestError(code: .invalidValue, message: "\(field) must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
        }
    }

    static func checkHex(_ value: String, _ field: String) throws {
        guard value.count == 64, value.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else {
            throw ManifestError(code: .invalidValue, message: "\(field) must be 64 lowercase hex digits (SHA-256)")
        }
    }

    /// A file name from a manifest never becomes a path outside the spool directory.
    public static func checkFileName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 255, !name.contains("/"), !name.contains("\\"), !name.contains("\0"),
              name != ".", name != "..", !name.hasPrefix("."), name.lowercased().hasSuffix(".pdf") else {
            throw ManifestError(code: .unsafePath, message: "document.file \"\(name)\" must be a plain file name ending in .pdf (no directories, no leading dot)")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
