/// Random access to the bytes of a PDF file. The syntax layer reads only through this protocol,
/// so it never opens a file itself and never needs the whole document in memory.
public protocol PDFByteSource {
    /// Total length in bytes.
    var length: Int64 { get }
    /// Reads up to `count` bytes at `offset`; returns fewer only at the end of the source.
    func read(offset: Int64, count: Int) throws -> [UInt8]
}

/// A byte source over bytes held in memory (tests, small documents).
public struct InMemoryByteSource: PDFByteSource, Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var length: Int64 { Int64(bytes.count) }
    public func read(offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, offset < Int64(bytes.count), count > 0 else { return [] }
        let start = Int(offset)
        let end = start + min(bytes.count - start, count)
        return Array(bytes[start..<end])
    }
}
