/// A PDF document opened for reading through a ``PDFByteSource``.
///
/// Opening reads the header, the tail and the cross-reference chain; objects are parsed on
/// demand, so memory stays proportional to the objects touched, not the file size.
///
/// Policy on broken files: the reader does **not** repair. A damaged cross-reference (offset
/// pointing at the wrong object, truncated table, looping `/Prev`) is an error with a code, the
/// offset and the object number. Tolerated deviations are the harmless ones real producers write,
/// each reported in ``warnings`` so the caller can say so in its result (docs/pdf-support.md):
/// bytes before `%PDF-` with offsets counted from the header (as Acrobat accepts them), the
/// free-list head written with generation 65536, and a trailer `/Size` smaller than the highest
/// object number + 1 (new objects are then numbered after the highest one).
///
/// Hostile numbers never trap: every offset, length and count the file states goes through
/// checked arithmetic (`pdf.numberOutOfRange`), and a `/Size` or object count larger than the
/// file could hold objects for (``PDFReaderLimits/objectAllowance(fileLength:)``) is refused.
public final class PDFDocument {
    public let source: any PDFByteSource
    public let limits: PDFReaderLimits
    /// Offset of `%PDF-` in the file.
    public let headerOffset: Int64
    /// The version in the header, e.g. "1.7"; the catalog's /Version may raise it.
    public let headerVersion: String
    /// Amount added to every offset the file states (non-zero only for shifted files).
    public private(set) var offsetShift: Int64 = 0
    /// Cross-reference sections, newest first.
    public private(set) var sections: [XRefSection] = []
    /// The `startxref` value of the newest revision, as stated.
    public private(set) var startXRef: Int64 = 0
    /// Non-fatal observations about the file (never silently guessed).
    public private(set) var warnings: [String] = []
    /// Highest object number any cross-reference section has an entry for (0 when none).
    public private(set) var highestObjectNumber = 0

    private var objectStreamCache: [Int: (offsets: [(Int, Int)], first: Int, data: [UInt8])] = [:]
    private var cache: [PDFReference: PDFObject] = [:]
    private var resolving: Set<PDFReference> = []

    public init(source: any PDFByteSource, limits: PDFReaderLimits = PDFReaderLimits()) throws {
        self.source = source
        self.limits = limits
        let head = try source.read(offset: 0, count: 1024)
        guard let h = ByteSearch.first(Array("%PDF-".utf8), in: head) else {
            throw PDFError(.notPDF, "no %PDF- header in the first 1024 bytes: this is not a PDF file", offset: 0)
        }
        headerOffset = Int64(h)
        var v = h + 5
        var version: [UInt8] = []
        while v < head.count, (head[v] >= 0x30 && head[v] <= 0x39) || head[v] == UInt8(ascii: ".") { version.append(head[v]); v += 1 }
        headerVersion = String(decoding: version, as: UTF8.self)
        guard ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.0"].contains(headerVersion) else {
            throw PDFError(.notPDF, "unsupported PDF header version '\(headerVersion)'; PDF 1.0 to 2.0 are supported", offset: headerOffset)
        }
        startXRef = try Self.findStartXRef(source)
        try loadSections()
        try checkSize()
        if trailer["Encrypt"] != nil {
            throw PDFError(.encrypted, "the document is encrypted; signd cannot sign or verify encrypted PDFs yet: ask the sender for an unencrypted copy (for example `qpdf --decrypt in.pdf out.pdf` with the password)")
        }
        guard trailer["Root"]?.reference != nil else {
            throw PDFError(.structure, "the trailer has no /Root reference to the document catalog")
        }
    }

    private func loadSections() throws {
        let reader = XRefReader(document: self)
        do {
            sections = try reader.readChain(startOffset: startXRef)
            warnings += reader.warnings
        } catch let first as PDFError where headerOffset > 0 && first.code != .xrefLoop && first.code != .limitExceeded {
            // Files with bytes before the header often count offsets from the header.
            offsetShift = headerOffset
            cache = [:]
            objectStreamCache = [:]
            let shifted = XRefReader(document: self)
            do {
                sections = try shifted.readChain(startOffset: startXRef)
                warnings.append("the file has \(headerOffset) bytes before %PDF-; its offsets count from the header and were read shifted by \(headerOffset)")
                warnings += shifted.warnings
            } catch {
                offsetShift = 0
                throw first
            }
        }
    }

    /// Checks every trailer's `/Size` (7.5.5): a non-negative integer that the file could hold
    /// objects for. A `/Size` smaller than the highest object number + 1 is a harmless deviation
    /// (accepted with a warning; ``nextObjectNumber`` numbers new objects after the highest one);
    /// one far larger than the file could hold is refused, so that it is never signed into an
    /// output whose object numbers no reader accepts.
    private func checkSize() throws {
        highestObjectNumber = sections.lazy.compactMap { $0.entries.keys.max() }.max() ?? 0
        let allowance = limits.objectAllowance(fileLength: source.length)
        for section in sections {
            guard let value = section.trailer["Size"] else { continue }
            guard let size = value.integer, size >= 0 else {
                throw PDFError(.numberOutOfRange, "trailer /Size is not a non-negative integer", offset: section.absoluteOffset)
            }
            guard size <= Int64(allowance) else {
                throw PDFError(.numberOutOfRange, "trailer /Size \(size) claims more objects than a \(source.length)-byte file can hold (at most \(allowance)); the file is damaged: re-save it with a PDF tool (e.g. `qpdf in.pdf out.pdf`)", offset: section.absoluteOffset)
            }
        }
        if let newest = sections.first?.trailer["Size"]?.intValue, newest <= highestObjectNumber {
            warnings.append("trailer /Size \(newest) is not more than the highest object number \(highestObjectNumber); new objects are numbered from \(highestObjectNumber + 1)")
        }
    }

    /// Newest trailer.
    public var trailer: PDFDictionary { sections[0].trailer }
    /// Form of the newest cross-reference section.
    public var lastXRefForm: XRefForm { sections[0].form }
    /// `/Size` of the newest trailer: one more than the highest object number in use.
    public var size: Int { sections.map { $0.trailer["Size"]?.intValue ?? 0 }.max() ?? 0 }

    /// The absolute offset of an offset the file states (`pdf.numberOutOfRange` if the shift
    /// overflows).
    public func absolute(_ stated: Int64) throws -> Int64 {
        try stated.checkedAdding(offsetShift, "offset \(stated) shifted by the \(offsetShift) bytes before %PDF-")
    }

    /// The first object number an update may allocate: after `/Size` and after every object number
    /// the cross-reference data uses (a `/Size` that is too small must not make new objects
    /// replace existing ones).
    public var nextObjectNumber: Int { Swift.max(size, highestObjectNumber + 1) }

    // MARK: - Objects

    /// The xref entry for an object, looking at sections from `sectionIndex` (0 = newest) back.
    public func entry(for number: Int, fromSection sectionIndex: Int = 0) -> XRefEntry? {
        guard sectionIndex < sections.count else { return nil }
        for s in sections[sectionIndex...] {
            if let e = s.entries[number] { return e }
        }
        return nil
    }

    /// The object a reference names, in the newest revision (`null` for free or absent objects, as
    /// ISO 32000-1 7.3.10 requires).
    public func object(_ ref: PDFReference) throws -> PDFObject {
        try object(ref, fromSection: 0)
    }

    public func object(_ ref: PDFReference, fromSection sectionIndex: Int) throws -> PDFObject {
        if sectionIndex == 0, let cached = cache[ref] { return cached }
        guard resolving.insert(ref).inserted, resolving.count < 64 else {
            throw PDFError(.structure, "object \(ref.number) refers to itself while being read", objectNumber: ref.number)
        }
        defer { resolving.remove(ref) }
        let result: PDFObject
        switch entry(for: ref.number, fromSection: sectionIndex) {
        case nil, .free?:
            result = .null
        case .inFile(let offset, let generation)?:
            if generation != ref.generation {
                result = .null
            } else {
                let absolute = try absolute(offset)
                guard absolute >= 0, absolute < source.length else {
                    throw PDFError(.xref, "the xref puts object \(ref.number) at offset \(offset), outside the file", offset: absolute, objectNumber: ref.number)
                }
                result = try parseIndirectObject(atAbsolute: absolute, expected: ref).1
            }
        case .inObjectStream(let streamNumber, let index)?:
            result = ref.generation == 0 ? try objectFromObjectStream(streamNumber, index: index, number: ref.number) : .null
        }
        if sectionIndex == 0 { cache[ref] = result }
        return result
    }

    /// Follows references until a direct object.
    public func resolve(_ object: PDFObject?) throws -> PDFObject {
        var current = object ?? .null
        var hops = 0
        while case .reference(let r) = current {
            hops += 1
            guard hops < 32 else { throw PDFError(.structure, "reference chain too long", objectNumber: r.number) }
            current = try self.object(r)
        }
        return current
    }

    public func resolveDictionary(_ object: PDFObject?) throws -> PDFDictionary? {
        try resolve(object).dictionary
    }

    /// Parses `n g obj ... endobj` at an absolute offset.
    public func parseIndirectObject(atAbsolute offset: Int64, expected: PDFReference?) throws -> (PDFReference, PDFObject) {
        var window = 4096
        while true {
            let bytes = try source.read(offset: offset, count: window)
            let complete = offset + Int64(bytes.count) >= source.length
            var parser = PDFParser(lexer: PDFLexer(bytes: bytes, base: offset, windowIsComplete: complete), limits: limits)
            do {
                let ref = try parser.parseObjectHeader()
                if let expected, ref != expected {
                    throw PDFError(.objectMismatch, "the cross-reference data puts object \(expected.number) \(expected.generation) at offset \(offset), but object \(ref.number) \(ref.generation) is there: the xref is damaged; re-save the file with a PDF tool (e.g. `qpdf in.pdf out.pdf`) and resubmit", offset: offset, objectNumber: expected.number)
                }
                let object = try parser.parseObject()
                let t = try parser.lexer.next()
                switch t.kind {
                case .keyword("endobj"):
                    return (ref, object)
                case .keyword("stream"):
                    guard case .dictionary(let dict) = object else {
                        throw PDFError(.syntax, "'stream' after a non-dictionary", offset: t.offset, objectNumber: ref.number)
                    }
                    // The keyword is followed by CRLF or LF (7.3.8.1); a lone CR is tolerated.
                    var p = parser.lexer.position
                    if p < bytes.count, bytes[p] == 0x0D { p += 1 }
                    if p < bytes.count, bytes[p] == 0x0A { p += 1 }
                    if p >= bytes.count && !complete { throw PDFLexer.NeedMoreData() }
                    let dataOffset = offset + Int64(p)
                    let length = try resolveLength(dict["Length"], objectNumber: ref.number, at: t.offset)
                    guard try dataOffset.checkedAdding(Int64(length), "stream data end of object \(ref.number)", offset: dataOffset, objectNumber: ref.number) <= source.length else {
                        throw PDFError(.truncated, "stream data of object \(ref.number) (/Length \(length)) runs past the end of the file", offset: dataOffset, objectNumber: ref.number)
                    }
                    return (ref, .stream(PDFStream(dictionary: dict, data: .located(offset: dataOffset, length: length))))
                case .endOfInput:
                    throw PDFError(.truncated, "the file ends inside object \(ref.number)", offset: offset, objectNumber: ref.number)
                default:
                    // Missing endobj is common and harmless when the next token starts another object.
                    return (ref, object)
                }
            } catch is PDFLexer.NeedMoreData {
                guard window < limits.maxObjectBytes else {
                    throw PDFError(.limitExceeded, "object larger than \(limits.maxObjectBytes) bytes", offset: offset, objectNumber: expected?.number)
                }
                window = min(limits.maxObjectBytes, window * 8)
            } catch let e as PDFError {
                throw expected.map { e.inObject($0.number) } ?? e
            }
        }
    }

    private func resolveLength(_ value: PDFObject?, objectNumber: Int, at offset: Int64) throws -> Int {
        let resolved = try resolve(value)
        guard let l = resolved.integer else {
            throw PDFError(.syntax, "stream /Length is missing or not an integer", offset: offset, objectNumber: objectNumber)
        }
        guard l >= 0, l <= Int64(Int32.max) * 64, let length = Int(exactly: l) else {
            throw PDFError(.numberOutOfRange, "stream /Length \(l) is negative or larger than any file signd reads", offset: offset, objectNumber: objectNumber)
        }
        return length
    }

    // MARK: - Streams

    /// The raw (encoded) bytes of a stream. Checks that `endstream` follows the data.
    public func rawStreamData(_ stream: PDFStream, objectNumber: Int? = nil) throws -> [UInt8] {
        switch stream.data {
        case .bytes(let b): return b
        case .located(let offset, let length):
            guard length <= limits.maxEncodedStreamBytes else {
                throw PDFError(.limitExceeded, "stream of \(length) bytes is larger than the \(limits.maxEncodedStreamBytes)-byte limit for streams the reader must load", offset: offset, objectNumber: objectNumber)
            }
            let bytes = try source.read(offset: offset, count: length + 32)
            guard bytes.count >= length else {
                throw PDFError(.truncated, "stream data runs past the end of the file", offset: offset, objectNumber: objectNumber)
            }
            try checkEndstream(Array(bytes[length...]), at: offset + Int64(length), length: length, offset: offset, objectNumber: objectNumber)
            return Array(bytes[0..<length])
        }
    }

    /// Checks that `endstream` follows `length` bytes of stream data at `offset` (a stream whose
    /// `/Length` is wrong is damaged: the reader does not guess where it ends).
    private func checkEndstream(offset: Int64, length: Int, objectNumber: Int?) throws {
        let end = try offset.checkedAdding(Int64(length), "end of stream data", offset: offset, objectNumber: objectNumber)
        guard end <= source.length else {
            throw PDFError(.truncated, "stream data runs past the end of the file", offset: offset, objectNumber: objectNumber)
        }
        try checkEndstream(try source.read(offset: end, count: 32), at: end, length: length, offset: offset, objectNumber: objectNumber)
    }

    private func checkEndstream(_ after: [UInt8], at end: Int64, length: Int, offset: Int64, objectNumber: Int?) throws {
        var lexer = PDFLexer(bytes: after, base: end)
        guard case .keyword("endstream") = (try? lexer.next())?.kind else {
            throw PDFError(.syntax, "stream /Length \(length) does not end at 'endstream'; the file is damaged", offset: offset, objectNumber: objectNumber)
        }
    }

    /// The decoded bytes of a stream. Only FlateDecode (with predictors) and no filter are
    /// supported: that is what cross-reference and object streams use.
    ///
    /// - Parameter maxDecodedBytes: the most bytes the caller can need from this stream; by
    ///   default ``PDFReaderLimits/maxDecodedStreamBytes`` (object streams). The xref reader
    ///   passes what `/W` and `/Index` announce (twice, for predictor tags), which the object
    ///   allowance keeps proportional to the file size. Each FlateDecode stage stops with
    ///   `pdf.limitExceeded` as soon as its output would pass it, so memory stays bounded by it
    ///   whatever the compression ratio.
    public func decodedStreamData(_ stream: PDFStream, objectNumber: Int? = nil, maxDecodedBytes: Int? = nil) throws -> [UInt8] {
        let cap = Swift.max(0, maxDecodedBytes ?? limits.maxDecodedStreamBytes)
        let filters: [PDFObject]
        switch try resolve(stream.dictionary["Filter"]) {
        case .null: filters = []
        case .name(let n): filters = [.name(n)]
        case .array(let a): filters = a
        default: throw PDFError(.syntax, "stream /Filter is neither a name nor an array", objectNumber: objectNumber)
        }
        // Real files chain at most two or three filters; each stage costs up to `cap`.
        guard filters.count <= 8 else {
            throw PDFError(.limitExceeded, "stream has \(filters.count) filters; at most 8 are decoded", objectNumber: objectNumber)
        }
        let parmsList: [PDFObject]
        switch try resolve(stream.dictionary["DecodeParms"]) {
        case .array(let a): parmsList = a
        case .null: parmsList = []
        case let other: parmsList = [other]
        }
        // A first FlateDecode stage reads the encoded bytes from the source piece by piece, so
        // neither side of it is ever held whole beyond the cap.
        var data: [UInt8] = []
        let streamsFromSource: Bool
        if case .located(let offset, let length) = stream.data, let first = filters.first?.name?.value, first == "FlateDecode" || first == "Fl" {
            try checkEndstream(offset: offset, length: length, objectNumber: objectNumber)
            streamsFromSource = true
        } else {
            data = try rawStreamData(stream, objectNumber: objectNumber)
            streamsFromSource = false
        }
        for (i, f) in filters.enumerated() {
            guard let name = f.name else { throw PDFError(.syntax, "filter is not a name", objectNumber: objectNumber) }
            switch name.value {
            case "FlateDecode", "Fl":
                do {
                    if i == 0, streamsFromSource, case .located(let offset, let length) = stream.data {
                        data = try FlateDecode.decode(length: length, maxOutput: cap) { position, count in
                            try source.read(offset: offset + Int64(position), count: count) // within the checked data
                        }
                    } else {
                        data = try FlateDecode.decode(data, maxOutput: cap)
                    }
                } catch let e as PDFError {
                    throw objectNumber.map { e.inObject($0) } ?? e
                }
                if let parms = try resolve(i < parmsList.count ? parmsList[i] : nil).dictionary {
                    let predictor = parms["Predictor"]?.intValue ?? 1
                    data = try FlateDecode.unpredict(
                        data, predictor: predictor,
                        colors: parms["Colors"]?.intValue ?? 1,
                        bitsPerComponent: parms["BitsPerComponent"]?.intValue ?? 8,
                        columns: parms["Columns"]?.intValue ?? 1)
                }
            default:
                throw PDFError(.unsupportedFilter, "stream filter /\(name.value) is not supported here", objectNumber: objectNumber)
            }
        }
        return data
    }

    private func objectFromObjectStream(_ streamNumber: Int, index: Int, number: Int) throws -> PDFObject {
        if objectStreamCache[streamNumber] == nil {
            guard case .stream(let s) = try object(PDFReference(streamNumber, 0)), s.dictionary["Type"]?.name == "ObjStm" else {
                throw PDFError(.xref, "object \(number) is said to be in object stream \(streamNumber), which is not an object stream", objectNumber: number)
            }
            guard let nValue = s.dictionary["N"]?.integer, let firstValue = s.dictionary["First"]?.integer else {
                throw PDFError(.syntax, "object stream without integer /N and /First", objectNumber: streamNumber)
            }
            let n = try nValue.checkedInt(in: 0...limits.objectAllowance(fileLength: source.length), "object stream /N", objectNumber: streamNumber)
            let first = try firstValue.checkedInt(in: 0...limits.maxDecodedStreamBytes, "object stream /First", objectNumber: streamNumber)
            let data = try decodedStreamData(s, objectNumber: streamNumber)
            guard first <= data.count else {
                throw PDFError(.syntax, "object stream /First is beyond its data", objectNumber: streamNumber)
            }
            var lexer = PDFLexer(bytes: Array(data[0..<first]))
            var offsets: [(Int, Int)] = []
            for _ in 0..<n {
                guard case .integer(let num) = try lexer.next().kind, case .integer(let off) = try lexer.next().kind else {
                    throw PDFError(.syntax, "object stream header is malformed", objectNumber: streamNumber)
                }
                // Both are bounded by the decoded data, so `first + offI` cannot overflow.
                let numI = try num.checkedInt(in: 0...limits.maxObjects, "object number in the object stream header", objectNumber: streamNumber)
                let offI = try off.checkedInt(in: 0...(data.count - first), "object offset in the object stream header", objectNumber: streamNumber)
                offsets.append((numI, offI))
            }
            objectStreamCache = [streamNumber: (offsets, first, data)]
        }
        let cached = objectStreamCache[streamNumber]!
        guard index < cached.offsets.count, cached.offsets[index].0 == number else {
            // Fall back to a search by number: some writers get the index wrong.
            guard let found = cached.offsets.firstIndex(where: { $0.0 == number }) else {
                throw PDFError(.objectNotFound, "object \(number) is not in object stream \(streamNumber)", objectNumber: number)
            }
            return try parseFromObjectStream(cached, at: found, number: number)
        }
        return try parseFromObjectStream(cached, at: index, number: number)
    }

    private func parseFromObjectStream(_ cached: (offsets: [(Int, Int)], first: Int, data: [UInt8]), at index: Int, number: Int) throws -> PDFObject {
        let start = cached.first + cached.offsets[index].1
        var parser = PDFParser(lexer: PDFLexer(bytes: cached.data, position: start), limits: limits)
        do { return try parser.parseObject() } catch let e as PDFError { throw e.inObject(number) }
    }

    // MARK: - Structure

    public var catalogReference: PDFReference { trailer["Root"]!.reference! }

    public func catalog() throws -> PDFDictionary {
        guard let c = try resolveDictionary(trailer["Root"]) else {
            throw PDFError(.structure, "the document catalog (/Root) is missing or not a dictionary", objectNumber: catalogReference.number)
        }
        return c
    }

    /// Number of pages, from the page tree root's /Count.
    public func pageCount() throws -> Int {
        guard let pages = try resolveDictionary(try catalog()["Pages"]), let count = pages["Count"]?.intValue, count >= 0 else {
            throw PDFError(.structure, "the catalog has no page tree with a /Count")
        }
        return count
    }

    /// The reference and dictionary of the page at `index` (0-based), found by descending the
    /// page tree (7.7.3) with loop and depth checks.
    public func page(at index: Int) throws -> (PDFReference, PDFDictionary) {
        guard index >= 0, index < Int.max else {
            throw PDFError(.structure, "page index \(index) does not exist")
        }
        guard let rootRef = try catalog()["Pages"]?.reference else {
            throw PDFError(.structure, "the catalog's /Pages is not an indirect reference")
        }
        var nodeRef = rootRef
        var remaining = index
        var visited: Set<PDFReference> = []
        for _ in 0..<limits.maxPageTreeDepth {
            guard visited.insert(nodeRef).inserted else {
                throw PDFError(.structure, "the page tree loops", objectNumber: nodeRef.number)
            }
            guard let node = try resolveDictionary(.reference(nodeRef)) else {
                throw PDFError(.structure, "page tree node is not a dictionary", objectNumber: nodeRef.number)
            }
            let type = node["Type"]?.name?.value
            if type == "Page" || (type == nil && node["Kids"] == nil) {
                if remaining == 0 { return (nodeRef, node) }
                throw PDFError(.structure, "page \(index + 1) does not exist", objectNumber: nodeRef.number)
            }
            guard let kids = try resolve(node["Kids"]).array else {
                throw PDFError(.structure, "page tree node has no /Kids", objectNumber: nodeRef.number)
            }
            var descended = false
            for kid in kids {
                guard let kidRef = kid.reference, let kidDict = try resolveDictionary(kid) else {
                    throw PDFError(.structure, "page tree /Kids entry is not a reference to a dictionary", objectNumber: nodeRef.number)
                }
                let kidCount: Int
                if kidDict["Type"]?.name == "Pages" || kidDict["Kids"] != nil {
                    kidCount = kidDict["Count"]?.intValue ?? 0
                    guard kidCount >= 0 else {
                        throw PDFError(.structure, "page tree node has a negative /Count \(kidCount)", objectNumber: kidRef.number)
                    }
                } else {
                    kidCount = 1
                }
                if remaining < kidCount {
                    nodeRef = kidRef
                    descended = true
                    break
                }
                remaining -= kidCount
            }
            guard descended else {
                throw PDFError(.structure, "page \(index + 1) does not exist (the document has fewer pages)", objectNumber: nodeRef.number)
            }
        }
        throw PDFError(.limitExceeded, "page tree deeper than \(limits.maxPageTreeDepth) levels")
    }

    // MARK: - Helpers

    static func findStartXRef(_ source: any PDFByteSource) throws -> Int64 {
        let tailLength = Int64(min(source.length, 4096))
        let tailStart = source.length - tailLength
        let tail = try source.read(offset: tailStart, count: Int(tailLength))
        guard let eof = ByteSearch.last(Array("%%EOF".utf8), in: tail) else {
            throw PDFError(.truncated, "no %%EOF marker in the last \(tailLength) bytes: the file is truncated or still being written", offset: source.length)
        }
        guard let sx = ByteSearch.last(Array("startxref".utf8), in: Array(tail[0..<eof])) else {
            throw PDFError(.startxrefMissing, "no startxref before the final %%EOF; the file is damaged", offset: tailStart + Int64(eof))
        }
        var lexer = PDFLexer(bytes: Array(tail[(sx + 9)..<eof]), base: tailStart + Int64(sx + 9))
        guard case .integer(let offset) = try lexer.next().kind, offset >= 0 else {
            throw PDFError(.startxrefMissing, "startxref is not followed by an offset", offset: tailStart + Int64(sx))
        }
        return offset
    }
}
