/// Splits a window of PDF bytes into tokens (ISO 32000-1 7.2, 7.3).
///
/// The lexer works on a window `bytes` that starts at absolute offset `base`. When a token runs
/// into the end of the window and the window is not the end of the file (`windowIsComplete` is
/// false), it throws ``PDFLexer/NeedMoreData`` so the caller can retry with a larger window; at
/// the real end of the file the same situation is `pdf.truncated`.
public struct PDFLexer {
    /// Thrown when a token crosses the end of an incomplete window.
    public struct NeedMoreData: Error {}

    public let bytes: [UInt8]
    public let base: Int64
    public let windowIsComplete: Bool
    public var position: Int

    public init(bytes: [UInt8], base: Int64 = 0, position: Int = 0, windowIsComplete: Bool = true) {
        self.bytes = bytes
        self.base = base
        self.position = position
        self.windowIsComplete = windowIsComplete
    }

    public var absolutePosition: Int64 { base + Int64(position) }

    private func endOfWindow(_ what: String, start: Int) throws -> Never {
        if !windowIsComplete { throw NeedMoreData() }
        throw PDFError(.truncated, "the file ends inside \(what); the document is incomplete: ask the sender for the whole file", offset: base + Int64(start))
    }

    /// Skips whitespace and comments.
    public mutating func skipWhitespaceAndComments() {
        while position < bytes.count {
            let c = bytes[position]
            if CharClass.isWhitespace(c) {
                position += 1
            } else if c == UInt8(ascii: "%") {
                while position < bytes.count, bytes[position] != 0x0A, bytes[position] != 0x0D { position += 1 }
            } else {
                return
            }
        }
    }

    public mutating func peek() throws -> PDFToken {
        let saved = position
        defer { position = saved }
        return try next()
    }

    public mutating func next() throws -> PDFToken {
        skipWhitespaceAndComments()
        let start = position
        let offset = base + Int64(start)
        guard position < bytes.count else {
            if !windowIsComplete { throw NeedMoreData() }
            return PDFToken(kind: .endOfInput, offset: offset)
        }
        let c = bytes[position]
        switch c {
        case UInt8(ascii: "["): position += 1; return PDFToken(kind: .arrayOpen, offset: offset)
        case UInt8(ascii: "]"): position += 1; return PDFToken(kind: .arrayClose, offset: offset)
        case UInt8(ascii: "{"), UInt8(ascii: "}"):
            position += 1
            return PDFToken(kind: .keyword(String(UnicodeScalar(c))), offset: offset)
        case UInt8(ascii: "<"):
            guard position + 1 < bytes.count else { try endOfWindow("a dictionary or hex string", start: start) }
            if bytes[position + 1] == UInt8(ascii: "<") {
                position += 2
                return PDFToken(kind: .dictOpen, offset: offset)
            }
            return PDFToken(kind: .hexString(try lexHexString(start: start)), offset: offset)
        case UInt8(ascii: ">"):
            guard position + 1 < bytes.count else { try endOfWindow("a dictionary end", start: start) }
            guard bytes[position + 1] == UInt8(ascii: ">") else {
                throw PDFError(.syntax, "unexpected '>'", offset: offset)
            }
            position += 2
            return PDFToken(kind: .dictClose, offset: offset)
        case UInt8(ascii: "("):
            return PDFToken(kind: .literalString(try lexLiteralString(start: start)), offset: offset)
        case UInt8(ascii: "/"):
            return PDFToken(kind: .name(try lexName(start: start)), offset: offset)
        case UInt8(ascii: ")"):
            throw PDFError(.syntax, "unbalanced ')'", offset: offset)
        default:
            return PDFToken(kind: try lexRegular(start: start), offset: offset)
        }
    }

    private mutating func lexHexString(start: Int) throws -> [UInt8] {
        position += 1
        var out: [UInt8] = []
        var high: UInt8? = nil
        while true {
            guard position < bytes.count else { try endOfWindow("a hex string", start: start) }
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: ">") { break }
            if CharClass.isWhitespace(c) { continue }
            guard let v = CharClass.hexValue(c) else {
                throw PDFError(.syntax, "invalid character in hex string", offset: base + Int64(position - 1))
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        if let h = high { out.append(h << 4) }
        return out
    }

    private mutating func lexLiteralString(start: Int) throws -> [UInt8] {
        position += 1
        var out: [UInt8] = []
        var depth = 1
        while true {
            guard position < bytes.count else { try endOfWindow("a literal string", start: start) }
            let c = bytes[position]
            position += 1
            switch c {
            case UInt8(ascii: "("):
                depth += 1
                out.append(c)
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return out }
                out.append(c)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { try endOfWindow("a literal string", start: start) }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case 0x0D:
                    if position < bytes.count, bytes[position] == 0x0A { position += 1 }
                case 0x0A: break
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var v = Int(e - 0x30)
                    var n = 1
                    while n < 3, position < bytes.count, (0x30...0x37).contains(bytes[position]) {
                        v = v * 8 + Int(bytes[position] - 0x30)
                        position += 1
                        n += 1
                    }
                    out.append(UInt8(truncatingIfNeeded: v))
                default:
                    out.append(e)
                }
            case 0x0D:
                // An unescaped end-of-line in a string reads as a single LF (7.3.4.2).
                if position < bytes.count, bytes[position] == 0x0A { position += 1 }
                out.append(0x0A)
            default:
                out.append(c)
            }
        }
    }

    private mutating func lexName(start: Int) throws -> String {
        position += 1
        var raw: [UInt8] = []
        while position < bytes.count, CharClass.isRegular(bytes[position]) {
            let c = bytes[position]
            if c == UInt8(ascii: "#"), position + 2 < bytes.count,
               let h = CharClass.hexValue(bytes[position + 1]), let l = CharClass.hexValue(bytes[position + 2]) {
                raw.append(h << 4 | l)
                position += 3
            } else {
                raw.append(c)
                position += 1
            }
        }
        if position >= bytes.count, !windowIsComplete { throw NeedMoreData() }
        return String(decoding: raw, as: UTF8.self)
    }

    private mutating func lexRegular(start: Int) throws -> PDFTokenKind {
        while position < bytes.count, CharClass.isRegular(bytes[position]) { position += 1 }
        if position >= bytes.count, !windowIsComplete { throw NeedMoreData() }
        let word = bytes[start..<position]
        if let number = Self.number(word) { return number }
        guard word.count <= 64 else {
            throw PDFError(.syntax, "unexpected \(word.count)-byte word where a PDF token was expected", offset: base + Int64(start))
        }
        return .keyword(String(decoding: word, as: UTF8.self))
    }

    /// Parses an integer or real token (7.3.3): optional sign, digits, at most one point.
    static func number(_ word: ArraySlice<UInt8>) -> PDFTokenKind? {
        guard let first = word.first else { return nil }
        guard first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: ".")
            || (0x30...0x39).contains(first) else { return nil }
        var negative = false
        var i = word.startIndex
        if first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { negative = first == UInt8(ascii: "-"); i += 1 }
        var intPart: Int64 = 0
        var digits = 0
        var sawPoint = false
        var fracDigits = 0
        var overflow = false
        var real: Double = 0
        var fracScale: Double = 1
        while i < word.endIndex {
            let c = word[i]
            if c == UInt8(ascii: ".") {
                if sawPoint { return nil }
                sawPoint = true
            } else if (0x30...0x39).contains(c) {
                let d = Int64(c - 0x30)
                if sawPoint {
                    fracScale /= 10
                    real += Double(d) * fracScale
                    fracDigits += 1
                } else {
                    let (m, o1) = intPart.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.addingReportingOverflow(d)
                    if o1 || o2 { overflow = true }
                    intPart = s
                    digits += 1
                }
            } else {
                return nil
            }
            i += 1
        }
        if digits == 0 && fracDigits == 0 { return nil }
        if overflow {
            guard let d = Double(String(decoding: word, as: UTF8.self)) else { return nil }
            return .real(d)
        }
        if sawPoint {
            let v = Double(intPart) + real
            return .real(negative ? -v : v)
        }
        return .integer(negative ? -intPart : intPart)
    }
}
