import Foundation
import SwiftASN1
import X509

/// A subject DN attribute type signd knows (RFC 5280 4.1.2.4 and Appendix A, X.520, RFC 4519),
/// with the short name used in profiles and messages, how its value is encoded in issued
/// certificates, and its upper bound (ub-*) in characters.
///
/// Values are re-encoded, never copied: UTF8String by default (RFC 5280 4.1.2.6 for new
/// certificates), PrintableString for countryName and serialNumber (X.520), IA5String for
/// emailAddress and domainComponent (RFC 5280 Appendix A).
public struct SubjectAttributeType: Hashable, Sendable {
    public enum Encoding: Sendable, Hashable { case utf8, printable, ia5 }

    /// Short name: `CN`, `serialNumber`, `O`, ...
    public let name: String
    public let oid: ASN1ObjectIdentifier
    public let encoding: Encoding
    public let maxLength: Int

    public static let commonName = Self(name: "CN", oid: [2, 5, 4, 3], encoding: .utf8, maxLength: 64)
    public static let surname = Self(name: "surname", oid: [2, 5, 4, 4], encoding: .utf8, maxLength: 64)
    /// X.520 serialNumber (of the subject, e.g. a device id or national id; not the certificate serial).
    public static let serialNumber = Self(name: "serialNumber", oid: [2, 5, 4, 5], encoding: .printable, maxLength: 64)
    public static let country = Self(name: "C", oid: [2, 5, 4, 6], encoding: .printable, maxLength: 2)
    public static let locality = Self(name: "L", oid: [2, 5, 4, 7], encoding: .utf8, maxLength: 128)
    public static let stateOrProvince = Self(name: "ST", oid: [2, 5, 4, 8], encoding: .utf8, maxLength: 128)
    public static let street = Self(name: "street", oid: [2, 5, 4, 9], encoding: .utf8, maxLength: 128)
    public static let organization = Self(name: "O", oid: [2, 5, 4, 10], encoding: .utf8, maxLength: 64)
    public static let organizationalUnit = Self(name: "OU", oid: [2, 5, 4, 11], encoding: .utf8, maxLength: 64)
    public static let title = Self(name: "title", oid: [2, 5, 4, 12], encoding: .utf8, maxLength: 64)
    public static let givenName = Self(name: "givenName", oid: [2, 5, 4, 42], encoding: .utf8, maxLength: 64)
    public static let initials = Self(name: "initials", oid: [2, 5, 4, 43], encoding: .utf8, maxLength: 64)
    public static let pseudonym = Self(name: "pseudonym", oid: [2, 5, 4, 65], encoding: .utf8, maxLength: 128)
    /// ETSI EN 319 412-1 organizationIdentifier (e.g. `VATCZ-12345678`).
    public static let organizationIdentifier = Self(name: "organizationIdentifier", oid: [2, 5, 4, 97], encoding: .utf8, maxLength: 64)
    public static let emailAddress = Self(name: "emailAddress", oid: [1, 2, 840, 113_549, 1, 9, 1], encoding: .ia5, maxLength: 255)
    public static let domainComponent = Self(name: "DC", oid: [0, 9, 2342, 19_200_300, 100, 1, 25], encoding: .ia5, maxLength: 63)
    public static let userId = Self(name: "UID", oid: [0, 9, 2342, 19_200_300, 100, 1, 1], encoding: .utf8, maxLength: 64)

    /// Every known type.
    public static let all: [SubjectAttributeType] = [
        .commonName, .surname, .serialNumber, .country, .locality, .stateOrProvince, .street, .organization,
        .organizationalUnit, .title, .givenName, .initials, .pseudonym, .organizationIdentifier, .emailAddress,
        .domainComponent, .userId,
    ]

    /// Looks a type up by short name (case-insensitive; `E`, `SN`, `GN` and the long names
    /// such as `commonName` are accepted too).
    public static func named(_ name: String) -> SubjectAttributeType? {
        let key = name.lowercased()
        let aliases: [String: String] = [
            "commonname": "cn", "e": "emailaddress", "email": "emailaddress", "sn": "surname", "gn": "givenname",
            "countryname": "c", "organizationname": "o", "organizationalunitname": "ou", "localityname": "l",
            "stateorprovincename": "st", "streetaddress": "street", "domaincomponent": "dc", "userid": "uid",
        ]
        let canonical = aliases[key] ?? key
        return all.first { $0.name.lowercased() == canonical }
    }

    public static func forOID(_ oid: ASN1ObjectIdentifier) -> SubjectAttributeType? {
        all.first { $0.oid == oid }
    }

    /// Checks a value against the type's rules; the error text says what is wrong (nil: fine).
    func problem(with value: String) -> String? {
        if value.isEmpty || value.trimmingCharacters(in: .whitespaces).isEmpty { return "is empty" }
        if value.count > maxLength { return "is longer than \(maxLength) characters" }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "contains control characters" }
        switch encoding {
        case .printable:
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?".unicodeScalars)
            if !value.unicodeScalars.allSatisfy(allowed.contains) { return "has characters outside PrintableString" }
        case .ia5:
            if !value.unicodeScalars.allSatisfy({ $0.isASCII }) { return "has non-ASCII characters" }
        case .utf8:
            break
        }
        if self == .country, !(value.count == 2 && value.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) })) {
            return "is not a two-letter ISO 3166 code in capitals"
        }
        return nil
    }

    /// The attribute with the value in this type's encoding.
    func attribute(_ value: String) throws -> RelativeDistinguishedName.Attribute {
        switch encoding {
        case .utf8: return .init(type: oid, utf8String: value)
        case .printable: return try .init(type: oid, printableString: value)
        case .ia5: return try .init(type: oid, ia5String: value)
        }
    }
}
