/// Where an object lives, per one cross-reference section (ISO 32000-1 7.5.4, 7.5.8.3).
public enum XRefEntry: Hashable, Sendable {
    case free(nextGeneration: Int)
    /// Type 1: at a byte offset (as written in the file, before any header shift).
    case inFile(offset: Int64, generation: Int)
    /// Type 2: the `index`th object of object stream `streamNumber`.
    case inObjectStream(streamNumber: Int, index: Int)
}

/// The form of a cross-reference section; an incremental update must use the same form as the
/// section it chains to (a classic table after a table or hybrid section, a stream after a stream).
public enum XRefForm: String, Hashable, Sendable, Codable {
    /// Classic `xref` table (7.5.4).
    case table
    /// Cross-reference stream (7.5.8).
    case stream
    /// Classic table whose trailer has `/XRefStm` (7.5.8.4).
    case hybrid
}

/// One cross-reference section with its trailer: the data of one revision.
public struct XRefSection: Sendable {
    /// Offset of the section as the file states it (the value of `startxref` or `/Prev`).
    public var statedOffset: Int64
    /// Absolute offset of the section in the source.
    public var absoluteOffset: Int64
    public var form: XRefForm
    /// The trailer dictionary (for a stream section: the stream dictionary).
    public var trailer: PDFDictionary
    /// Entries of this section (for hybrid sections: table entries, overlaid by the
    /// `/XRefStm` entries where the table has none or marks the object free).
    public var entries: [Int: XRefEntry]
    /// Object number of the xref stream itself (stream form only).
    public var streamObjectNumber: Int?
}
