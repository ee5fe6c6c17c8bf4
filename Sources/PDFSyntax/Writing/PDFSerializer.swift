/// Writes objects in PDF syntax (ISO 32000-1 7.3). Output is deterministic: the same object always
/// gives the same bytes.
public enum PDFSerializer {
    public static func serialize(_ object: PDFObject) -> [UInt8] {
        var out: [UInt8] = []
        write(object, into: &out)
        return out
    }

    public static func write(_ object: PDFObject, into out: inout [UInt8]) {
        switch object {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .integer(let i): out.append(contentsOf: Array(String(i).utf8))
        case .real(let r): out.append(contentsOf: Array(formatReal(r).utf8))
        case .string(let s): writeString(s, into: &out)
        case .name(let n): writeName(n, into: &out)
        case .reference(let r): out.append(contentsOf: Array("\(r.number) \(r.generation) R".utf8))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(0x20) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let d):
            writeDictionary(d, into: &out)
        case .stream(let s):
            writeDictionary(s.dictionary, into: &out)
            out.append(contentsOf: Array("\nstream\n".utf8))
            if case .bytes(let b) = s.data { out.append(contentsOf: b) }
            out.append(contentsOf: Array("\nendstream".utf8))
        }
    }

    static func writeDictionary(_ d: PDFDictionary, into out: inout [UInt8]) {
        out.append(contentsOf: [UInt8(ascii: "<"), UInt8(ascii: "<")])
        for (key, value) in d {
            writeName(key, into: &out)
            out.append(0x20)
            write(value, into: &out)
        }
        out.append(contentsOf: [UInt8(ascii: ">"), UInt8(ascii: ">")])
    }

    /// Reals without exponent (PDF has none), at most 6 decimals, trailing zeros removed.
    ///
    /// Any finite value is written, however large: reals come from the file (an integer too
    /// large for 64 bits is lexed as a real, e.g. `/MediaBox [0 0 99999999999999999999999 1]`)
    /// and are copied into updates, so formatting must not trap on them.
    public static func formatReal(_ r: Double) -> String {
        guard r.isFinite else { return "0" }
        if r == r.rounded(), abs(r) < 1e15 { return String(Int64(r)) }
        let negative = r < 0
        var s: String
        if abs(r) < 9e12 {
            // abs(r) × 10^6 < 9e18: fits in Int64.
            let scaled = (abs(r) * 1_000_000).rounded()
            let intPart = Int64(scaled / 1_000_000)
            let frac = Int64(scaled) - intPart * 1_000_000
            s = String(intPart) + fraction(frac)
        } else {
            var intPart = abs(r).rounded(.down)
            var frac = ((abs(r) - intPart) * 1_000_000).rounded()
            if frac >= 1_000_000 { intPart += 1; frac = 0 }
            s = integerDigits(intPart) + fraction(Int64(frac))
        }
        return negative && s != "0" ? "-" + s : s
    }

    /// ".ddd" for a count of millionths (0 gives "").
    private static func fraction(_ millionths: Int64) -> String {
        guard millionths != 0 else { return "" }
        var digits = String(millionths)
        digits = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "." + digits
    }

    /// The decimal digits of a non-negative, integer-valued, finite double of any size.
    static func integerDigits(_ value: Double) -> String {
        if value < 9e18 { return String(UInt64(value)) }
        // value = m × 2^k with a 53-bit m and k ≥ 11: double the decimal digits of m k times.
        let k = Int(value.exponent) - 52
        var digits = Array(String(value.significandBitPattern | (1 << 52)).utf8.map { Int($0) - 48 }.reversed())
        for _ in 0..<k {
            var carry = 0
            for i in digits.indices {
                let d = digits[i] * 2 + carry
                digits[i] = d % 10
                carry = d / 10
            }
            if carry > 0 { digits.append(carry) }
        }
        return String(decoding: digits.reversed().map { UInt8($0 + 48) }, as: UTF8.self)
    }

    public static func writeName(_ n: PDFName, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "/"))
        for c in n.value.utf8 {
            if c < 0x21 || c > 0x7E || c == UInt8(ascii: "#") || CharClass.isDelimiter(c) {
                out.append(UInt8(ascii: "#"))
                out.append(contentsOf: Array(hex2(c).utf8))
            } else {
                out.append(c)
            }
        }
    }

    static func writeString(_ s: PDFString, into out: inout [UInt8]) {
        if s.isHex {
            out.append(UInt8(ascii: "<"))
            for b in s.bytes { out.append(contentsOf: Array(hex2(b).utf8)) }
            out.append(UInt8(ascii: ">"))
            return
        }
        out.append(UInt8(ascii: "("))
        for b in s.bytes {
            switch b {
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(contentsOf: Array("\\n".utf8))
            case 0x0D: out.append(contentsOf: Array("\\r".utf8))
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: ")"))
    }

    static func hex2(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 0xF)]], as: UTF8.self)
    }
}
