/// The one error type of timestamping (client and embedded TSA), with stable codes. Every
/// client-side failure names the TSA URL and says whether trying again later may help.
public struct TimestampError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unreachable = Code(rawValue: "tsa.unreachable")
        public static let timeout = Code(rawValue: "tsa.timeout")
        public static let httpStatus = Code(rawValue: "tsa.httpStatus")
        public static let contentType = Code(rawValue: "tsa.contentType")
        public static let malformedResponse = Code(rawValue: "tsa.malformedResponse")
        public static let rejected = Code(rawValue: "tsa.rejected")
        public static let noToken = Code(rawValue: "tsa.noToken")
        public static let wrongContentType = Code(rawValue: "tsa.wrongContentType")
        public static let signerInfoCount = Code(rawValue: "tsa.signerInfoCount")
        public static let signatureInvalid = Code(rawValue: "tsa.signatureInvalid")
        public static let imprintMismatch = Code(rawValue: "tsa.imprintMismatch")
        public static let nonceMismatch = Code(rawValue: "tsa.nonceMismatch")
        public static let policyMismatch = Code(rawValue: "tsa.policyMismatch")
        public static let certificateMissing = Code(rawValue: "tsa.certificateMissing")
        public static let extendedKeyUsage = Code(rawValue: "tsa.extendedKeyUsage")
        public static let essMismatch = Code(rawValue: "tsa.essMismatch")
        public static let genTimeOutsideValidity = Code(rawValue: "tsa.genTimeOutsideValidity")
        public static let clockSkew = Code(rawValue: "tsa.clockSkew")
        public static let untrusted = Code(rawValue: "tsa.untrusted")
        public static let noTSAConfigured = Code(rawValue: "tsa.notConfigured")
        /// Embedded TSA: its key or certificate cannot be loaded or created.
        public static let identity = Code(rawValue: "tsa.identity")
    }

    public let code: Code
    public let message: String
    public let url: String?
    /// Whether the same request may succeed later (network trouble, HTTP 5xx).
    public let retryable: Bool

    public init(_ code: Code, _ message: String, url: String? = nil, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.url = url
        self.retryable = retryable
    }

    public var description: String {
        "[\(code)] \(message)" + (url.map { " (TSA \($0))" } ?? "")
    }
}
