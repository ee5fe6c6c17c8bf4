import Foundation
import SwiftASN1
import X509

/// Parses simple RFC 4514 distinguished names such as `CN=Jana Nováková,serialNumber=PNOCZ-123,C=CZ`.
///
/// Supported: attribute names CN, C, O, OU, L, ST, street, serialNumber, givenName (GN), surname
/// (SN), title, emailAddress (E), organizationIdentifier, or a dotted OID; values with `\,`,
/// `\+`, `\"`, `\\`, `\;`, `\<`, `\>`, `\=`, `\#` and `\XX` hex escapes. Not supported:
/// multi-valued RDNs (`+`), `#`-hex values. As in RFC 4514 the string lists the RDNs last first,
/// so `CN=…,C=CZ` encodes C first. C and serialNumber are PrintableString, emailAddress is
/// IA5String, everything else UTF8String.
public enum SubjectName {
    static let attributeTypes: [String: ASN1ObjectIdentifier] = [
        "cn": [2, 5, 4, 3], "commonname": [2, 5, 4, 3],
        "c": [2, 5, 4, 6], "countryname": [2, 5, 4, 6],
        "o": [2, 5, 4, 10], "organizationname": [2, 5, 4, 10],
        "ou": [2, 5, 4, 11], "organizationalunitname": [2, 5, 4, 11],
        "l": [2, 5, 4, 7], "localityname": [2, 5, 4, 7],
        "st": [2, 5, 4, 8], "stateorprovincename": [2, 5, 4, 8],
        "street": [2, 5, 4, 9], "streetaddress": [2, 5, 4, 9],
        "serialnumber": [2, 5, 4, 5],
        "sn": [2, 5, 4, 4], "surname": [2, 5, 4, 4],
        "gn": [2, 5, 4, 42], "givenname": [2, 5, 4, 42],
        "title": [2, 5, 4, 12],
        "organizationidentifier": [2, 5, 4, 97],
        "e": [1, 2, 840, 113549, 1, 9, 1], "emailaddress": [1, 2, 840, 113549, 1, 9, 1],
    ]
    static let printable: Set<ASN1ObjectIdentifier> = [[2, 5, 4, 6], [2, 5, 4, 5]]
    static let ia5: Set<ASN1ObjectIdentifier> = [[1, 2, 840, 113549, 1, 9, 1]]

    public static func parse(_ text: String) throws -> DistinguishedName {
        let pairs = try split(text)
        guard !pairs.isEmpty else { throw invalid(text, "it is empty") }
        var rdns: [RelativeDistinguishedName] = []
        for (rawType, value) in pairs {
            let type = rawType.trimmingCharacters(in: .whitespaces)
            let oid: ASN1ObjectIdentifier
            if let known = attributeTypes[type.lowercased()] {
                oid = known
            } else if type.first?.isNumber == true, let dotted = try? ASN1ObjectIdentifier(dotRepresentation: type) {
                oid = dotted
            } else {
                throw invalid(text, "unknown attribute type \"\(type)\"")
            }
            guard !value.isEmpty else { throw invalid(text, "\(type) has an empty value") }
            let attribute: RelativeDistinguishedName.Attribute
            do {
                if printable.contains(oid) {
                    if oid == [2, 5, 4, 6], value.count != 2 { throw invalid(text, "C must be a two-letter country code") }
                    attribute = try .init(type: oid, printableString: value)
                } else if ia5.contains(oid) {
                    attribute = try .init(type: oid, ia5String: value)
                } else {
                    attribute = .init(type: oid, utf8String: value)
                }
            } catch let e as SCAError {
                throw e
            } catch {
                throw invalid(text, "\(type)=\(value) cannot be encoded (PrintableString allows A-Z a-z 0-9 space ' ( ) + , - . / : = ?)")
            }
            rdns.append(RelativeDistinguishedName(attribute))
        }
        return DistinguishedName(rdns.reversed())
    }

    static func invalid(_ text: String, _ why: String) -> SCAError {
        SCAError(code: .subjectInvalid, message: "subject \"\(text)\" is not a usable RFC 4514 name: \(why); write e.g. \"CN=Jana Novakova,serialNumber=PNOCZ-1234,C=CZ\"")
    }

    /// Splits at unescaped `,` (or `;`) into (type, unescaped value) pairs.
    static func split(_ text: String) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        var type = ""
        var value: [UInt8] = []
        var inValue = false
        let bytes = Array(text.utf8)
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        func finish() throws {
            guard inValue else { throw invalid(text, "\"\(type.trimmingCharacters(in: .whitespaces))\" has no '='") }
            var v = String(decoding: value, as: UTF8.self)
            // Unescaped leading/trailing spaces are not part of the value.
            while v.hasPrefix(" ") { v.removeFirst() }
            pairs.append((type, v))
            type = ""
            value = []
            inValue = false
        }
        var trailingEscapedSpace = false
        while i < bytes.count {
            let b = bytes[i]
            if !inValue {
                if b == UInt8(ascii: "=") { inValue = true } else { type.append(Character(UnicodeScalar(b))) }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\\"):
                guard i + 1 < bytes.count else { throw invalid(text, "it ends with a lone backslash") }
                let n = bytes[i + 1]
                if i + 2 < bytes.count, let h = hex(n), let l = hex(bytes[i + 2]) {
                    value.append(h << 4 | l)
                    i += 3
                } else {
                    value.append(n)
                    trailingEscapedSpace = n == UInt8(ascii: " ")
                    i += 2
                }
                continue
            case UInt8(ascii: ","), UInt8(ascii: ";"):
                if !trailingEscapedSpace { while value.last == UInt8(ascii: " ") { value.removeLast() } }
                try finish()
            case UInt8(ascii: "+"):
                throw invalid(text, "multi-valued RDNs ('+') are not supported; escape a literal plus as \\+")
            default:
                value.append(b)
            }
            trailingEscapedSpace = false
            i += 1
        }
        if !trailingEscapedSpace { while value.last == UInt8(ascii: " ") { value.removeLast() } }
        try finish()
        return pairs
    }
}
