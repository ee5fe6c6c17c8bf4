import PDFSyntax

/// Builds small, valid PDFs in memory for tests: objects are given as text, offsets computed.
struct PDFBuilder {
    var header = "%PDF-1.7\n%\u{00E2}\u{00E3}\u{00CF}\u{00D3}\n"
    var eol = "\n"
    var objects: [(Int, String)] = []
    var trailerExtra = ""
    var prefix: [UInt8] = []
    /// Replaces the header (`"1 0 "`) of the object stream `xrefStream(useObjectStream: true)`
    /// writes, and its `/N`, to build hostile object streams.
    var objectStreamHead: String?
    var objectStreamN: String?

    static func onePage() -> PDFBuilder {
        var b = PDFBuilder()
        b.objects = [
            (1, "<< /Type /Catalog /Pages 2 0 R >>"),
            (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"),
            (4, "<< /Length 8 >>\nstream\nBT ET q\nendstream"),
        ]
        return b
    }

    /// A classic-xref file.
    func classic() -> [UInt8] {
        var out = Array(header.utf8)
        var offsets: [Int: Int] = [:]
        for (n, body) in objects {
            offsets[n] = out.count
            out += Array("\(n) 0 obj\(eol)\(body)\(eol)endobj\(eol)".utf8)
        }
        let xref = out.count
        let size = (objects.map { $0.0 }.max() ?? 0) + 1
        out += Array("xref\(eol)0 \(size)\(eol)".utf8)
        let entryEOL = eol == "\r\n" ? "\r\n" : " \n"
        out += Array("0000000000 65535 f\(entryEOL)".utf8)
        for n in 1..<size {
            if let o = offsets[n] {
                let s = String(o)
                out += Array((String(repeating: "0", count: 10 - s.count) + s + " 00000 n" + entryEOL).utf8)
            } else {
                out += Array("0000000000 00000 f\(entryEOL)".utf8)
            }
        }
        out += Array("trailer\(eol)<< /Size \(size) /Root 1 0 R\(trailerExtra) >>\(eol)startxref\(eol)\(xref)\(eol)%%EOF\(eol)".utf8)
        return prefix + out
    }

    /// A file whose cross-reference is an uncompressed xref stream, with object 4 moved into an
    /// object stream when `useObjectStream` is set.
    func xrefStream(useObjectStream: Bool) -> [UInt8] {
        var out = Array(header.utf8)
        var entries: [Int: (type: Int, a: Int, b: Int)] = [:]
        var plain = objects
        var objstmNumber = 0
        if useObjectStream {
            // Put object 1 (the catalog) in an object stream.
            let catalog = plain.first { $0.0 == 1 }!
            plain.removeAll { $0.0 == 1 }
            objstmNumber = (objects.map { $0.0 }.max() ?? 0) + 1
            let head = objectStreamHead ?? "1 0 "
            let body = head + catalog.1
            plain.append((objstmNumber, "<< /Type /ObjStm /N \(objectStreamN ?? "1") /First \(head.utf8.count) /Length \(body.utf8.count) >>\nstream\n\(body)\nendstream"))
            entries[1] = (2, objstmNumber, 0)
        }
        for (n, body) in plain.sorted(by: { $0.0 < $1.0 }) {
            entries[n] = (1, out.count, 0)
            out += Array("\(n) 0 obj\n\(body)\nendobj\n".utf8)
        }
        let xrefNumber = (entries.keys.max() ?? 0) + 1
        let xrefOffset = out.count
        entries[xrefNumber] = (1, xrefOffset, 0)
        var rows: [UInt8] = [0, 0, 0, 0, 0xFF, 0xFF]
        for n in 1...xrefNumber {
            let e = entries[n] ?? (0, 0, 0)
            rows += [UInt8(e.type), UInt8(e.a >> 24 & 0xFF), UInt8(e.a >> 16 & 0xFF), UInt8(e.a >> 8 & 0xFF), UInt8(e.a & 0xFF), UInt8(e.b & 0xFF)]
        }
        out += Array("\(xrefNumber) 0 obj\n<< /Type /XRef /Size \(xrefNumber + 1) /W [1 4 1] /Root 1 0 R /Length \(rows.count) >>\nstream\n".utf8)
        out += rows
        out += Array("\nendstream\nendobj\nstartxref\n\(xrefOffset)\n%%EOF\n".utf8)
        return out
    }
}
