import Foundation

/// Any version-1 spool manifest, by its `type` (docs/spool.md, docs/schemas/manifest-v1.json).
public enum JobManifest: Sendable, Hashable {
    case sign(SignManifest)
    case enroll(EnrollManifest)
    case device(DeviceManifest)
    case revoke(RevokeManifest)

    public var jobId: String {
        switch self {
        case .sign(let m): return m.jobId
        case .enroll(let m): return m.jobId
        case .device(let m): return m.jobId
        case .revoke(let m): return m.jobId
        }
    }

    /// The manifest's `type`: `sign`, `enroll`, `device` or `revoke`.
    public var type: String {
        switch self {
        case .sign: return "sign"
        case .enroll: return "enroll"
        case .device: return "device"
        case .revoke: return "revoke"
        }
    }
}

/// `type: "enroll"`: issue a certificate for a registered, ACTIVE device, from the device's CSR
/// (`key: "csr"`) or with a key pair signd generates and keeps encrypted (`key: "cloud"`).
public struct EnrollManifest: Codable, Sendable, Hashable {
    public enum Key: String, Codable, Sendable, Hashable {
        case cloud, csr
    }
    public var version: Int
    public var type: String
    public var jobId: String
    public var userId: String
    public var deviceId: String
    public var key: Key
    /// `key: "csr"`: PEM PKCS#10 request signed with the device's registered key.
    public var csr: String?
    /// `key: "cloud"`: RFC 4514 subject, e.g. `CN=Jan Novak,serialNumber=D-1,C=CZ`.
    public var subject: String?
    /// Certificate profile (default `default`).
    public var profile: String?
    /// Re-enroll a device that already has an active certificate (it is superseded).
    public var renew: Bool?

    public init(jobId: String, userId: String, deviceId: String, key: Key, csr: String? = nil, subject: String? = nil,
                profile: String? = nil, renew: Bool? = nil) {
        self.version = 1
        self.type = "enroll"
        self.jobId = jobId
        self.userId = userId
        self.deviceId = deviceId
        self.key = key
        self.csr = csr
        self.subject = subject
        self.profile = profile
        self.renew = renew
    }
}

/// `type: "device"`: the device registry (docs/sca.md, Devices).
public struct DeviceManifest: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable, Hashable {
        case register, block, unblock, remove
    }
    public var version: Int
    public var type: String
    public var jobId: String
    public var action: Action
    public var userId: String
    public var deviceId: String
    /// `register` only: the device's EC P-256 public key, PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    public var publicKey: String?

    public init(jobId: String, action: Action, userId: String, deviceId: String, publicKey: String? = nil) {
        self.version = 1
        self.type = "device"
        self.jobId = jobId
        self.action = action
        self.userId = userId
        self.deviceId = deviceId
        self.publicKey = publicKey
    }
}

/// `type: "revoke"`: revoke one device certificate by `serial`, or every unrevoked certificate of
/// `deviceId`, with an RFC 5280 reason.
public struct RevokeManifest: Codable, Sendable, Hashable {
    public var version: Int
    public var type: String
    public var jobId: String
    /// Hex serial (any case; `0x` prefix and colons allowed).
    public var serial: String?
    public var deviceId: String?
    /// When given, the certificate(s) must belong to this user.
    public var userId: String?
    /// RFC 5280 5.3.1 reason name (``RevokeManifest/reasons``).
    public var reason: String

    /// The reason names a revoke job accepts: RFC 5280 5.3.1 without `removeFromCRL` (releasing a
    /// hold is not a revocation; use `signd ca revoke`).
    public static let reasons: [String] = [
        "unspecified", "keyCompromise", "caCompromise", "affiliationChanged", "superseded", "cessationOfOperation",
        "certificateHold", "privilegeWithdrawn", "aaCompromise",
    ]

    public init(jobId: String, serial: String? = nil, deviceId: String? = nil, userId: String? = nil, reason: String) {
        self.version = 1
        self.type = "revoke"
        self.jobId = jobId
        self.serial = serial
        self.deviceId = deviceId
        self.userId = userId
        self.reason = reason
    }

    /// The serial in canonical form: lowercase hex without `0x` and colons (nil when absent).
    public var normalizedSerial: String? {
        serial.map { s in
            var t = s.lowercased().replacingOccurrences(of: ":", with: "")
            if t.hasPrefix("0x") { t.removeFirst(2) }
            return t
        }
    }
}

extension ManifestValidator {
    /// The manifest types a spool reads.
    public static let supportedTypes = ["sign", "enroll", "device", "revoke"]

    /// Parses any version-1 manifest: `sign` exactly as ``parse(_:)``, and the administrative
    /// types `enroll`, `device` and `revoke`, with the same strictness and error codes.
    public static func parseJob(_ data: Data, defaults: ManifestDefaults? = nil) throws -> JobManifest {
        let type = try manifestType(data)
        switch type {
        case "sign":
            return .sign(try decodeSign(data, defaults: defaults))
        case "enroll":
            let m = try decode(EnrollManifest.self, from: data)
            try validate(m)
            return .enroll(m)
        case "device":
            let m = try decode(DeviceManifest.self, from: data)
            try validate(m)
            return .device(m)
        case "revoke":
            let m = try decode(RevokeManifest.self, from: data)
            try validate(m)
            return .revoke(m)
        default:
            throw ManifestError(code: .unsupportedType,
                                message: "manifest type \"\(type)\" is not supported; use one of \(supportedTypes.joined(separator: ", "))")
        }
    }

    public static func validate(_ m: EnrollManifest) throws {
        try checkID(m.jobId, "jobId")
        try checkID(m.userId, "userId")
        try checkID(m.deviceId, "deviceId")
        if let p = m.profile { try checkID(p, "profile") }
        switch m.key {
        case .csr:
            guard let csr = m.csr else {
                throw ManifestError(code: .missingField, message: "an enroll job with key \"csr\" needs \"csr\" (PEM certificate request)")
            }
            guard csr.contains("-----BEGIN CERTIFICATE REQUEST-----") || csr.contains("-----BEGIN NEW CERTIFICATE REQUEST-----") else {
                throw ManifestError(code: .invalidValue, message: "csr must be a PEM \"CERTIFICATE REQUEST\"")
            }
            if m.subject != nil {
                throw ManifestError(code: .invalidValue, message: "subject is only for key \"cloud\"; with key \"csr\" the subject comes from the CSR")
            }
        case .cloud:
            guard let subject = m.subject else {
                throw ManifestError(code: .missingField, message: "an enroll job with key \"cloud\" needs \"subject\" (e.g. \"CN=Jan Novak,serialNumber=D-1,C=CZ\")")
            }
            guard !subject.isEmpty, subject.count <= 1024 else {
                throw ManifestError(code: .invalidValue, message: "subject must be 1-1024 characters")
            }
            if m.csr != nil {
                throw ManifestError(code: .invalidValue, message: "csr is only for key \"csr\"; with key \"cloud\" signd generates the key and the CSR")
            }
        }
    }

    public static func validate(_ m: DeviceManifest) throws {
        try checkID(m.jobId, "jobId")
        try checkID(m.userId, "userId")
        try checkID(m.deviceId, "deviceId")
        if m.action == .register {
            guard let key = m.publicKey else {
                throw ManifestError(code: .missingField, message: "a device register job needs \"publicKey\" (PEM \"PUBLIC KEY\" of the device's P-256 key)")
            }
            guard key.contains("-----BEGIN PUBLIC KEY-----") else {
                throw ManifestError(code: .invalidValue, message: "publicKey must be a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo)")
            }
        } else if m.publicKey != nil {
            throw ManifestError(code: .invalidValue, message: "publicKey is only for action \"register\"")
        }
    }

    public static func validate(_ m: RevokeManifest) throws {
        try checkID(m.jobId, "jobId")
        switch (m.normalizedSerial, m.deviceId) {
        case (nil, nil):
            throw ManifestError(code: .missingField, message: "a revoke job needs \"serial\" or \"deviceId\"")
        case (.some, .some):
            throw ManifestError(code: .invalidValue, message: "a revoke job names either \"serial\" or \"deviceId\", not both")
        case (.some(let serial), nil):
            guard (1...40).contains(serial.count), serial.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else {
                throw ManifestError(code: .invalidValue, message: "serial must be 1-40 hex digits (colons and a 0x prefix are allowed)")
            }
        case (nil, .some(let device)):
            try checkID(device, "deviceId")
        }
        if let u = m.userId { try checkID(u, "userId") }
        guard RevokeManifest.reasons.contains(m.reason) else {
            throw ManifestError(code: .invalidValue, message: "reason \"\(m.reason)\" is not one of \(RevokeManifest.reasons.joined(separator: ", "))")
        }
    }

    /// JSONDecoder errors mapped to the manifest codes, as ``parse(_:)`` does.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.keyNotFound(key, ctx) {
            throw ManifestError(code: .missingField, message: "missing field \(path(ctx.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw ManifestError(code: .wrongType, message: "field \(path(ctx.codingPath)) has the wrong type")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw ManifestError(code: .wrongType, message: "field \(path(ctx.codingPath)) is null")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw ManifestError(code: .invalidValue, message: "field \(path(ctx.codingPath)) has an invalid value")
        } catch {
            throw ManifestError(code: .invalidJSON, message: "the manifest does not match the schema")
        }
    }
}
