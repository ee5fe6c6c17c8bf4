import SwiftASN1

/// ``PKIFailureInfo`` is defined in RFC 3161 §2.4.2 as:
///
/// ```
/// PKIFailureInfo ::= BIT STRING {
///     badAlg               (0),
///     badRequest           (2),
///     badDataFormat        (5),
///     timeNotAvailable    (14),
///     unacceptedPolicy    (15),
///     unacceptedExtension (16),
///     addInfoNotAvailable (17),
///     systemFailure       (25) }
/// ```
///
/// Bit *n* of the BIT STRING (bit 0 is the most significant bit of the first octet) is
/// `rawValue & (1 << n)`.
///
/// Invariants: DER encodes a named-bit BIT STRING without trailing zero bits (X.690 §11.2.2),
/// so serialization is minimal and parsing rejects a non-minimal encoding with `cms.notDER`.
/// Bits beyond 31 are rejected with `cms.valueOutOfRange`.
public struct PKIFailureInfo: OptionSet, DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .bitString }

    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// The set containing only bit `bit` (0...31).
    public init(bit: Int) {
        precondition((0..<32).contains(bit), "PKIFailureInfo bit out of range")
        self.rawValue = 1 << UInt32(bit)
    }

    public static let badAlg = PKIFailureInfo(bit: 0)
    public static let badRequest = PKIFailureInfo(bit: 2)
    public static let badDataFormat = PKIFailureInfo(bit: 5)
    public static let timeNotAvailable = PKIFailureInfo(bit: 14)
    public static let unacceptedPolicy = PKIFailureInfo(bit: 15)
    public static let unacceptedExtension = PKIFailureInfo(bit: 16)
    public static let addInfoNotAvailable = PKIFailureInfo(bit: 17)
    public static let systemFailure = PKIFailureInfo(bit: 25)

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "PKIFailureInfo"
        let bitString = try ASN1BitString(derEncoded: node, withIdentifier: identifier)
        let bytes = Array(bitString.bytes)
        if let last = bytes.last {
            // The last encoded bit must be 1 (no trailing zero bits in DER named bit lists).
            guard last & (UInt8(1) << UInt8(bitString.paddingBits)) != 0 else {
                throw CMSStructuresError.notDER("named BIT STRING has trailing zero bits", type: typeName)
            }
        }
        guard bytes.count <= 4 else {
            throw CMSStructuresError.valueOutOfRange("failure bits beyond 31 are not defined", type: typeName)
        }
        var value: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            for bitInByte in 0..<8 where byte & (0x80 >> UInt8(bitInByte)) != 0 {
                value |= 1 << UInt32(index * 8 + bitInByte)
            }
        }
        self.rawValue = value
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        guard self.rawValue != 0 else {
            try ASN1BitString(bytes: [], paddingBits: 0).serialize(into: &coder, withIdentifier: identifier)
            return
        }
        let bitCount = 32 - self.rawValue.leadingZeroBitCount
        let byteCount = (bitCount + 7) / 8
        var bytes = [UInt8](repeating: 0, count: byteCount)
        for bit in 0..<bitCount where self.rawValue & (1 << UInt32(bit)) != 0 {
            bytes[bit / 8] |= 0x80 >> UInt8(bit % 8)
        }
        try ASN1BitString(bytes: bytes[...], paddingBits: byteCount * 8 - bitCount)
            .serialize(into: &coder, withIdentifier: identifier)
    }
}
