import Foundation

/// ECDSA signature encodings PowerAuth and signd accept: DER `SEQUENCE { r, s }` or JOSE raw
/// `r || s` (64 bytes for P-256).
public enum ECDSASignatureFormat: String, Sendable, Hashable, Codable {
    case der = "DER"
    case jose = "JOSE"
}

/// PowerAuth operation statuses (`OperationStatus`).
public enum PowerAuthOperationStatus {
    public static let pending = "PENDING"
    public static let approved = "APPROVED"
    public static let rejected = "REJECTED"
    public static let canceled = "CANCELED"
    public static let expired = "EXPIRED"
    public static let failed = "FAILED"
}

/// The fields of PowerAuth's `OperationDetailResponse` that signd uses.
public struct PowerAuthOperation: Sendable, Hashable {
    public var id: String
    public var userId: String?
    /// The activation (device) the operation is bound to, when PowerAuth reports one.
    public var activationId: String?
    public var data: String?
    public var status: String
    public var operationType: String?
    public var externalId: String?
    public var timestampCreated: Date?
    public var timestampExpires: Date?
    /// When the operation reached a terminal status (for APPROVED: the approval time).
    public var timestampFinalized: Date?

    public init(id: String, userId: String?, activationId: String? = nil, data: String?, status: String, operationType: String? = nil,
                externalId: String? = nil, timestampCreated: Date? = nil, timestampExpires: Date?, timestampFinalized: Date? = nil) {
        self.id = id
        self.userId = userId
        self.activationId = activationId
        self.data = data
        self.status = status
        self.operationType = operationType
        self.externalId = externalId
        self.timestampCreated = timestampCreated
        self.timestampExpires = timestampExpires
        self.timestampFinalized = timestampFinalized
    }
}

/// A PowerAuth Server call that did not produce an answer signd can use.
public struct PowerAuthError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Not reachable, timed out, or HTTP 5xx without PowerAuth's envelope: retry later.
        case unavailable
        /// PowerAuth's `{"status":"ERROR","responseObject":{"code","message"}}` envelope, or an
        /// HTTP 4xx refusal (e.g. 401 for wrong integration credentials).
        case errorResponse
        /// An answer that is not PowerAuth's documented JSON.
        case badResponse
    }
    public let kind: Kind
    /// PowerAuth's error code (`ERR0009`…), or `HTTP_<status>`.
    public let code: String?
    public let message: String
    public let url: String

    public init(_ kind: Kind, code: String? = nil, _ message: String, url: String) {
        self.kind = kind
        self.code = code
        self.message = message
        self.url = url
    }

    public var retryable: Bool { kind == .unavailable }
    public var description: String { "PowerAuth \(kind.rawValue)\(code.map { " \($0)" } ?? "") at \(url): \(message)" }
}

/// The PowerAuth Server calls signd makes. ``PowerAuthClient`` is the REST implementation;
/// tests point it at a loopback server that follows PowerAuth's documented JSON.
/// Errors are ``PowerAuthError``.
public protocol PowerAuthService: Sendable {
    /// `POST /rest/v3/signature/ecdsa/verify` → `signatureValid`.
    func verifyECDSASignature(activationId: String, data: [UInt8], signature: [UInt8], format: ECDSASignatureFormat) async throws -> Bool
    /// `POST /rest/v3/operation/detail`.
    func operationDetail(operationId: String, userId: String?) async throws -> PowerAuthOperation
}
