import Foundation
import SigndCore
import X509

/// Serial numbers as text: lowercase hex of the positive INTEGER's magnitude, without leading
/// zero octets (RFC 5280 4.1.2.2: positive, at most 20 octets). This is the form certificate
/// records, CLI arguments, EJBCA URLs and the CA registry share.
enum SerialNumberText {
    /// Accepts `0x`, `:` separators, spaces and either case; returns the canonical form.
    static func normalize(_ text: String) throws -> String {
        let bytes = try magnitude(text)
        return Hex.encode(bytes)
    }

    /// The big-endian magnitude (no leading zero octets; at least one octet).
    static func magnitude(_ text: String) throws -> [UInt8] {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if t.hasPrefix("0x") { t.removeFirst(2) }
        t.removeAll { $0 == ":" || $0 == " " }
        if t.count % 2 == 1 { t = "0" + t }
        guard !t.isEmpty, t.count <= 42, let bytes = Hex.decode(t) else {
            throw CertificateAuthorityError(.unknownCertificate, "'\(text)' is not a certificate serial number (hex, at most 20 octets)")
        }
        let trimmed = Array(bytes.drop { $0 == 0 })
        return trimmed.isEmpty ? [0] : trimmed
    }

    /// The canonical text of a certificate's serial number.
    static func of(_ serial: Certificate.SerialNumber) -> String {
        let trimmed = Array(serial.bytes.drop { $0 == 0 })
        return Hex.encode(trimmed.isEmpty ? [0] : trimmed)
    }

    /// A fresh random serial: 16 octets, positive (top bit clear) and always 16 octets long
    /// (second-highest bit set), i.e. 126 random bits; RFC 5280 4.1.2.2 and the CA/B Forum ask
    /// for at least 64 bits of randomness.
    static func random() -> [UInt8] {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        return bytes
    }
}
