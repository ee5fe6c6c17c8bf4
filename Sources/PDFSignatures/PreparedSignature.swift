import PDFSyntax

/// The state between the two phases of signing (prepare, then complete): the bytes to append to
/// the original file, with `/Contents` reserved and `/ByteRange` already final.
///
/// Invariants: `byteRange == [0, a, b, c]` where `a` is the absolute offset of the `<` of the
/// `/Contents` hex string, `b` the offset just after its `>`, and `a + (b - a) + c` is the length
/// of the signed file; the original file's bytes are untouched. The value is `Codable` so signing
/// can be interrupted and resumed (external signing through a device).
public struct PreparedSignature: Sendable, Hashable, Codable {
    /// What was known of the original file.
    public var base: IncrementalUpdate.Base
    /// Bytes appended to the original, with the `/Contents` hex string all zeros.
    public var update: [UInt8]
    /// Range of the `<...>` token of `/Contents` within `update`.
    public var contentsTokenStart: Int
    public var contentsTokenEnd: Int
    /// `/ByteRange` as written.
    public var byteRange: [Int64]
    /// Bytes available for the DER-encoded CMS.
    public var contentsCapacity: Int
    /// Name of the field that holds the signature.
    public var fieldName: String

    /// Total length of the signed file.
    public var signedLength: Int64 { base.fileLength + Int64(update.count) }

    /// The two segments of the signed file that the signature covers, as (offset, length).
    public var coveredSegments: [(offset: Int64, length: Int64)] {
        [(byteRange[0], byteRange[1]), (byteRange[2], byteRange[3])]
    }

    /// The parts of `update` that are covered (the original file is covered whole before them).
    public var coveredUpdateParts: (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        (update[0..<contentsTokenStart], update[contentsTokenEnd...])
    }

    /// Embeds a DER-encoded CMS (or timestamp token) into `/Contents`, returning the final bytes to
    /// append to the original file.
    public func complete(cms: [UInt8]) throws -> [UInt8] {
        guard cms.count <= contentsCapacity else {
            throw SignatureEmbeddingError(.contentsTooSmall, "the /Contents placeholder holds \(contentsCapacity) bytes, but the signature needs \(cms.count) bytes; sign again with a larger placeholder (signd sizes it by a dry run; report this if you did not set the size yourself)")
        }
        var out = update
        let digits = Array("0123456789abcdef".utf8)
        var p = contentsTokenStart + 1
        for b in cms {
            out[p] = digits[Int(b >> 4)]
            out[p + 1] = digits[Int(b & 0xF)]
            p += 2
        }
        return out
    }
}
