import PDFSyntax

/// A signature found in a document: the field, its signature dictionary and the revision facts
/// a verifier needs. The CMS in `contents` is opaque at this layer.
public struct EmbeddedSignature: Sendable {
    public var fieldName: String
    public var fieldReference: PDFReference
    public var signatureReference: PDFReference?
    /// `/Type`: `Sig` or `DocTimeStamp`.
    public var type: String
    public var filter: String?
    public var subFilter: String?
    public var byteRange: [Int64]
    /// The DER bytes of `/Contents` with trailing zero padding removed.
    public var contents: [UInt8]
    /// `/M` as written, and parsed.
    public var signingTimeText: String?
    public var reason: String?
    public var location: String?
    public var contactInfo: String?
    public var name: String?
    /// Problems found in the dictionary or byte range (stable codes).
    public var problems: [String]
    /// Whether the byte range is `[0 a b c]` with the gap exactly the `/Contents` hex string.
    public var gapIsContentsToken: Bool
    /// Index into `PDFDocument.sections` (0 = newest) of the revision whose end the byte range
    /// reaches, or nil when it does not end at a revision's `%%EOF`.
    public var revisionSection: Int?
    /// Revision number counting from 1 = first revision.
    public var revisionNumber: Int?
}

/// Checks on a `/ByteRange` read from a file: every number is untrusted (an element near
/// `Int64.max` must not make `offset + length` trap).
public enum ByteRangeCheck {
    /// For `[o1 l1 o2 l2]` with non-negative numbers, both segments inside a file of `fileLength`
    /// bytes and the second after the first: the offset just after the second segment. Nil for
    /// anything else (wrong count, negative, overflowing, overlapping or beyond the file).
    public static func end(of byteRange: [Int64], fileLength: Int64) -> Int64? {
        guard byteRange.count == 4, byteRange.allSatisfy({ $0 >= 0 }) else { return nil }
        let (end1, o1) = byteRange[0].addingReportingOverflow(byteRange[1])
        let (end2, o2) = byteRange[2].addingReportingOverflow(byteRange[3])
        guard !o1, !o2, end1 <= byteRange[2], end2 <= fileLength else { return nil }
        return end2
    }

    /// The two covered segments as `(offset, length)`, when ``end(of:fileLength:)`` accepts the
    /// range.
    public static func segments(of byteRange: [Int64], fileLength: Int64) -> [(offset: Int64, length: Int64)]? {
        guard end(of: byteRange, fileLength: fileLength) != nil else { return nil }
        return [(byteRange[0], byteRange[1]), (byteRange[2], byteRange[3])]
    }
}

/// What the revisions after a signed one did.
public enum LaterChanges: String, Sendable, Codable {
    /// No later revision.
    case none
    /// Later revisions only add signatures, fill signature fields, or add DSS / form entries.
    case signaturesOnly = "signatures-only"
    /// A later revision changes other objects (page content, resources, ...).
    case content
}

public enum SignatureInspector {
    /// Every signature field that has a value, in field order.
    public static func signatures(in document: PDFDocument) throws -> [EmbeddedSignature] {
        let revisionEnds = try revisionEndOffsets(document)
        var result: [EmbeddedSignature] = []
        // Gaps already checked: many fields naming the same byte range must not each re-read it.
        var checkedGaps: [Range<Int64>: Bool] = [:]
        for field in try FormFields.all(in: document) where field.fieldType == "Sig" {
            guard let v = field.dictionary["V"] else { continue }
            guard let sig = try document.resolveDictionary(v) else { continue }
            var problems: [String] = []
            let br = (try document.resolve(sig["ByteRange"]).array ?? []).compactMap { $0.integer }
            var contents = sig["Contents"]?.string?.bytes ?? []
            // Strip the zero padding after the DER (the DER's own length says where it ends).
            contents = Self.trimDER(contents)
            var gapOK = false
            let coveredEnd = ByteRangeCheck.end(of: br, fileLength: document.source.length)
            if coveredEnd != nil, br[0] == 0, br[1] > 0, br[2] > br[1] {
                if let known = checkedGaps[br[1]..<br[2]] {
                    gapOK = known
                } else {
                    let open = try document.source.read(offset: br[1], count: 1)
                    let close = try document.source.read(offset: br[2] - 1, count: 1)
                    let gapLength = br[2] - br[1]
                    if open == [UInt8(ascii: "<")], close == [UInt8(ascii: ">")], gapLength >= 2, gapLength <= 64 << 20 {
                        let gap = try document.source.read(offset: br[1] + 1, count: Int(gapLength - 2))
                        gapOK = gap.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) || ($0 >= 0x61 && $0 <= 0x66) }
                    }
                    checkedGaps[br[1]..<br[2]] = gapOK
                }
                if !gapOK { problems.append("byteRange.gapNotContents") }
            } else {
                problems.append("byteRange.malformed")
            }
            var section: Int?
            if let end = coveredEnd {
                section = revisionEnds.firstIndex(of: end)
                if section == nil { problems.append("byteRange.notRevisionEnd") }
            }
            result.append(EmbeddedSignature(
                fieldName: field.name, fieldReference: field.reference, signatureReference: v.reference,
                type: sig["Type"]?.name?.value ?? "Sig",
                filter: sig["Filter"]?.name?.value, subFilter: sig["SubFilter"]?.name?.value,
                byteRange: br, contents: contents,
                signingTimeText: sig["M"]?.string?.text,
                reason: sig["Reason"]?.string?.text, location: sig["Location"]?.string?.text,
                contactInfo: sig["ContactInfo"]?.string?.text, name: sig["Name"]?.string?.text,
                problems: problems, gapIsContentsToken: gapOK, revisionSection: section,
                revisionNumber: section.map { document.sections.count - $0 }))
        }
        return result
    }

    /// For each section (newest first), the offset just after the `%%EOF` that closes its revision
    /// (and any single EOL after it), found from its `startxref`; -1 when there is none.
    ///
    /// One forward pass from the earliest section collects every `startxref N %%EOF`; each
    /// section then takes the first one after it that names its offset. The cost is linear in the
    /// file size however many sections the file has (a search per section would be quadratic).
    public static func revisionEndOffsets(_ document: PDFDocument) throws -> [Int64] {
        guard let scanStart = document.sections.map(\.absoluteOffset).min() else { return [] }
        // stated offset -> positions of "startxref" naming it (ascending) with the revision end.
        var markers: [Int64: [(position: Int64, end: Int64)]] = [:]
        let needle = Array("startxref".utf8)
        let eof = Array("%%EOF".utf8)
        let length = document.source.length
        var pos = max(0, scanStart)
        var lastPosition: Int64 = -1
        while pos < length {
            let chunk = try document.source.read(offset: pos, count: 1 << 20)
            if chunk.isEmpty { break }
            var from = 0
            while let i = ByteSearch.first(needle, in: chunk, from: from) {
                from = i + 1
                let at = pos + Int64(i) // < length
                guard at > lastPosition else { continue } // seen in the previous chunk's overlap
                lastPosition = at
                let tail = try document.source.read(offset: at + 9, count: 40)
                var lexer = PDFLexer(bytes: tail)
                guard case .integer(let n) = try? lexer.next().kind,
                      let e = ByteSearch.first(eof, in: tail, from: lexer.position), e - lexer.position < 8 else { continue }
                var end = at + 9 + Int64(e) + 5
                let after = try document.source.read(offset: end, count: 2)
                if after.first == 0x0D { end += 1; if after.count > 1, after[1] == 0x0A { end += 1 } } else if after.first == 0x0A { end += 1 }
                markers[n, default: []].append((at, end))
            }
            pos += Int64(max(1, chunk.count - needle.count))
        }
        return document.sections.map { section in
            markers[section.statedOffset]?.first { $0.position >= section.absoluteOffset }?.end ?? -1
        }
    }

    /// Compares each later revision with the one before it and classifies the changes.
    public static func laterChanges(after sectionIndex: Int, in document: PDFDocument) throws -> LaterChanges {
        guard sectionIndex > 0 else { return .none }
        let catalogRef = document.catalogReference
        for newer in stride(from: sectionIndex - 1, through: 0, by: -1) {
            for (number, entry) in document.sections[newer].entries {
                if case .free = entry { continue }
                let gen: Int
                if case .inFile(_, let g) = entry { gen = g } else { gen = 0 }
                let ref = PDFReference(number, gen)
                let new = try document.object(ref, fromSection: newer)
                let old = try document.object(ref, fromSection: newer + 1)
                if old.isNull || old == new { continue }
                if !isSignatureChange(old: old, new: new, isCatalog: ref == catalogRef) { return .content }
            }
        }
        return .signaturesOnly
    }

    static func isSignatureChange(old: PDFObject, new: PDFObject, isCatalog: Bool) -> Bool {
        func sameExcept(_ a: PDFDictionary, _ b: PDFDictionary, _ keys: Set<String>) -> Bool {
            let ka = Set(a.orderedKeys.map(\.value)).subtracting(keys)
            let kb = Set(b.orderedKeys.map(\.value)).subtracting(keys)
            guard ka == kb else { return false }
            return ka.allSatisfy { a[PDFName($0)] == b[PDFName($0)] }
        }
        switch (old, new) {
        case (.array(let a), .array(let b)):
            // Annots / Fields arrays that only grew.
            return a.allSatisfy { b.contains($0) }
        case (.dictionary(let a), .dictionary(let b)):
            if isCatalog { return sameExcept(a, b, ["AcroForm", "DSS", "Extensions", "Perms"]) }
            if a["Type"]?.name == "Page" { return sameExcept(a, b, ["Annots"]) }
            if a["FT"]?.name == "Sig", a["V"] == nil { return sameExcept(a, b, ["V", "AP", "F", "Lock"]) }
            if a["Fields"] != nil || b["Fields"] != nil || a["SigFlags"] != nil {
                return sameExcept(a, b, ["Fields", "SigFlags", "DR", "DA", "NeedAppearances"])
            }
            return false
        default:
            return false
        }
    }

    /// Removes the zero padding that follows a DER value (its length header says where it ends).
    public static func trimDER(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 2 else { return bytes }
        let first = bytes[1]
        var length = 0
        var header = 2
        if first < 0x80 {
            length = Int(first)
        } else {
            let n = Int(first & 0x7F)
            guard n >= 1, n <= 4, bytes.count >= 2 + n else { return bytes }
            for k in 0..<n { length = length << 8 | Int(bytes[2 + k]) }
            header = 2 + n
        }
        let total = header + length
        return total <= bytes.count ? Array(bytes[0..<total]) : bytes
    }
}
