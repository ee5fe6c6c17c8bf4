import Crypto
import Foundation

/// Character-set rules for the fields of an authorization (the same sets the manifest validator
/// enforces). They keep the canonical statement encoding unambiguous: no field can contain `\n`
/// or `=`.
enum TokenSyntax {
    /// 1-128 of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit.
    static func isIdentifier(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (1...128).contains(bytes.count), let first = bytes.first, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-") }
    }

    /// 64 lowercase hex digits.
    static func isSHA256Hex(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        return bytes.count == 64 && bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// 16-64 base64url characters.
    static func isNonce(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        return (16...64).contains(bytes.count) && bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }

    /// Standard base64 (padding optional), at most 1024 characters.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 1024 else { return nil }
        var t = text
        let remainder = t.utf8.count % 4
        if remainder == 2 { t += "==" } else if remainder == 3 { t += "=" }
        return Data(base64Encoded: t).map(Array.init)
    }
}

/// An ECDSA P-256 signature value, decoded from DER or JOSE.
enum ECDSASignatureDecoding {
    /// Decodes `bytes` as the declared format; with no declaration, 64 bytes that are not DER are
    /// taken as JOSE. Returns nil when the bytes are not a signature in that format.
    static func decode(_ bytes: [UInt8], declared: ECDSASignatureFormat?) -> (P256.Signing.ECDSASignature, ECDSASignatureFormat)? {
        switch declared {
        case .der:
            return (try? P256.Signing.ECDSASignature(derRepresentation: bytes)).map { ($0, .der) }
        case .jose:
            guard bytes.count == 64 else { return nil }
            return (try? P256.Signing.ECDSASignature(rawRepresentation: bytes)).map { ($0, .jose) }
        case nil:
            if bytes.first == 0x30, let s = try? P256.Signing.ECDSASignature(derRepresentation: bytes) { return (s, .der) }
            if bytes.count == 64, let s = try? P256.Signing.ECDSASignature(rawRepresentation: bytes) { return (s, .jose) }
            return nil
        }
    }
}
