/// One lexical token (ISO 32000-1 7.2). Tokens keep the offset of their first byte so errors can
/// say where they are.
public enum PDFTokenKind: Hashable, Sendable {
    case integer(Int64)
    case real(Double)
    case literalString([UInt8])
    case hexString([UInt8])
    case name(String)
    /// A bare word: `true`, `false`, `null`, `obj`, `endobj`, `stream`, `R`, `xref`, `trailer`...
    case keyword(String)
    case arrayOpen, arrayClose, dictOpen, dictClose
    case endOfInput
}

public struct PDFToken: Hashable, Sendable {
    public var kind: PDFTokenKind
    /// Absolute offset of the token's first byte.
    public var offset: Int64
}

enum CharClass {
    @inline(__always) static func isWhitespace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0x0C || c == 0x00
    }
    @inline(__always) static func isDelimiter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
             UInt8(ascii: "/"), UInt8(ascii: "%"):
            return true
        default: return false
        }
    }
    @inline(__always) static func isRegular(_ c: UInt8) -> Bool { !isWhitespace(c) && !isDelimiter(c) }
    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
