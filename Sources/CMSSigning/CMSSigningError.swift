/// The one error type of CMS signing (keys, signers, signature values), with stable codes. The
/// PAdES layer throws the same type as `PAdESError`, with its own codes added there.
public struct CMSSigningError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        /// The key file could not be read as a supported private key.
        public static let unsupportedKey = Code(rawValue: "key.unsupported")
        /// The key is encrypted (password-protected PEM).
        public static let encryptedKey = Code(rawValue: "key.encrypted")
        /// The certificate does not hold the public key of the signing key.
        public static let keyCertificateMismatch = Code(rawValue: "key.certificateMismatch")
        /// The certificate's key usage does not allow signing documents.
        public static let keyUsageNotForSigning = Code(rawValue: "certificate.keyUsage")
        /// A certificate file could not be parsed.
        public static let badCertificate = Code(rawValue: "certificate.malformed")
        /// The combination of key and digest is not supported.
        public static let unsupportedAlgorithm = Code(rawValue: "signature.unsupportedAlgorithm")
        /// The signer (key holder) failed or returned an unusable signature.
        public static let signerFailed = Code(rawValue: "signature.signerFailed")
        /// The signer's signature does not verify over the data it was given.
        public static let signatureInvalid = Code(rawValue: "signature.invalid")
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "[\(code)] \(message)" }
}
