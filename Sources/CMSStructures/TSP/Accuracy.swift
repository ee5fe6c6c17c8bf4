import SwiftASN1

/// ``Accuracy`` is defined in RFC 3161 §2.4.2 as:
///
/// ```
/// Accuracy ::= SEQUENCE {
///     seconds        INTEGER              OPTIONAL,
///     millis     [0] INTEGER  (1..999)    OPTIONAL,
///     micros     [1] INTEGER  (1..999)    OPTIONAL  }
/// ```
///
/// Invariants: ``seconds`` is in 0...``maximumSeconds`` (so that ``totalMicroseconds`` cannot
/// overflow, whatever a TSA writes); ``millis`` and ``micros`` are in 1...999 when present
/// (violations throw `cms.valueOutOfRange`, both when building and when parsing).
/// A missing field counts as zero (RFC 3161); use ``totalMicroseconds``.
public struct Accuracy: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    static let millisTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    static let microsTag = ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)

    public private(set) var seconds: Int?
    public private(set) var millis: Int?
    public private(set) var micros: Int?

    /// The largest `seconds` whose ``totalMicroseconds`` fits in an `Int` (about 292,000 years;
    /// anything near it is a hostile or broken token, but it must not trap).
    public static let maximumSeconds = (Int.max - 999_999) / 1_000_000

    /// - Throws: `cms.valueOutOfRange` if a value is outside its permitted range.
    public init(seconds: Int? = nil, millis: Int? = nil, micros: Int? = nil) throws {
        if let seconds, seconds < 0 || seconds > Self.maximumSeconds {
            throw CMSStructuresError.valueOutOfRange("seconds is \(seconds); it must be in 0...\(Self.maximumSeconds)", type: "Accuracy", field: "seconds")
        }
        if let millis, !(1...999).contains(millis) {
            throw CMSStructuresError.valueOutOfRange("millis must be in 1...999", type: "Accuracy", field: "millis")
        }
        if let micros, !(1...999).contains(micros) {
            throw CMSStructuresError.valueOutOfRange("micros must be in 1...999", type: "Accuracy", field: "micros")
        }
        self.seconds = seconds
        self.millis = millis
        self.micros = micros
    }

    /// The accuracy in microseconds, counting absent fields as zero.
    public var totalMicroseconds: Int {
        (self.seconds ?? 0) * 1_000_000 + (self.millis ?? 0) * 1_000 + (self.micros ?? 0)
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "Accuracy"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let seconds = try CMSDER.nextIfPresent(&nodes, identifier: .integer).map {
                try CMSDER.integer($0, type: typeName, field: "seconds")
            }
            let millis = try CMSDER.nextIfPresent(&nodes, identifier: Self.millisTag).map {
                try CMSDER.integer($0, identifier: Self.millisTag, type: typeName, field: "millis")
            }
            let micros = try CMSDER.nextIfPresent(&nodes, identifier: Self.microsTag).map {
                try CMSDER.integer($0, identifier: Self.microsTag, type: typeName, field: "micros")
            }
            return try Accuracy(seconds: seconds, millis: millis, micros: micros)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            if let seconds = self.seconds {
                try coder.serialize(seconds)
            }
            if let millis = self.millis {
                try millis.serialize(into: &coder, withIdentifier: Self.millisTag)
            }
            if let micros = self.micros {
                try micros.serialize(into: &coder, withIdentifier: Self.microsTag)
            }
        }
    }
}
