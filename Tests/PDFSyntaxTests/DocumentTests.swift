import XCTest
@testable import PDFSyntax

final class DocumentTests: XCTestCase {
    func open(_ bytes: [UInt8]) throws -> PDFDocument {
        try PDFDocument(source: InMemoryByteSource(bytes))
    }

    func testClassicXRef() throws {
        let doc = try open(PDFBuilder.onePage().classic())
        XCTAssertEqual(doc.lastXRefForm, .table)
        XCTAssertEqual(try doc.pageCount(), 1)
        let (ref, page) = try doc.page(at: 0)
        XCTAssertEqual(ref, PDFReference(3, 0))
        XCTAssertEqual(page["MediaBox"], .array([.integer(0), .integer(0), .integer(612), .integer(792)]))
    }

    func testCRLFClassicXRef() throws {
        var b = PDFBuilder.onePage()
        b.eol = "\r\n"
        let doc = try open(b.classic())
        XCTAssertEqual(try doc.pageCount(), 1)
    }

    func testXRefStreamAndObjectStream() throws {
        let doc = try open(PDFBuilder.onePage().xrefStream(useObjectStream: true))
        XCTAssertEqual(doc.lastXRefForm, .stream)
        XCTAssertEqual(try doc.catalog()["Type"], .name("Catalog"))
        XCTAssertEqual(try doc.pageCount(), 1)
    }

    func testPrefixedFileIsReadShiftedWithWarning() throws {
        var b = PDFBuilder.onePage()
        b.prefix = Array(repeating: UInt8(ascii: "x"), count: 100)
        let doc = try open(b.classic())
        XCTAssertEqual(doc.offsetShift, 100)
        XCTAssertEqual(doc.warnings.count, 1)
        XCTAssertEqual(try doc.pageCount(), 1)
    }

    func testStreamDataIsLocatedNotLoaded() throws {
        let doc = try open(PDFBuilder.onePage().classic())
        guard case .stream(let s) = try doc.object(PDFReference(4)) else { return XCTFail("not a stream") }
        guard case .located(_, let length) = s.data else { return XCTFail("stream data was loaded") }
        XCTAssertEqual(length, 8)
        XCTAssertEqual(try doc.rawStreamData(s), Array("BT ET q\n".utf8))
    }

    func testFlateWithPNGPredictor() throws {
        // Rows of 3 bytes with the Up predictor (tag 2).
        let raw: [UInt8] = [2, 1, 2, 3, 2, 1, 1, 1]
        XCTAssertEqual(try FlateDecode.unpredict(raw, predictor: 12, colors: 1, bitsPerComponent: 8, columns: 3), [1, 2, 3, 2, 3, 4])
    }

    // MARK: - Rejected malformations, one test per rule

    func testNotAPDFIsRejected() {
        XCTAssertThrowsError(try open(Array("hello world".utf8))) { XCTAssertEqual(($0 as? PDFError)?.code, .notPDF) }
    }

    func testTruncatedFileIsRejected() {
        let full = PDFBuilder.onePage().classic()
        XCTAssertThrowsError(try open(Array(full[0..<(full.count / 2)]))) { XCTAssertEqual(($0 as? PDFError)?.code, .truncated) }
    }

    func testWrongStartXRefIsRejected() {
        var text = String(decoding: PDFBuilder.onePage().classic(), as: UTF8.self)
        let range = text.range(of: "startxref\n")!
        let end = text.range(of: "\n%%EOF")!
        text.replaceSubrange(range.upperBound..<end.lowerBound, with: "17")
        XCTAssertThrowsError(try open(Array(text.utf8))) { XCTAssertEqual(($0 as? PDFError)?.code, .xref) }
    }

    func testXRefOffsetOutsideFileIsRejected() {
        var text = String(decoding: PDFBuilder.onePage().classic(), as: UTF8.self)
        let range = text.range(of: "startxref\n")!
        let end = text.range(of: "\n%%EOF")!
        text.replaceSubrange(range.upperBound..<end.lowerBound, with: "99999999")
        XCTAssertThrowsError(try open(Array(text.utf8))) { XCTAssertEqual(($0 as? PDFError)?.code, .xref) }
    }

    func testWrongObjectOffsetIsRejectedWithObjectNumber() throws {
        var b = PDFBuilder.onePage()
        b.objects[2] = (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
        var bytes = b.classic()
        // Swap the xref entries of objects 2 and 3 by editing the table text.
        var text = String(decoding: bytes, as: UTF8.self)
        let lines = text.components(separatedBy: "\n")
        var l = lines
        if let i = l.firstIndex(where: { $0.hasPrefix("0000000000 65535 f") }) { l.swapAt(i + 2, i + 3) }
        text = l.joined(separator: "\n")
        bytes = Array(text.utf8)
        let doc = try open(bytes)
        XCTAssertThrowsError(try doc.page(at: 0)) {
            XCTAssertEqual(($0 as? PDFError)?.code, .objectMismatch)
            XCTAssertEqual(($0 as? PDFError)?.objectNumber, 2)
        }
    }

    func testPrevLoopIsRejected() {
        var b = PDFBuilder.onePage()
        let base = String(decoding: b.classic(), as: UTF8.self)
        let xref = base.utf8.distance(from: base.utf8.startIndex, to: base.range(of: "xref\n0 ")!.lowerBound)
        b.trailerExtra = " /Prev \(xref)"
        XCTAssertThrowsError(try open(b.classic())) { XCTAssertEqual(($0 as? PDFError)?.code, .xrefLoop) }
    }

    func testEncryptedIsRejected() {
        var b = PDFBuilder.onePage()
        b.objects.append((5, "<< /Filter /Standard /V 2 /R 3 >>"))
        b.trailerExtra = " /Encrypt 5 0 R"
        XCTAssertThrowsError(try open(b.classic())) { XCTAssertEqual(($0 as? PDFError)?.code, .encrypted) }
    }

    func testAbsurdStreamLengthIsRejected() throws {
        var b = PDFBuilder.onePage()
        b.objects[3] = (4, "<< /Length 999999999999 >>\nstream\nBT ET q\nendstream")
        let doc = try open(b.classic())
        XCTAssertThrowsError(try doc.object(PDFReference(4))) { XCTAssertEqual(($0 as? PDFError)?.objectNumber, 4) }
    }

    func testPageTreeLoopIsRejected() throws {
        var b = PDFBuilder.onePage()
        b.objects[1] = (2, "<< /Type /Pages /Kids [2 0 R] /Count 1 >>")
        let doc = try open(b.classic())
        XCTAssertThrowsError(try doc.page(at: 0)) { XCTAssertEqual(($0 as? PDFError)?.code, .structure) }
    }

    func testMissingEOFIsTruncated() {
        var bytes = PDFBuilder.onePage().classic()
        bytes.removeLast(6)
        XCTAssertThrowsError(try open(bytes)) { XCTAssertEqual(($0 as? PDFError)?.code, .truncated) }
    }
}
