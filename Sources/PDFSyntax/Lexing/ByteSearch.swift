/// Searching raw bytes for a marker (`%PDF-`, `startxref`, `%%EOF`, placeholders).
public enum ByteSearch {
    /// The first index at or after `from` where `needle` starts, or nil.
    public static func first(_ needle: [UInt8], in haystack: [UInt8], from: Int = 0) -> Int? {
        guard from >= 0, !needle.isEmpty, needle.count <= haystack.count - from else { return nil }
        outer: for i in from...(haystack.count - needle.count) {
            for j in 0..<needle.count where haystack[i + j] != needle[j] { continue outer }
            return i
        }
        return nil
    }

    /// The last index where `needle` starts, or nil.
    public static func last(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        outer: for i in stride(from: haystack.count - needle.count, through: 0, by: -1) {
            for j in 0..<needle.count where haystack[i + j] != needle[j] { continue outer }
            return i
        }
        return nil
    }
}
