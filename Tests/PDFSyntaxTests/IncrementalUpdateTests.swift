import XCTest
import Foundation
@testable import PDFSyntax

final class IncrementalUpdateTests: XCTestCase {
    func testTableUpdateAppendsAndChains() throws {
        let original = PDFBuilder.onePage().classic()
        let doc = try PDFDocument(source: InMemoryByteSource(original))
        var update = try IncrementalUpdate(document: doc)
        let ref = try update.allocate()
        update.set(ref, .dictionary(PDFDictionary([("Type", .name("Test"))])))
        let (bytes, _) = try update.serialize()
        let combined = original + bytes
        // The original bytes are a prefix of the result: nothing rewritten.
        XCTAssertEqual(Array(combined[0..<original.count]), original)
        let reread = try PDFDocument(source: InMemoryByteSource(combined))
        XCTAssertEqual(reread.sections.count, 2)
        XCTAssertEqual(reread.lastXRefForm, .table)
        XCTAssertEqual(try reread.object(ref).dictionary?["Type"], .name("Test"))
        XCTAssertEqual(reread.trailer["Root"], doc.trailer["Root"])
        XCTAssertEqual(reread.trailer["Size"]?.intValue, ref.number + 1)
        XCTAssertEqual(reread.trailer["Prev"]?.integer, doc.startXRef)
    }

    func testStreamUpdateAfterStream() throws {
        let original = PDFBuilder.onePage().xrefStream(useObjectStream: true)
        let doc = try PDFDocument(source: InMemoryByteSource(original))
        var update = try IncrementalUpdate(document: doc)
        var catalog = try doc.catalog()
        catalog["Marker"] = .integer(7)
        update.set(doc.catalogReference, .dictionary(catalog))
        let (bytes, _) = try update.serialize()
        let reread = try PDFDocument(source: InMemoryByteSource(original + bytes))
        XCTAssertEqual(reread.lastXRefForm, .stream)
        XCTAssertEqual(try reread.catalog()["Marker"], .integer(7))
        XCTAssertEqual(reread.trailer["W"], .array([.integer(1), .integer(2), .integer(2)]))
        XCTAssertNil(reread.trailer["Length"].flatMap { _ in reread.trailer["Filter"] })
    }

    func testTrailerKeysAreRepeated() throws {
        var b = PDFBuilder.onePage()
        b.objects.append((5, "<< /Producer (test) >>"))
        b.trailerExtra = " /Info 5 0 R /ID [<0102> <0304>]"
        let original = b.classic()
        let doc = try PDFDocument(source: InMemoryByteSource(original))
        let update = try IncrementalUpdate(document: doc)
        let (bytes, _) = try update.serialize()
        let reread = try PDFDocument(source: InMemoryByteSource(original + bytes))
        XCTAssertEqual(reread.trailer["Info"], .reference(PDFReference(5)))
        XCTAssertEqual(reread.trailer["ID"], doc.trailer["ID"])
    }

    func testGoldenBytes() throws {
        let original = PDFBuilder.onePage().classic()
        let doc = try PDFDocument(source: InMemoryByteSource(original))
        var update = try IncrementalUpdate(document: doc)
        update.set(PDFReference(5), .dictionary(PDFDictionary([("A", .integer(1))])))
        let (bytes, _) = try update.serialize(trailerOverrides: PDFDictionary([("ID", .array([.string(PDFString(bytes: [1], isHex: true)), .string(PDFString(bytes: [2], isHex: true))]))]))
        let expected = "5 0 obj\n<</A 1>>\nendobj\nxref\n5 1\n\(String(format: "%010d", original.count)) 00000 n\r\ntrailer\n<</Size 6/Root 1 0 R/ID [<01> <02>]/Prev \(doc.startXRef)>>\nstartxref\n\(original.count + 24)\n%%EOF\n"
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected)
    }
}
