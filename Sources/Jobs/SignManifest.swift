import Foundation

/// A signing job manifest (version 1), written by the orchestrator next to the PDF in
/// `spool/<name>/incoming/`. JSON Schema: docs/schemas/manifest-v1.json.
///
/// Invariants enforced by ``ManifestValidator``: `version` is 1; ids match
/// `[A-Za-z0-9][A-Za-z0-9._:-]{0,127}`; `document.file` is a plain file name (no `/`, no `..`,
/// ends in `.pdf`); `document.sha256` is 64 lowercase hex digits.
public struct SignManifest: Codable, Sendable, Hashable {
    public var version: Int
    public var type: String
    public var jobId: String
    public var document: DocumentRef
    public var signer: SignerRef
    public var mode: SigningMode
    public var level: SignatureLevel
    public var appearance: Appearance?
    /// Required in cloud mode; in external mode the device signature over the DTBS is the proof.
    public var authorization: Authorization?

    public struct DocumentRef: Codable, Sendable, Hashable {
        public var file: String
        public var sha256: String
        public init(file: String, sha256: String) {
            self.file = file
            self.sha256 = sha256
        }
    }

    public struct SignerRef: Codable, Sendable, Hashable {
        public var userId: String
        public var deviceId: String
        public init(userId: String, deviceId: String) {
            self.userId = userId
            self.deviceId = deviceId
        }
    }

    public struct Appearance: Codable, Sendable, Hashable {
        public var reason: String?
        public var location: String?
        public var contactInfo: String?
        public var name: String?
        public var fieldName: String?
        public init(reason: String? = nil, location: String? = nil, contactInfo: String? = nil, name: String? = nil, fieldName: String? = nil) {
            self.reason = reason
            self.location = location
            self.contactInfo = contactInfo
            self.name = name
            self.fieldName = fieldName
        }
    }

    public init(jobId: String, document: DocumentRef, signer: SignerRef, mode: SigningMode, level: SignatureLevel,
                appearance: Appearance? = nil, authorization: Authorization?) {
        self.version = 1
        self.type = "sign"
        self.jobId = jobId
        self.document = document
        self.signer = signer
        self.mode = mode
        self.level = level
        self.appearance = appearance
        self.authorization = authorization
    }
}

extension SignManifest {
    enum CodingKeys: String, CodingKey {
        case version, type, jobId, document, signer, mode, level, appearance, authorization
    }

    /// Decodes a manifest; a missing `level` and missing appearance texts come from the spool's
    /// ``ManifestDefaults`` when the decoder carries them (`userInfo[ManifestDefaults.userInfoKey]`).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = decoder.userInfo[ManifestDefaults.userInfoKey] as? ManifestDefaults
        version = try c.decode(Int.self, forKey: .version)
        type = try c.decode(String.self, forKey: .type)
        jobId = try c.decode(String.self, forKey: .jobId)
        document = try c.decode(DocumentRef.self, forKey: .document)
        signer = try c.decode(SignerRef.self, forKey: .signer)
        mode = try c.decode(SigningMode.self, forKey: .mode)
        if let given = try c.decodeIfPresent(SignatureLevel.self, forKey: .level) {
            level = given
        } else if let fallback = defaults?.level {
            level = fallback
        } else {
            throw DecodingError.keyNotFound(CodingKeys.level, .init(codingPath: c.codingPath, debugDescription: "no level and no spool default"))
        }
        appearance = ManifestDefaults.merge(try c.decodeIfPresent(Appearance.self, forKey: .appearance), under: defaults?.appearance)
        authorization = try c.decodeIfPresent(Authorization.self, forKey: .authorization)
    }
}

/// A spool's defaults for what a sign manifest may leave out (docs/configuration.md
/// `spools[].level`, `spools[].appearance`). The manifest's own values always win.
public struct ManifestDefaults: Sendable, Hashable {
    public var level: SignatureLevel?
    public var appearance: SignManifest.Appearance?

    public init(level: SignatureLevel? = nil, appearance: SignManifest.Appearance? = nil) {
        self.level = level
        self.appearance = appearance
    }

    public static let userInfoKey = CodingUserInfoKey(rawValue: "signd.manifestDefaults")!

    /// Field by field: the manifest's value, else the default. This is the appearance the
    /// daemon signs, so it is the one an approval must cover (``SignManifest/appearanceSha256``).
    public static func merge(_ given: SignManifest.Appearance?, under fallback: SignManifest.Appearance?) -> SignManifest.Appearance? {
        guard let fallback else { return given }
        guard let given else { return fallback }
        return SignManifest.Appearance(reason: given.reason ?? fallback.reason, location: given.location ?? fallback.location,
                                       contactInfo: given.contactInfo ?? fallback.contactInfo, name: given.name ?? fallback.name,
                                       fieldName: given.fieldName ?? fallback.fieldName)
    }
}

public enum SigningMode: String, Codable, Sendable, Hashable {
    case cloud, external
}

public enum SignatureLevel: String, Codable, Sendable, Hashable {
    case bb = "B-B"
    case bt = "B-T"
}

/// The SCA proof for a job (PSD2 dynamic linking, see docs/sca.md).
public struct Authorization: Codable, Sendable, Hashable {
    /// `device-signature` or `powerauth-operation`.
    public var kind: String
    /// device-signature: the statement the device signed (its fields; the signed bytes are its
    /// canonical encoding, see ``AuthorizationStatement``).
    public var statement: AuthorizationStatement?
    /// device-signature: base64 of the ECDSA signature (DER or JOSE raw r||s).
    public var signature: String?
    /// `DER` (default) or `JOSE`.
    public var signatureFormat: String?
    /// powerauth-operation: the operation id in PowerAuth Server.
    public var operationId: String?

    public init(kind: String, statement: AuthorizationStatement? = nil, signature: String? = nil, signatureFormat: String? = nil, operationId: String? = nil) {
        self.kind = kind
        self.statement = statement
        self.signature = signature
        self.signatureFormat = signatureFormat
        self.operationId = operationId
    }
}

/// What a device signs to approve one job: bound to the job, the exact document, the device,
/// the user, the level, the mode and the resolved appearance (``SignManifest/appearanceSha256``);
/// single-use (nonce) and short-lived (notBefore/expiresAt, Unix seconds).
///
/// `version` 2 is the only version signd accepts. A statement without `version` (or with 1) is a
/// version-1 statement: it does not bind the mode or the appearance and is refused
/// (`sca.unsupportedStatementVersion`, docs/decisions/0005-statement-v2.md).
public struct AuthorizationStatement: Codable, Sendable, Hashable {
    /// The statement format: 2 (nil in JSON written before version 2 existed: version 1).
    public var version: Int?
    public var jobId: String
    public var documentSha256: String
    public var deviceId: String
    public var userId: String
    public var level: SignatureLevel
    /// The signing mode the user approves (version 2).
    public var mode: SigningMode?
    /// SHA-256 (lowercase hex) of the canonical appearance (``ApprovedAppearance``) (version 2).
    public var appearanceSha256: String?
    public var notBefore: Int64
    public var expiresAt: Int64
    /// 16-64 characters of base64url.
    public var nonce: String

    /// The current format, version 2.
    public static let currentVersion = 2

    public init(version: Int? = AuthorizationStatement.currentVersion, jobId: String, documentSha256: String, deviceId: String, userId: String,
                level: SignatureLevel, mode: SigningMode?, appearanceSha256: String?, notBefore: Int64, expiresAt: Int64, nonce: String) {
        self.version = version
        self.jobId = jobId
        self.documentSha256 = documentSha256
        self.deviceId = deviceId
        self.userId = userId
        self.level = level
        self.mode = mode
        self.appearanceSha256 = appearanceSha256
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.nonce = nonce
    }

    /// The format version this statement claims (absent: 1).
    public var effectiveVersion: Int { version ?? 1 }

    /// The bytes the device signs: a versioned, line-oriented encoding with fields in a fixed
    /// order. Every field's character set excludes `\n` and `=`, so the encoding is unambiguous
    /// (the authorizer enforces the sets before anything is verified).
    ///
    ///     SIGND-SCA-STATEMENT-V2\n
    ///     job=<jobId>\n doc-sha256=<hex>\n device=<deviceId>\n user=<userId>\n
    ///     level=<B-B|B-T>\n mode=<cloud|external>\n appearance-sha256=<hex>\n
    ///     not-before=<unix s>\n expires=<unix s>\n nonce=<base64url>\n
    ///
    /// A version-1 statement gives the version-1 bytes (no mode, no appearance); signd no longer
    /// accepts those, they are kept so that the refusal can be explained and tested.
    public var canonicalBytes: [UInt8] {
        var s: String
        if effectiveVersion == 1 {
            s = "SIGND-SCA-STATEMENT-V1\n"
        } else {
            s = "SIGND-SCA-STATEMENT-V\(effectiveVersion)\n"
        }
        s += "job=\(jobId)\n"
        s += "doc-sha256=\(documentSha256)\n"
        s += "device=\(deviceId)\n"
        s += "user=\(userId)\n"
        s += "level=\(level.rawValue)\n"
        if effectiveVersion != 1 {
            s += "mode=\(mode?.rawValue ?? "")\n"
            s += "appearance-sha256=\(appearanceSha256 ?? "")\n"
        }
        s += "not-before=\(notBefore)\n"
        s += "expires=\(expiresAt)\n"
        s += "nonce=\(nonce)\n"
        return Array(s.utf8)
    }
}
