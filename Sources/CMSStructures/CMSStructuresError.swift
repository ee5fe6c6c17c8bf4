/// The single error type thrown by the `CMSStructures` module.
///
/// Every error carries a stable, machine-readable ``code`` (for example `cms.malformed`), a
/// human-readable ``message`` and a free-form ``context`` dictionary (for example the name of the
/// type or field being decoded). Callers and tests should branch on ``code`` only; the message text
/// is not part of the API contract.
///
/// Public byte-level entry points (`init(derEncoded: [UInt8])` on every type of this module) wrap
/// any `SwiftASN1.ASN1Error` raised while decoding into a ``CMSStructuresError`` with code
/// ``Code/malformed``. Lower-level `ASN1Node`-based initialisers may let `ASN1Error` propagate.
public struct CMSStructuresError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable error code. The ``rawValue`` strings never change meaning between releases.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The bytes are not a well-formed DER encoding of the expected structure
        /// (wrong tag, missing field, truncated, bad INTEGER, ...).
        public static let malformed = Code(rawValue: "cms.malformed")
        /// Bytes remain after the single top-level element.
        public static let trailingBytes = Code(rawValue: "cms.trailingBytes")
        /// The encoding is valid BER but violates a DER canonical-form rule
        /// (unsorted SET OF, DEFAULT value encoded explicitly, non-minimal named BIT STRING, ...).
        public static let notDER = Code(rawValue: "cms.notDER")
        /// A `version` field has a value the relevant RFC does not allow for this structure.
        public static let unsupportedVersion = Code(rawValue: "cms.unsupportedVersion")
        /// A content type / eContentType is not the one required here.
        public static let unexpectedContentType = Code(rawValue: "cms.unexpectedContentType")
        /// An attribute is malformed (wrong number of values, wrong value type, ...).
        public static let invalidAttribute = Code(rawValue: "cms.invalidAttribute")
        /// A value is outside the range permitted by the grammar (e.g. Accuracy.millis not in 1...999).
        public static let valueOutOfRange = Code(rawValue: "cms.valueOutOfRange")
        /// An algorithm identifier is not supported by the requested operation.
        public static let unsupportedAlgorithm = Code(rawValue: "cms.unsupportedAlgorithm")
        /// A value could not be serialized.
        public static let serializationFailed = Code(rawValue: "cms.serializationFailed")

        public var description: String { self.rawValue }
    }

    /// The stable error code.
    public var code: Code
    /// A human-readable explanation. Not stable; do not match on it.
    public var message: String
    /// Additional context, e.g. `["type": "SignerInfo", "field": "signedAttrs"]`.
    public var context: [String: String]

    public init(code: Code, message: String, context: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String {
        if self.context.isEmpty {
            return "\(self.code.rawValue): \(self.message)"
        }
        let renderedContext = self.context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return "\(self.code.rawValue): \(self.message) [\(renderedContext.joined(separator: ", "))]"
    }
}

extension CMSStructuresError {
    static func malformed(_ message: String, type: String, field: String? = nil) -> Self {
        Self(code: .malformed, message: message, context: Self.makeContext(type: type, field: field))
    }

    static func notDER(_ message: String, type: String, field: String? = nil) -> Self {
        Self(code: .notDER, message: message, context: Self.makeContext(type: type, field: field))
    }

    static func unsupportedVersion(_ version: Int, expected: Int, type: String) -> Self {
        Self(
            code: .unsupportedVersion,
            message: "version \(version) is not allowed here; expected \(expected)",
            context: ["type": type, "version": String(version), "expected": String(expected)]
        )
    }

    static func valueOutOfRange(_ message: String, type: String, field: String? = nil) -> Self {
        Self(code: .valueOutOfRange, message: message, context: Self.makeContext(type: type, field: field))
    }

    static func invalidAttribute(_ message: String, attribute: String) -> Self {
        Self(code: .invalidAttribute, message: message, context: ["attribute": attribute])
    }

    private static func makeContext(type: String, field: String?) -> [String: String] {
        var context = ["type": type]
        if let field {
            context["field"] = field
        }
        return context
    }
}
