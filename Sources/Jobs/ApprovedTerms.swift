import Crypto
import Foundation

/// What the user approves besides the document: the resolved signature appearance (the texts
/// and the field that end up in the signature dictionary), in a canonical, unambiguous byte
/// encoding whose SHA-256 the approval carries (`appearanceSha256` in the V2 statement, the
/// `${appearanceSha256}` of the PowerAuth operation data). docs/sca.md gives it byte by byte.
///
///     SIGND-APPEARANCE-V1 LF
///     field-name=<value> LF
///     name=<value> LF
///     reason=<value> LF
///     location=<value> LF
///     contact-info=<value> LF
///
/// `<value>` is `-` when the field is absent, or `+<n>:<bytes>` when present: `n` is the number
/// of UTF-8 bytes of the text in base 10 (no sign, no leading zeros; `0` for the empty text) and
/// `<bytes>` those bytes exactly. The length prefix makes any Unicode text (LF, `=`, `:` and all)
/// unambiguous, and absent (`-`) differs from empty (`+0:`). The version tag lets a later
/// encoding add the visible appearance without a digest of one version meaning another.
public enum ApprovedAppearance {
    /// The first line of the current encoding.
    public static let versionTag = "SIGND-APPEARANCE-V1"

    /// The canonical bytes of `appearance` (nil: every field absent, the same bytes as an empty
    /// appearance object, since the same signature results).
    public static func canonicalBytes(_ appearance: SignManifest.Appearance?) -> [UInt8] {
        var out = Array(versionTag.utf8)
        out.append(0x0A)
        let fields: [(String, String?)] = [
            ("field-name", appearance?.fieldName),
            ("name", appearance?.name),
            ("reason", appearance?.reason),
            ("location", appearance?.location),
            ("contact-info", appearance?.contactInfo),
        ]
        for (label, value) in fields {
            out += Array(label.utf8)
            out.append(UInt8(ascii: "="))
            if let value {
                let bytes = Array(value.utf8)
                out.append(UInt8(ascii: "+"))
                out += Array(String(bytes.count).utf8)
                out.append(UInt8(ascii: ":"))
                out += bytes
            } else {
                out.append(UInt8(ascii: "-"))
            }
            out.append(0x0A)
        }
        return out
    }

    /// SHA-256 of ``canonicalBytes(_:)``, 64 lowercase hex digits.
    public static func sha256Hex(_ appearance: SignManifest.Appearance?) -> String {
        let digest = SHA256.hash(data: canonicalBytes(appearance))
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension SignManifest.Appearance {
    /// ``ApprovedAppearance/canonicalBytes(_:)`` of this appearance.
    public var canonicalBytes: [UInt8] { ApprovedAppearance.canonicalBytes(self) }
    /// ``ApprovedAppearance/sha256Hex(_:)`` of this appearance.
    public var sha256: String { ApprovedAppearance.sha256Hex(self) }
}

extension SignManifest {
    /// The digest of the job's resolved appearance (``appearance`` as decoded, i.e. with the
    /// spool's defaults merged in): what the approval must name in `appearanceSha256`.
    /// Lowercase hex SHA-256 of ``ApprovedAppearance/canonicalBytes(_:)``.
    public var appearanceSha256: String { ApprovedAppearance.sha256Hex(appearance) }
}
