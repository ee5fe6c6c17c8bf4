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
        try checkInvariants()
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

extension PreparedSignature {
    enum CodingKeys: String, CodingKey {
        case base, update, contentsTokenStart, contentsTokenEnd, byteRange, contentsCapacity, fieldName
    }

    /// Decodes a saved state and checks its invariants, so that a damaged or edited state file is
    /// an error, never an out-of-range index when the signature is embedded.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(base: try c.decode(IncrementalUpdate.Base.self, forKey: .base),
                  update: try c.decode([UInt8].self, forKey: .update),
                  contentsTokenStart: try c.decode(Int.self, forKey: .contentsTokenStart),
                  contentsTokenEnd: try c.decode(Int.self, forKey: .contentsTokenEnd),
                  byteRange: try c.decode([Int64].self, forKey: .byteRange),
                  contentsCapacity: try c.decode(Int.self, forKey: .contentsCapacity),
                  fieldName: try c.decode(String.self, forKey: .fieldName))
        do {
            try checkInvariants()
        } catch let e as SignatureEmbeddingError {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: e.description))
        }
    }

    /// The invariants of the type doc: the `/Contents` token lies inside `update`, is `<` + twice
    /// the capacity in hex digits + `>`, and the byte range is the file around it.
    func checkInvariants() throws {
        let (twice, o1) = contentsCapacity.multipliedReportingOverflow(by: 2)
        let (tokenLength, o2) = twice.addingReportingOverflow(2)
        let (expectedEnd, o3) = contentsTokenStart.addingReportingOverflow(tokenLength)
        guard contentsCapacity >= 0, !o1, !o2, !o3, contentsTokenStart >= 0, contentsTokenEnd == expectedEnd,
              contentsTokenEnd <= update.count,
              update[contentsTokenStart] == UInt8(ascii: "<"), update[contentsTokenEnd - 1] == UInt8(ascii: ">"),
              base.fileLength >= 0, base.fileLength <= Int64.max / 2, byteRange.count == 4,
              byteRange == [0, base.fileLength + Int64(contentsTokenStart), base.fileLength + Int64(contentsTokenEnd),
                            Int64(update.count - contentsTokenEnd)] else {
            throw SignatureEmbeddingError(.preparedStateMismatch, "the prepared signature state is inconsistent (/Contents token \(contentsTokenStart)..<\(contentsTokenEnd) of \(update.count) bytes, capacity \(contentsCapacity), /ByteRange \(byteRange)); it was damaged or edited: prepare the document again")
        }
    }
}
