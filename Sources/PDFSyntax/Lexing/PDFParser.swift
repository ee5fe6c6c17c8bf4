/// Builds objects from tokens (ISO 32000-1 7.3). Recognises `n g R` references by looking ahead
/// two tokens. Nesting is bounded by ``PDFReaderLimits/maxDepth``.
public struct PDFParser {
    public var lexer: PDFLexer
    public let limits: PDFReaderLimits

    public init(lexer: PDFLexer, limits: PDFReaderLimits = PDFReaderLimits()) {
        self.lexer = lexer
        self.limits = limits
    }

    public init(bytes: [UInt8], base: Int64 = 0, limits: PDFReaderLimits = PDFReaderLimits()) {
        self.init(lexer: PDFLexer(bytes: bytes, base: base), limits: limits)
    }

    /// Parses one direct object (a stream is never direct; `stream` is handled by the caller).
    public mutating func parseObject() throws -> PDFObject {
        try parseObject(depth: 0)
    }

    private mutating func parseObject(depth: Int) throws -> PDFObject {
        guard depth < limits.maxDepth else {
            throw PDFError(.limitExceeded, "arrays and dictionaries nested deeper than \(limits.maxDepth) levels", offset: lexer.absolutePosition)
        }
        let token = try lexer.next()
        switch token.kind {
        case .integer(let value):
            // Possibly the start of `n g R`.
            if value >= 0 {
                let saved = lexer.position
                if case .integer(let gen) = try lexer.next().kind, gen >= 0 {
                    if case .keyword("R") = try lexer.next().kind {
                        guard let n = Int(exactly: value), let g = Int(exactly: gen), g <= 65535 else {
                            throw PDFError(.syntax, "reference \(value) \(gen) R is out of range", offset: token.offset)
                        }
                        return .reference(PDFReference(n, g))
                    }
                }
                lexer.position = saved
            }
            return .integer(value)
        case .real(let v): return .real(v)
        case .literalString(let b): return .string(PDFString(bytes: b, isHex: false))
        case .hexString(let b): return .string(PDFString(bytes: b, isHex: true))
        case .name(let n): return .name(PDFName(n))
        case .keyword("true"): return .bool(true)
        case .keyword("false"): return .bool(false)
        case .keyword("null"): return .null
        case .arrayOpen:
            var items: [PDFObject] = []
            while true {
                let p = try lexer.peek()
                if case .arrayClose = p.kind { _ = try lexer.next(); break }
                if case .endOfInput = p.kind {
                    throw PDFError(.truncated, "the file ends inside an array", offset: token.offset)
                }
                items.append(try parseObject(depth: depth + 1))
            }
            return .array(items)
        case .dictOpen:
            var dict = PDFDictionary()
            while true {
                let keyToken = try lexer.next()
                switch keyToken.kind {
                case .dictClose:
                    return .dictionary(dict)
                case .name(let key):
                    let p = try lexer.peek()
                    if case .dictClose = p.kind {
                        throw PDFError(.syntax, "dictionary key /\(key) has no value", offset: keyToken.offset)
                    }
                    let value = try parseObject(depth: depth + 1)
                    // A null value is equivalent to an absent entry (7.3.7).
                    if !value.isNull { dict[PDFName(key)] = value }
                case .endOfInput:
                    throw PDFError(.truncated, "the file ends inside a dictionary", offset: token.offset)
                default:
                    throw PDFError(.syntax, "expected a name as dictionary key", offset: keyToken.offset)
                }
            }
        case .endOfInput:
            throw PDFError(.truncated, "the file ends where an object was expected", offset: token.offset)
        case .keyword(let word):
            throw PDFError(.syntax, "unexpected keyword '\(word)' where an object was expected", offset: token.offset)
        case .arrayClose, .dictClose:
            throw PDFError(.syntax, "unexpected closing delimiter", offset: token.offset)
        }
    }

    /// Reads `n g obj` and returns the object number and generation.
    public mutating func parseObjectHeader() throws -> PDFReference {
        let t1 = try lexer.next(), t2 = try lexer.next(), t3 = try lexer.next()
        guard case .integer(let n) = t1.kind, case .integer(let g) = t2.kind, case .keyword("obj") = t3.kind,
              let num = Int(exactly: n), let gen = Int(exactly: g), num >= 0, gen >= 0 else {
            throw PDFError(.objectMismatch, "expected 'N G obj' at this offset", offset: t1.offset)
        }
        return PDFReference(num, gen)
    }
}
