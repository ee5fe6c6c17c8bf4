/// Reads cross-reference sections: classic tables (7.5.4), streams (7.5.8) and hybrid files
/// (7.5.8.4), following `/Prev` with loop and count limits.
struct XRefReader {
    let document: PDFDocument

    func readChain(startOffset: Int64) throws -> [XRefSection] {
        var sections: [XRefSection] = []
        var visited: Set<Int64> = []
        var next: Int64? = startOffset
        while let stated = next {
            guard visited.insert(stated).inserted else {
                throw PDFError(.xrefLoop, "the /Prev chain of cross-reference sections loops back to offset \(stated); the file is damaged", offset: document.absolute(stated))
            }
            guard sections.count < document.limits.maxRevisions else {
                throw PDFError(.limitExceeded, "more than \(document.limits.maxRevisions) cross-reference sections")
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

    func readSection(statedOffset: Int64) throws -> XRefSection {
        let absolute = document.absolute(statedOffset)
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
            return try readStream(statedOffset: statedOffset, absolute: absolute)
        }
        throw PDFError(.xref, "no cross-reference section at offset \(statedOffset)", offset: absolute)
    }

    private func readTable(statedOffset: Int64, absolute: Int64) throws -> XRefSection {
        var window = 64 * 1024
        let maxWindow = document.limits.maxObjects * 20 + 64 * 1024
        while true {
            let bytes = try document.source.read(offset: absolute, count: window)
            let complete = Int64(bytes.count) < Int64(window) || absolute + Int64(bytes.count) >= document.source.length
            do {
                return try parseTable(bytes: bytes, statedOffset: statedOffset, absolute: absolute, complete: complete)
            } catch is PDFLexer.NeedMoreData {
                guard window < maxWindow else {
                    throw PDFError(.limitExceeded, "cross-reference table larger than \(maxWindow) bytes", offset: absolute)
                }
                window = min(maxWindow, window * 4)
            }
        }
    }

    private func parseTable(bytes: [UInt8], statedOffset: Int64, absolute: Int64, complete: Bool) throws -> XRefSection {
        var parser = PDFParser(lexer: PDFLexer(bytes: bytes, base: absolute, windowIsComplete: complete), limits: document.limits)
        _ = try parser.lexer.next() // xref
        var entries: [Int: XRefEntry] = [:]
        while true {
            let t = try parser.lexer.next()
            switch t.kind {
            case .keyword("trailer"):
                guard case .dictionary(let trailer) = try parser.parseObject() else {
                    throw PDFError(.xref, "the trailer is not a dictionary", offset: t.offset)
                }
                var section = XRefSection(statedOffset: statedOffset, absoluteOffset: absolute, form: .table, trailer: trailer, entries: entries)
                if let xrefStm = trailer["XRefStm"] {
                    guard let o = xrefStm.integer, o >= 0 else {
                        throw PDFError(.xref, "trailer /XRefStm is not an offset", offset: t.offset)
                    }
                    let hidden = try readStream(statedOffset: o, absolute: document.absolute(o))
                    for (number, entry) in hidden.entries {
                        switch entries[number] {
                        case nil, .free?: section.entries[number] = entry
                        default: break
                        }
                    }
                    section.form = .hybrid
                }
                return section
            case .integer(let start):
                guard case .integer(let count) = try parser.lexer.next().kind, start >= 0, count >= 0,
                      start + count <= Int64(document.limits.maxObjects) else {
                    throw PDFError(.xref, "malformed cross-reference subsection header", offset: t.offset)
                }
                for i in 0..<Int(count) {
                    let o = try parser.lexer.next(), g = try parser.lexer.next(), k = try parser.lexer.next()
                    guard case .integer(let off) = o.kind, case .integer(let gen) = g.kind, case .keyword(let kind) = k.kind,
                          off >= 0, gen >= 0, gen <= 65535 else {
                        throw PDFError(.xref, "malformed cross-reference entry for object \(Int(start) + i)", offset: o.offset, objectNumber: Int(start) + i)
                    }
                    let number = Int(start) + i
                    switch kind {
                    case "n":
                        if entries[number] == nil { entries[number] = .inFile(offset: off, generation: Int(gen)) }
                    case "f":
                        if entries[number] == nil { entries[number] = .free(nextGeneration: Int(gen)) }
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

    private func readStream(statedOffset: Int64, absolute: Int64) throws -> XRefSection {
        let (ref, object) = try document.parseIndirectObject(atAbsolute: absolute, expected: nil)
        guard case .stream(let stream) = object, stream.dictionary["Type"]?.name == "XRef" else {
            throw PDFError(.xref, "the object at the cross-reference offset is not an xref stream", offset: absolute, objectNumber: ref.number)
        }
        let dict = stream.dictionary
        guard let w = dict["W"]?.array?.compactMap({ $0.intValue }), w.count == 3, w.allSatisfy({ $0 >= 0 && $0 <= 8 }) else {
            throw PDFError(.xref, "xref stream /W must be three integers between 0 and 8", offset: absolute, objectNumber: ref.number)
        }
        guard let size = dict["Size"]?.intValue, size >= 0, size <= document.limits.maxObjects else {
            throw PDFError(.xref, "xref stream /Size is missing or out of range", offset: absolute, objectNumber: ref.number)
        }
        var index: [(Int, Int)] = []
        if let idx = dict["Index"]?.array {
            let ints = idx.compactMap { $0.intValue }
            guard ints.count == idx.count, ints.count % 2 == 0 else {
                throw PDFError(.xref, "xref stream /Index must be pairs of integers", offset: absolute, objectNumber: ref.number)
            }
            for i in stride(from: 0, to: ints.count, by: 2) {
                guard ints[i] >= 0, ints[i + 1] >= 0, ints[i] + ints[i + 1] <= document.limits.maxObjects else {
                    throw PDFError(.xref, "xref stream /Index out of range", offset: absolute, objectNumber: ref.number)
                }
                index.append((ints[i], ints[i + 1]))
            }
        } else {
            index = [(0, size)]
        }
        let data = try document.decodedStreamData(stream, objectNumber: ref.number)
        let rowWidth = w[0] + w[1] + w[2]
        guard rowWidth > 0 else { throw PDFError(.xref, "xref stream rows have zero width", offset: absolute) }
        let total = index.reduce(0) { $0 + $1.1 }
        guard data.count >= total * rowWidth else {
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
                case 1: entries[number] = .inFile(offset: f2, generation: Int(truncatingIfNeeded: f3))
                case 2:
                    guard f2 <= Int64(document.limits.maxObjects), f3 <= Int64(document.limits.maxObjects) else {
                        throw PDFError(.xref, "xref stream entry for object \(number) is out of range", offset: absolute, objectNumber: number)
                    }
                    entries[number] = .inObjectStream(streamNumber: Int(f2), index: Int(f3))
                default: break // Unknown types are treated as null references (7.5.8.3).
                }
            }
        }
        return XRefSection(statedOffset: statedOffset, absoluteOffset: absolute, form: .stream, trailer: dict, entries: entries, streamObjectNumber: ref.number)
    }
}
