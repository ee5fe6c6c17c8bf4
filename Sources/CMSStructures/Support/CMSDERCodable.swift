import SwiftASN1

/// A DER-encodable structure of this module.
///
/// Conforming types get two byte-level entry points:
///
/// - ``init(derEncoded:)-([UInt8])``: strict decoding of exactly one DER element. Trailing bytes
///   are rejected with ``CMSStructuresError/Code/trailingBytes`` and any `SwiftASN1.ASN1Error` is
///   wrapped into a ``CMSStructuresError`` with code ``CMSStructuresError/Code/malformed``.
/// - ``derEncoded()``: the DER encoding of the value.
public protocol CMSDERCodable: DERParseable, DERSerializable, Hashable, Sendable {}

extension CMSDERCodable {
    /// Decodes exactly one DER element of this type from `bytes`.
    ///
    /// - Throws: ``CMSStructuresError`` (never a bare `ASN1Error`).
    public init(derEncoded bytes: [UInt8]) throws {
        self = try CMSDER.decode(Self.self, from: bytes[...])
    }

    /// Decodes exactly one DER element of this type from `bytes`.
    ///
    /// - Throws: ``CMSStructuresError`` (never a bare `ASN1Error`).
    public init(derEncoded bytes: ArraySlice<UInt8>) throws {
        self = try CMSDER.decode(Self.self, from: bytes)
    }

    /// The DER encoding of this value.
    ///
    /// - Throws: ``CMSStructuresError`` with code ``CMSStructuresError/Code/serializationFailed``.
    public func derEncoded() throws -> [UInt8] {
        do {
            return try CMSDER.encode(self)
        } catch let error as CMSStructuresError {
            throw error
        } catch {
            throw CMSStructuresError(
                code: .serializationFailed,
                message: String(describing: error),
                context: ["type": String(describing: Self.self)]
            )
        }
    }
}
