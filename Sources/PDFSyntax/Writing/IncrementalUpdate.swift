/// Builds the bytes of an incremental update (ISO 32000-1 7.5.6): new and changed objects, a
/// cross-reference section in the same form as the one it chains to, and a trailer that repeats
/// every key of the previous trailer except `/Prev` (and the keys that belong to an xref stream).
///
/// The writer only appends: it returns bytes to be written after the last byte of the original
/// file and never touches an existing byte.
public struct IncrementalUpdate {
    /// What the update needs to know about the document it extends.
    public struct Base: Sendable, Hashable, Codable {
        /// Length of the original file in bytes.
        public var fileLength: Int64
        /// Whether the original ends with an end-of-line (else one is written first).
        public var endsWithEOL: Bool
        /// `startxref` value of the newest section, as stated.
        public var previousXRefOffset: Int64
        public var form: XRefForm
        /// Amount the file's stated offsets differ from absolute offsets.
        public var offsetShift: Int64
        /// `/Size` of the previous trailer.
        public var size: Int

        public init(fileLength: Int64, endsWithEOL: Bool, previousXRefOffset: Int64, form: XRefForm, offsetShift: Int64, size: Int) {
            self.fileLength = fileLength
            self.endsWithEOL = endsWithEOL
            self.previousXRefOffset = previousXRefOffset
            self.form = form
            self.offsetShift = offsetShift
            self.size = size
        }
    }

    public let base: Base
    public let previousTrailer: PDFDictionary
    public private(set) var objects: [(PDFReference, PDFObject)] = []
    public private(set) var nextObjectNumber: Int
    /// The largest `/Size` the update may write: what a reader with default limits accepts for a
    /// file of the original length (``PDFReaderLimits/objectAllowance(fileLength:)``; the signed
    /// file is longer, so it is accepted too). An update that would need more is refused with
    /// `pdf.numberOutOfRange` instead of producing a file that signd's own verify, or qpdf, rejects.
    public var maxSize: Int

    /// - Parameter nextObjectNumber: the first number to allocate (default `base.size`); give
    ///   ``PDFDocument/nextObjectNumber`` so that a too-small `/Size` cannot make new objects
    ///   replace existing ones.
    public init(base: Base, previousTrailer: PDFDictionary, nextObjectNumber: Int? = nil, limits: PDFReaderLimits = PDFReaderLimits()) {
        self.base = base
        self.previousTrailer = previousTrailer
        self.nextObjectNumber = max(nextObjectNumber ?? base.size, base.size, 1)
        self.maxSize = limits.objectAllowance(fileLength: base.fileLength)
    }

    /// Opens an update on a document.
    public init(document: PDFDocument) throws {
        let tail = try document.source.read(offset: max(0, document.source.length - 1), count: 1)
        let base = Base(
            fileLength: document.source.length,
            endsWithEOL: tail.last == 0x0A || tail.last == 0x0D,
            previousXRefOffset: document.startXRef,
            form: document.lastXRefForm,
            offsetShift: document.offsetShift,
            size: document.size)
        self.init(base: base, previousTrailer: document.trailer, nextObjectNumber: document.nextObjectNumber, limits: document.limits)
    }

    /// Reserves a new object number (`pdf.numberOutOfRange` once ``maxSize`` is reached: the
    /// document's `/Size` leaves no room for new objects).
    public mutating func allocate() throws -> PDFReference {
        guard nextObjectNumber < maxSize else {
            throw PDFError(.numberOutOfRange, "the document's objects are numbered up to \(nextObjectNumber - 1) (trailer /Size \(base.size)); a \(base.fileLength)-byte file can hold at most \(maxSize), so no object can be added; the /Size is damaged: re-save the file with a PDF tool (e.g. `qpdf in.pdf out.pdf`)")
        }
        defer { nextObjectNumber += 1 }
        return PDFReference(nextObjectNumber, 0)
    }

    /// Adds a new object or a new version of an existing one. The last call for a reference wins.
    public mutating func set(_ ref: PDFReference, _ object: PDFObject) {
        objects.removeAll { $0.0 == ref }
        objects.append((ref, object))
    }

    /// Serialises the update. `trailerOverrides` replaces trailer keys (e.g. `/ID`).
    /// Returns the bytes and, for each object, the offset of its first byte within them.
    public func serialize(trailerOverrides: PDFDictionary = PDFDictionary()) throws -> (bytes: [UInt8], objectOffsets: [PDFReference: Int]) {
        guard base.fileLength >= 0, base.offsetShift >= 0, base.offsetShift <= base.fileLength,
              base.previousXRefOffset >= 0, base.size >= 0 else {
            throw PDFError(.numberOutOfRange, "the update's base is inconsistent (length \(base.fileLength), shift \(base.offsetShift), startxref \(base.previousXRefOffset), /Size \(base.size))")
        }
        for (ref, _) in objects {
            guard ref.number >= 0, ref.number < maxSize, (0...65535).contains(ref.generation) else {
                throw PDFError(.numberOutOfRange, "object \(ref.number) \(ref.generation) cannot be written: numbers must be below \(maxSize) and generations at most 65535", objectNumber: ref.number)
            }
        }
        var out: [UInt8] = []
        if !base.endsWithEOL { out.append(0x0A) }
        var offsets: [PDFReference: Int] = [:]
        let sorted = objects.sorted { $0.0 < $1.0 }
        for (ref, object) in sorted {
            offsets[ref] = out.count
            out.append(contentsOf: Array("\(ref.number) \(ref.generation) obj\n".utf8))
            PDFSerializer.write(object, into: &out)
            out.append(contentsOf: Array("\nendobj\n".utf8))
        }
        func stated(_ relative: Int) -> Int64 { base.fileLength + Int64(relative) - base.offsetShift }

        var trailer = PDFDictionary()
        for (key, value) in previousTrailer {
            switch key.value {
            case "Prev", "XRefStm", "Type", "W", "Index", "Length", "Filter", "DecodeParms", "F", "FFilter", "FDecodeParms", "DL":
                continue
            default:
                trailer[key] = value
            }
        }
        for (key, value) in trailerOverrides { trailer[key] = value }

        switch base.form {
        case .table, .hybrid:
            var size = max(base.size, nextObjectNumber)
            for (ref, _) in sorted { size = max(size, ref.number + 1) }
            guard size <= maxSize else {
                throw PDFError(.numberOutOfRange, "the update would need /Size \(size); a \(base.fileLength)-byte file can hold at most \(maxSize) objects")
            }
            trailer["Size"] = .integer(Int64(size))
            trailer["Prev"] = .integer(base.previousXRefOffset)
            let xrefOffset = out.count
            out.append(contentsOf: Array("xref\n".utf8))
            for run in Self.runs(sorted.map { $0.0.number }) {
                out.append(contentsOf: Array("\(run.lowerBound) \(run.count)\n".utf8))
                for number in run {
                    let ref = sorted.first { $0.0.number == number }!.0
                    let off = String(stated(offsets[ref]!))
                    let gen = String(ref.generation)
                    let line = String(repeating: "0", count: max(0, 10 - off.count)) + off + " "
                        + String(repeating: "0", count: max(0, 5 - gen.count)) + gen + " n\r\n"
                    out.append(contentsOf: Array(line.utf8))
                }
            }
            out.append(contentsOf: Array("trailer\n".utf8))
            PDFSerializer.write(.dictionary(trailer), into: &out)
            out.append(contentsOf: Array("\nstartxref\n\(stated(xrefOffset))\n%%EOF\n".utf8))
        case .stream:
            // The xref stream indexes itself (7.5.8.3).
            let streamNumber = max(nextObjectNumber, (sorted.last?.0.number ?? 0) + 1)
            guard streamNumber < maxSize else {
                throw PDFError(.numberOutOfRange, "the update's xref stream would be object \(streamNumber); a \(base.fileLength)-byte file can hold at most \(maxSize) objects")
            }
            let xrefOffset = out.count
            var entries: [(Int, Int64, Int)] = sorted.map { ($0.0.number, stated(offsets[$0.0]!), $0.0.generation) }
            entries.append((streamNumber, stated(xrefOffset), 0))
            let maxOffset = entries.map { $0.1 }.max() ?? 0
            var w2 = 1
            while w2 < 8 && maxOffset >= (Int64(1) << (8 * Int64(w2))) { w2 += 1 }
            var rows: [UInt8] = []
            for (_, off, gen) in entries {
                rows.append(1)
                for k in stride(from: w2 - 1, through: 0, by: -1) { rows.append(UInt8(truncatingIfNeeded: off >> (8 * Int64(k)))) }
                rows.append(UInt8(truncatingIfNeeded: gen >> 8)); rows.append(UInt8(truncatingIfNeeded: gen))
            }
            var index: [PDFObject] = []
            for run in Self.runs(entries.map { $0.0 }) {
                index.append(.integer(Int64(run.lowerBound))); index.append(.integer(Int64(run.count)))
            }
            var dict = PDFDictionary()
            dict["Type"] = .name("XRef")
            for (key, value) in trailer { dict[key] = value }
            dict["Size"] = .integer(Int64(max(base.size, streamNumber + 1)))
            dict["Prev"] = .integer(base.previousXRefOffset)
            dict["W"] = .array([.integer(1), .integer(Int64(w2)), .integer(2)])
            dict["Index"] = .array(index)
            dict["Length"] = .integer(Int64(rows.count))
            out.append(contentsOf: Array("\(streamNumber) 0 obj\n".utf8))
            PDFSerializer.write(.stream(PDFStream(dictionary: dict, data: .bytes(rows))), into: &out)
            out.append(contentsOf: Array("\nendobj\nstartxref\n\(stated(xrefOffset))\n%%EOF\n".utf8))
        }
        return (out, offsets)
    }

    /// Groups sorted, distinct object numbers into consecutive runs.
    static func runs(_ numbers: [Int]) -> [ClosedRange<Int>] {
        var result: [ClosedRange<Int>] = []
        for n in numbers.sorted() {
            if let last = result.last, last.upperBound + 1 == n {
                result[result.count - 1] = last.lowerBound...n
            } else {
                result.append(n...n)
            }
        }
        return result
    }
}
