/// Reads cross-reference sections: classic tables (7.5.4), streams (7.5.8) and hybrid files
/// (7.5.8.4), following `/Prev` with loop and count limits.
///
/// Cost is linear in the file size: every offset is visited once (a `/Prev` back to a visited
/// offset is `pdf.xrefLoop`), sections may not overlap (a section that starts inside, or
/// reaches into, bytes an earlier section was read from is `pdf.xref`), each `/XRefStm` stream is
/// decoded once however many trailers name it, and an xref stream is decoded only up to what its
/// `/W` and `/Index` need.
final class XRefReader {
    let document: PDFDocument
    /// Harmless deviations accepted while reading (see ``PDFDocument/warnings``).
    private(set) var warnings: [String] = []
    /// Byte ranges (absolute) already read as cross-reference sections.
    private var readRanges: [Range<Int64>] = []
    /// Hidden xref streams of hybrid files, by absolute offset.
    private var hiddenStreams: [Int64: XRefSection] = [:]
    private var warnedFreeHead = false

    init(document: PDFDocument) {
        self.document = document
    }

    private var limits: PDFReaderLimits { document.limits }
    private var allowance: Int { limits.objectAllowance(fileLength: document.source.length) }

    func readChain(startOffset: Int64) throws -> [XRefSection] {
        var sections: [XRefSection] = []
        var visited: Set<Int64> = []
        var next: Int64? = startOffset
        while let stated = next {
            guard visited.insert(stated).inserted else {
                throw PDFError(.xrefLoop, "the /Prev chain of cross-reference sections loops back to offset \(stated); the file is damaged", offset: try? document.absolute(stated))
            }
            guard sections.count < limits.maxRevisions else {
                throw PDFError(.limitExceeded, "more than \(limits.maxRevisions) cross-reference sections")
            }
            let section = try readSection(statedOffset: stated)
            sections.append(section)
            if let prev = section.trailer["Prev"] {
                guard let p = prev.integer, p >= 0 else {
                    throw PDFError(.xref, "trailer /Prev is not a non-negative integer", offset: section.absoluteOffset)
                }
                next = p
            } else {
                next = nil
            }
        }
        return sections
    }

    /// Records that `range` was read as a section; refuses a section that overlaps an earlier one
    /// (no real file has that, and re-reading the same bytes as many sections is how a small file
    /// would make reading quadratic).
    private func claim(_ range: Range<Int64>, statedOffset: Int64) throws {
        if let other = readRanges.first(where: { $0.overlaps(range) }) {
            throw PDFError(.xref, "the cross-reference section at offset \(statedOffset) overlaps the one read from bytes \(other.lowerBound)..<\(other.upperBound); the file is damaged: re-save it with a PDF tool (e.g. `qpdf in.pdf out.pdf`)", offset: range.lowerBound)
        }
        readRanges.append(range)
    }

    func readSection(statedOffset: Int64) throws -> XRefSection {
        let absolute = try document.absolute(statedOffset)
        guard absolute >= 0, absolute < document.source.length else {
            throw PDFError(.xref, "cross-reference offset \(statedOffset) lies outside the file (\(document.source.length) bytes); the file is truncated or damaged", offset: absolute)
        }
        let probe = try document.source.read(offset: absolute, count: 32)
        var lexer = PDFLexer(bytes: probe, base: absolute, windowIsComplete: probe.count < 32)
        let first = (try? lexer.next())?.kind
        if case .keyword("xref") = first {
            return try readTable(statedOffset: statedOffset, absolute: absolute)
        }
        if case .integer = first {
            let (section, end) = try readStream(statedOffset: statedOffset, absolute: absolute)
            try claim(absolute..<end, statedOffset: statedOffset)
            return section
        }
        throw PDFError(.xref, "no cross-reference section at offset \(statedOffset)", offset: absolute)
    }

    private func readTable(statedOffset: Int64, absolute: Int64) throws -> XRefSection {
        // Start small: a file of many small sections must not cost a large read per section.
        var window = 4096
        // 20 bytes per entry; saturating so that a configured limit cannot overflow.
        let maxWindow = allowance.multipliedReportingOverflow(by: 20).partialValue.addingReportingOverflow(64 * 1024)
        let cap = maxWindow.overflow || maxWindow.partialValue < 0 ? Int.max : maxWindow.partialValue
        while true {
            let bytes = try document.source.read(offset: absolute, count: window)
            let complete = Int64(bytes.count) < Int64(window) || absolute + Int64(bytes.count) >= document.source.length
            do {
                return try parseTable(bytes: bytes, statedOffset: statedOffset, absolute: absolute, complete: complete)
            } catch is PDFLexer.NeedMoreData {
                guard window < cap else {
                    throw PDFError(.limitExceeded, "cross-reference table larger than \(cap) bytes", offset: absolute)
                }
                window = window > cap / 4 ? cap : window * 4
            }
        }
    }

    private func parseTable(bytes: [UInt8], statedOffset: Int64, absolute: Int64, complete: Bool) throws -> XRefSection {
        var parser = PDFParser(lexer: PDFLexer(bytes: bytes, base: absolute, windowIsComplete: complete), limits: limits)
        _ = try parser.lexer.next() // xref
        var entries: [Int: XRefEntry] = [:]
        var freeHeadWarning: String?
        while true {
            let t = try parser.lexer.next()
            switch t.kind {
            case .keyword("trailer"):
                guard case .dictionary(let trailer) = try parser.parseObject() else {
                    throw PDFError(.xref, "the trailer is not a dictionary", offset: t.offset)
                }
                try claim(absolute..<parser.lexer.absolutePosition, statedOffset: statedOffset)
                if let freeHeadWarning, !warnedFreeHead {
                    warnings.append(freeHeadWarning)
                    warnedFreeHead = true
                }
                var section = XRefSection(statedOffset: statedOffset, absoluteOffset: absolute, form: .table, trailer: trailer, entries: entries)
                if let xrefStm = trailer["XRefStm"] {
                    guard let o = xrefStm.integer, o >= 0 else {
                        throw PDFError(.xref, "trailer /XRefStm is not an offset", offset: t.offset)
                    }
                    let hidden = try hiddenStream(statedOffset: o)
                    for (number, entry) in hidden.entries {
                        switch entries[number] {
                        case nil, .free?: section.entries[number] = entry
                        default: break
                        }
                    }
                    section.form = .hybrid
                }
                return section
            case .integer(let startValue):
                let countToken = try parser.lexer.next()
                guard case .integer(let countValue) = countToken.kind else {
                    throw PDFError(.xref, "malformed cross-reference subsection header", offset: t.offset)
                }
                let start = try startValue.checkedInt(in: 0...allowance, "first object number of the cross-reference subsection", offset: t.offset)
                let count = try countValue.checkedInt(in: 0...(allowance - start), "entry count of the cross-reference subsection starting at object \(start)", offset: countToken.offset)
                for i in 0..<count {
                    let number = start + i
                    let o = try parser.lexer.next(), g = try parser.lexer.next(), k = try parser.lexer.next()
                    guard case .integer(let off) = o.kind, case .integer(let gen) = g.kind, case .keyword(let kind) = k.kind,
                          off >= 0, gen >= 0 else {
                        throw PDFError(.xref, "malformed cross-reference entry for object \(number)", offset: o.offset, objectNumber: number)
                    }
                    var generation = gen
                    if gen > 65535 {
                        // Harmless deviation: some producers write the head of the free list
                        // (object 0) as `0000000000 65536 f`. It only ends the list.
                        guard number == 0, gen == 65536, kind == "f" else {
                            throw PDFError(.numberOutOfRange, "cross-reference entry for object \(number) has generation \(gen); generations end at 65535", offset: g.offset, objectNumber: number)
                        }
                        freeHeadWarning = "the free-list head (object 0) has generation 65536 instead of 65535; read as 65535"
                        generation = 65535
                    }
                    switch kind {
                    case "n":
                        if entries[number] == nil { entries[number] = .inFile(offset: off, generation: Int(generation)) }
                    case "f":
                        if entries[number] == nil { entries[number] = .free(nextGeneration: Int(generation)) }
                    default:
                        throw PDFError(.xref, "cross-reference entry type '\(kind)' is neither 'n' nor 'f'", offset: k.offset, objectNumber: number)
                    }
                }
            case .endOfInput:
                throw PDFError(.truncated, "the file ends inside a cross-reference table", offset: t.offset)
            default:
                throw PDFError(.xref, "unexpected token in cross-reference table", offset: t.offset)
            }
        }
    }

    /// The `/XRefStm` stream of a hybrid section, read and decoded once per offset.
    private func hiddenStream(statedOffset: Int64) throws -> XRefSection {
        let absolute = try document.absolute(statedOffset)
        if let cached = hiddenStreams[absolute] { return cached }
        guard absolute >= 0, absolute < document.source.length else {
            throw PDFError(.xref, "trailer /XRefStm \(statedOffset) lies outside the file (\(document.source.length) bytes)", offset: absolute)
        }
        let (section, end) = try readStream(statedOffset: statedOffset, absolute: absolute)
        try claim(absolute..<end, statedOffset: statedOffset)
        hiddenStreams[absolute] = section
        return section
    }

    /// Reads an xref stream; returns the section and the absolute offset just after its data.
    private func readStream(statedOffset: Int64, absolute: Int64) throws -> (XRefSection, Int64) {
        let (ref, object) = try document.parseIndirectObject(atAbsolute: absolute, expected: nil)
        guard case .stream(let stream) = object, stream.dictionary["Type"]?.name == "XRef" else {
            throw PDFError(.xref, "the object at the cross-reference offset is not an xref stream", offset: absolute, objectNumber: ref.number)
        }
        let end: Int64
        switch stream.data {
        case .located(let offset, let length): end = offset + Int64(length) // both checked against the file length
        case .bytes: end = absolute + 1
        }
        let dict = stream.dictionary
        guard let wObjects = dict["W"]?.array, wObjects.count == 3 else {
            throw PDFError(.xref, "xref stream /W must be three integers between 0 and 8", offset: absolute, objectNumber: ref.number)
        }
        let w = try wObjects.map { o -> Int in
            guard let v = o.integer else {
                throw PDFError(.xref, "xref stream /W must be three integers between 0 and 8", offset: absolute, objectNumber: ref.number)
            }
            return try v.checkedInt(in: 0...8, "xref stream /W field width", offset: absolute, objectNumber: ref.number)
        }
        guard let sizeValue = dict["Size"]?.integer else {
            throw PDFError(.xref, "xref stream /Size is missing or not an integer", offset: absolute, objectNumber: ref.number)
        }
        let size = try sizeValue.checkedInt(in: 0...allowance, "xref stream /Size (objects a \(document.source.length)-byte file can hold)", offset: absolute, objectNumber: ref.number)
        var index: [(start: Int, count: Int)] = []
        var total = 0
        if let idx = dict["Index"]?.array {
            guard idx.count % 2 == 0, idx.allSatisfy({ $0.integer != nil }) else {
                throw PDFError(.xref, "xref stream /Index must be pairs of integers", offset: absolute, objectNumber: ref.number)
            }
            let values = idx.compactMap { $0.integer }
            for i in stride(from: 0, to: values.count, by: 2) {
                let start = try values[i].checkedInt(in: 0...allowance, "xref stream /Index first object number", offset: absolute, objectNumber: ref.number)
                let count = try values[i + 1].checkedInt(in: 0...(allowance - start), "xref stream /Index entry count for the run starting at object \(start)", offset: absolute, objectNumber: ref.number)
                total = try total.checkedAdding(count, "total of the xref stream /Index entry counts", offset: absolute, objectNumber: ref.number)
                guard total <= allowance else {
                    throw PDFError(.numberOutOfRange, "xref stream /Index announces \(total) entries, more than a \(document.source.length)-byte file can hold (at most \(allowance))", offset: absolute, objectNumber: ref.number)
                }
                index.append((start, count))
            }
        } else {
            index = [(0, size)]
            total = size
        }
        let rowWidth = w[0] + w[1] + w[2]
        guard rowWidth > 0 else { throw PDFError(.xref, "xref stream rows have zero width", offset: absolute) }
        // total ≤ 10 million and rowWidth ≤ 24: no overflow. A predictor adds at most one tag byte
        // per column byte, so twice the rows (plus slack) is all the decoder may produce.
        let needed = total * rowWidth
        let data = try document.decodedStreamData(stream, objectNumber: ref.number, maxDecodedBytes: needed * 2 + 1024)
        guard data.count >= needed else {
            throw PDFError(.xref, "xref stream holds \(data.count / rowWidth) entries but /Index announces \(total)", offset: absolute, objectNumber: ref.number)
        }
        func field(_ pos: Int, _ width: Int) -> Int64 {
            var v: Int64 = 0
            for k in 0..<width { v = v << 8 | Int64(data[pos + k]) }
            return v
        }
        var entries: [Int: XRefEntry] = [:]
        var pos = 0
        for (start, count) in index {
            for i in 0..<count {
                let type = w[0] == 0 ? 1 : field(pos, w[0])
                let f2 = field(pos + w[0], w[1])
                let f3 = field(pos + w[0] + w[1], w[2])
                pos += rowWidth
                let number = start + i
                guard entries[number] == nil else { continue }
                switch type {
                case 0: entries[number] = .free(nextGeneration: Int(truncatingIfNeeded: f3))
                case 1:
                    // An offset with the top bit set reads as negative; it is refused where the
                    // object is looked up ("outside the file"), as is any offset past the end.
                    entries[number] = .inFile(offset: f2, generation: Int(truncatingIfNeeded: f3))
                case 2:
                    guard f2 >= 0, f3 >= 0, f2 <= Int64(limits.maxObjects), f3 <= Int64(limits.maxObjects) else {
                        throw PDFError(.numberOutOfRange, "xref stream entry for object \(number) names object stream \(f2), index \(f3): out of range", offset: absolute, objectNumber: number)
                    }
                    entries[number] = .inObjectStream(streamNumber: Int(f2), index: Int(f3))
                default: break // Unknown types are treated as null references (7.5.8.3).
                }
            }
        }
        let section = XRefSection(statedOffset: statedOffset, absoluteOffset: absolute, form: .stream, trailer: dict, entries: entries, streamObjectNumber: ref.number)
        return (section, end)
    }
}
