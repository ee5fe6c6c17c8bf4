import PDFSyntax

/// The one error type of the signature-embedding layer, with stable codes.
public struct SignatureEmbeddingError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        /// The CMS does not fit the space reserved for /Contents.
        public static let contentsTooSmall = Code(rawValue: "signature.contentsTooSmall")
        /// The requested field exists but already holds a signature.
        public static let fieldAlreadySigned = Code(rawValue: "signature.fieldAlreadySigned")
        /// The requested field exists but is not a signature field.
        public static let fieldNotSignature = Code(rawValue: "signature.fieldNotSignature")
        /// The requested page does not exist.
        public static let pageOutOfRange = Code(rawValue: "signature.pageOutOfRange")
        /// A field name that PDF cannot carry (empty, or containing a period).
        public static let invalidFieldName = Code(rawValue: "signature.invalidFieldName")
        /// The requested `/Contents` capacity is not positive or larger than a verifier reads.
        public static let capacityOutOfRange = Code(rawValue: "signature.capacityOutOfRange")
        /// The prepared state does not belong to these bytes.
        public static let preparedStateMismatch = Code(rawValue: "signature.preparedStateMismatch")
        /// A signature dictionary is malformed (verification side).
        public static let malformedSignature = Code(rawValue: "signature.malformed")
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "[\(code)] \(message)" }
}
