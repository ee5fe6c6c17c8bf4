import SwiftASN1

/// ``PKIStatus`` is defined in RFC 3161 §2.4.2 as:
///
/// ```
/// PKIStatus ::= INTEGER {
///     granted                (0),
///     grantedWithMods        (1),
///     rejection              (2),
///     waiting                (3),
///     revocationWarning      (4),
///     revocationNotification (5) }
/// ```
///
/// Invariants: only the six values above exist. RFC 3161 requires clients to fail on values
/// they do not understand, so parsing any other value throws `cms.valueOutOfRange`.
public struct PKIStatus: RawRepresentable, DERImplicitlyTaggable, CMSDERCodable, CustomStringConvertible {
    public static var defaultIdentifier: ASN1Identifier { .integer }

    public let rawValue: Int

    /// Returns `nil` for values outside 0...5.
    public init?(rawValue: Int) {
        guard (0...5).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(uncheckedRawValue: Int) {
        self.rawValue = uncheckedRawValue
    }

    public static let granted = PKIStatus(uncheckedRawValue: 0)
    public static let grantedWithMods = PKIStatus(uncheckedRawValue: 1)
    public static let rejection = PKIStatus(uncheckedRawValue: 2)
    public static let waiting = PKIStatus(uncheckedRawValue: 3)
    public static let revocationWarning = PKIStatus(uncheckedRawValue: 4)
    public static let revocationNotification = PKIStatus(uncheckedRawValue: 5)

    /// `granted` or `grantedWithMods`: the response carries a token.
    public var isGranted: Bool { self.rawValue <= 1 }

    public var description: String {
        switch self.rawValue {
        case 0: return "granted"
        case 1: return "grantedWithMods"
        case 2: return "rejection"
        case 3: return "waiting"
        case 4: return "revocationWarning"
        default: return "revocationNotification"
        }
    }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let value = try CMSDER.integer(node, identifier: identifier, type: "PKIStatus", field: "status")
        guard let status = PKIStatus(rawValue: value) else {
            throw CMSStructuresError.valueOutOfRange("unknown PKIStatus \(value)", type: "PKIStatus", field: "status")
        }
        self = status
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try self.rawValue.serialize(into: &coder, withIdentifier: identifier)
    }
}
