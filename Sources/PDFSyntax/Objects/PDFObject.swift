/// A PDF object (ISO 32000-1 7.3): one of the eight basic types, an indirect reference, or a
/// stream. Values are immutable; documents are edited by creating new objects in an update.
public indirect enum PDFObject: Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case real(Double)
    case string(PDFString)
    case name(PDFName)
    case array([PDFObject])
    case dictionary(PDFDictionary)
    case reference(PDFReference)
    case stream(PDFStream)

    public var dictionary: PDFDictionary? {
        switch self {
        case .dictionary(let d): return d
        case .stream(let s): return s.dictionary
        default: return nil
        }
    }
    public var array: [PDFObject]? { if case .array(let a) = self { return a }; return nil }
    public var integer: Int64? { if case .integer(let i) = self { return i }; return nil }
    public var intValue: Int? { if case .integer(let i) = self, let v = Int(exactly: i) { return v }; return nil }
    public var number: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .real(let r): return r
        default: return nil
        }
    }
    public var name: PDFName? { if case .name(let n) = self { return n }; return nil }
    public var string: PDFString? { if case .string(let s) = self { return s }; return nil }
    public var reference: PDFReference? { if case .reference(let r) = self { return r }; return nil }
    public var stream: PDFStream? { if case .stream(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }
}

/// An indirect reference `n g R` (ISO 32000-1 7.3.10).
public struct PDFReference: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public var number: Int
    public var generation: Int
    public init(_ number: Int, _ generation: Int = 0) {
        self.number = number
        self.generation = generation
    }
    public static func < (a: PDFReference, b: PDFReference) -> Bool {
        (a.number, a.generation) < (b.number, b.generation)
    }
    public var description: String { "\(number) \(generation) R" }
}

/// A name object (ISO 32000-1 7.3.5). `value` holds the decoded bytes (after `#xx` escapes) as
/// UTF-8 text; names are compared by their decoded value.
public struct PDFName: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var value: String
    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }
    public var description: String { "/" + value }
}

/// A string object (ISO 32000-1 7.3.4): raw bytes and whether it was written in hex form.
public struct PDFString: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]
    public var isHex: Bool
    public init(bytes: [UInt8], isHex: Bool = false) {
        self.bytes = bytes
        self.isHex = isHex
    }

    /// A text string (ISO 32000-1 7.9.2.2): PDFDocEncoding when every character fits in ASCII,
    /// otherwise UTF-16BE with a byte-order mark.
    public init(text: String) {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) {
            self.bytes = Array(text.utf8)
        } else {
            var out: [UInt8] = [0xFE, 0xFF]
            for unit in text.utf16 { out.append(UInt8(unit >> 8)); out.append(UInt8(unit & 0xFF)) }
            self.bytes = out
        }
        self.isHex = false
    }

    /// Decodes a text string: UTF-16BE with BOM, UTF-8 with BOM (PDF 2.0), else PDFDocEncoding
    /// (approximated by Latin-1, which agrees on all printable characters but a few).
    public var text: String {
        if bytes.count >= 2, bytes[0] == 0xFE, bytes[1] == 0xFF {
            var units: [UInt16] = []
            var i = 2
            while i + 1 < bytes.count { units.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])); i += 2 }
            return String(decoding: units, as: UTF16.self)
        }
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            return String(decoding: bytes[3...], as: UTF8.self)
        }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
    public var description: String { isHex ? "<\(bytes.count) bytes>" : "(\(text))" }
}

/// A dictionary (ISO 32000-1 7.3.7) that keeps its keys in insertion order, so that re-written
/// objects read the same as the originals.
public struct PDFDictionary: Hashable, Sendable, Sequence {
    private var keys: [PDFName] = []
    private var values: [PDFName: PDFObject] = [:]

    public init() {}
    public init(_ pairs: [(PDFName, PDFObject)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: PDFName) -> PDFObject? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    public var orderedKeys: [PDFName] { keys }
    public func makeIterator() -> AnyIterator<(key: PDFName, value: PDFObject)> {
        var i = 0
        let keys = self.keys, values = self.values
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], values[keys[i]]!)
        }
    }
    public static func == (a: PDFDictionary, b: PDFDictionary) -> Bool { a.values == b.values }
    public func hash(into hasher: inout Hasher) { hasher.combine(values) }
}

/// A stream (ISO 32000-1 7.3.8): its dictionary and where its raw (still encoded) data lives.
/// Streams read from a file carry only the location of their data; streams created for writing
/// carry the encoded bytes.
public struct PDFStream: Hashable, Sendable {
    public enum Data: Hashable, Sendable {
        /// Raw bytes at `offset ..< offset + length` in the source file.
        case located(offset: Int64, length: Int)
        /// Raw bytes held in memory (new streams, or streams inside object streams' decoded data).
        case bytes([UInt8])
    }
    public var dictionary: PDFDictionary
    public var data: Data
    public init(dictionary: PDFDictionary, data: Data) {
        self.dictionary = dictionary
        self.data = data
    }
}
