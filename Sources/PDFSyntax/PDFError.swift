/// The one error type of the PDF syntax layer.
///
/// Every failure carries a stable ``Code`` (tests and operators key on it, never on the text), a
/// message that says what is wrong and what to do, and where it happened: the byte offset in the
/// file and the object number when known.
public struct PDFError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The input does not start with a `%PDF-` header in its first KiB.
        public static let notPDF = Code(rawValue: "pdf.notPDF")
        /// The file ends before a structure that must be there (EOF marker, object, xref).
        public static let truncated = Code(rawValue: "pdf.truncated")
        /// A token or object is not valid PDF syntax.
        public static let syntax = Code(rawValue: "pdf.syntax")
        /// No usable `startxref` in the file tail.
        public static let startxrefMissing = Code(rawValue: "pdf.startxrefMissing")
        /// A cross-reference section or stream is malformed or points to the wrong place.
        public static let xref = Code(rawValue: "pdf.xref")
        /// The `/Prev` chain of cross-reference sections loops.
        public static let xrefLoop = Code(rawValue: "pdf.xrefLoop")
        /// An object the document needs is not in the cross-reference data.
        public static let objectNotFound = Code(rawValue: "pdf.objectNotFound")
        /// The object at an offset is not the one the xref names.
        public static let objectMismatch = Code(rawValue: "pdf.objectMismatch")
        /// Nesting, length or count beyond the reader's safety limits (including a stream that
        /// decodes to more bytes than the reader needs: a decompression bomb).
        public static let limitExceeded = Code(rawValue: "pdf.limitExceeded")
        /// A number the file states (offset, length, count, object number, `/Size`, `/ByteRange`
        /// element) is negative, larger than the file could hold, or makes an offset computation
        /// overflow. Never a crash: every such computation is checked.
        public static let numberOutOfRange = Code(rawValue: "pdf.numberOutOfRange")
        /// The document is encrypted; signing encrypted documents is not supported.
        public static let encrypted = Code(rawValue: "pdf.encrypted")
        /// A stream uses a filter the reader does not implement where it must decode.
        public static let unsupportedFilter = Code(rawValue: "pdf.unsupportedFilter")
        /// Stream data could not be decoded.
        public static let decode = Code(rawValue: "pdf.decode")
        /// The document structure (catalog, page tree, AcroForm) is not what ISO 32000 requires.
        public static let structure = Code(rawValue: "pdf.structure")
        /// An I/O failure reading the source.
        public static let io = Code(rawValue: "pdf.io")
    }

    public let code: Code
    public let message: String
    public let offset: Int64?
    public let objectNumber: Int?

    public init(_ code: Code, _ message: String, offset: Int64? = nil, objectNumber: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
        self.objectNumber = objectNumber
    }

    public var description: String {
        var where_: [String] = []
        if let objectNumber { where_.append("object \(objectNumber)") }
        if let offset { where_.append("offset \(offset)") }
        let suffix = where_.isEmpty ? "" : " (" + where_.joined(separator: ", ") + ")"
        return "[\(code)] \(message)\(suffix)"
    }

    /// The same error, with an object number attached if it had none.
    func inObject(_ number: Int) -> PDFError {
        objectNumber == nil ? PDFError(code, message, offset: offset, objectNumber: number) : self
    }
}

/// Limits that keep hostile input from exhausting memory or time. All are generous for real
/// documents; exceeding one is `pdf.limitExceeded`, never a crash.
public struct PDFReaderLimits: Sendable, Hashable {
    /// Maximum nesting of arrays and dictionaries.
    public var maxDepth = 256
    /// Maximum size in bytes of a single non-stream object's text.
    public var maxObjectBytes = 32 << 20
    /// Maximum decoded size of a stream the reader must decode (object streams; an xref stream
    /// is capped instead at what its `/W` and `/Index` need). Decoding stops with
    /// `pdf.limitExceeded` as soon as the output would pass it, so a compression bomb costs at
    /// most this much memory. 16 MiB is far beyond real object streams (which hold dictionaries
    /// and arrays, never content) and keeps the process well under 64 MiB.
    public var maxDecodedStreamBytes = 16 << 20
    /// Maximum raw (encoded) size of a stream the reader must load (xref and object streams);
    /// the raw bytes are in the file, so this is bounded by the file size as well.
    public var maxEncodedStreamBytes = 256 << 20
    /// Maximum number of cross-reference sections followed through /Prev.
    public var maxRevisions = 10_000
    /// Maximum number of entries in one xref section (and /Size). Independently of this, a
    /// section or `/Size` may not claim more objects than the file has bytes (with a floor of
    /// ``minimumObjectAllowance``): an object always takes at least one byte of the file.
    public var maxObjects = 10_000_000
    /// Object counts up to this are accepted whatever the file length.
    public var minimumObjectAllowance = 65_536
    /// Maximum depth of the page tree.
    public var maxPageTreeDepth = 64

    public init() {}
}
