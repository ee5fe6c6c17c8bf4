import SigndCore

/// The one error type of enrollment and renewal, with stable codes.
public struct LifecycleError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let deviceUserMismatch = Code(rawValue: "device.userMismatch")
        public static let deviceNotActive = Code(rawValue: "device.notActive")
        public static let enrollExists = Code(rawValue: "enroll.exists")
        /// Cloud enrollment of a device that has no cloud-mode key.
        public static let keyMissing = Code(rawValue: "key.missing")
        /// Renewal of a certificate whose CSR is not stored.
        public static let renewalNoCSR = Code(rawValue: "renewal.noCSR")
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

/// CertificateLifecycle's documented codes (``LifecycleError/Code``). Device and enroll codes are
/// listed with the administrative jobs (Daemon).
public enum LifecycleErrorCodes {
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(LifecycleError.Code.keyMissing.rawValue, .certificateAuthority, meaning: "cloud enrollment or renewal of a device that has no cloud-mode key", action: nil),
        ErrorCodeInfo(LifecycleError.Code.renewalNoCSR.rawValue, .certificateAuthority, meaning: "renewal: the certificate has no stored CSR to re-submit; re-enroll the device"),
    ]
}
