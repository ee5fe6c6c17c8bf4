import XCTest
@testable import PDFSyntax

final class ParserTests: XCTestCase {
    func parse(_ text: String) throws -> PDFObject {
        var p = PDFParser(bytes: Array(text.utf8))
        return try p.parseObject()
    }

    func testReferencesNeedTwoIntegersAndR() throws {
        XCTAssertEqual(try parse("[1 0 R 2 3]"), .array([.reference(PDFReference(1, 0)), .integer(2), .integer(3)]))
    }

    func testDictionaryKeepsOrderAndDropsNull() throws {
        let obj = try parse("<< /B 1 /A (x) /N null /C [true false] >>")
        guard case .dictionary(let d) = obj else { return XCTFail("not a dictionary") }
        XCTAssertEqual(d.orderedKeys.map(\.value), ["B", "A", "C"])
        XCTAssertEqual(d["C"], .array([.bool(true), .bool(false)]))
    }

    func testDeepNestingIsRejected() {
        let text = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        XCTAssertThrowsError(try parse(text)) { XCTAssertEqual(($0 as? PDFError)?.code, .limitExceeded) }
    }

    func testDictionaryKeyMustBeName() {
        XCTAssertThrowsError(try parse("<< 1 2 >>")) { XCTAssertEqual(($0 as? PDFError)?.code, .syntax) }
    }

    func testTruncatedDictionary() {
        XCTAssertThrowsError(try parse("<< /A 1")) { XCTAssertEqual(($0 as? PDFError)?.code, .truncated) }
    }

    func testSerializerRoundTrip() throws {
        let text = "<< /Type /Annot /T (a\\(b\\)) /H <00FF> /R [0 0 1.5 -2.25] /P 3 0 R /N /A#20B /B true /Z null >>"
        let obj = try parse(text)
        let again = try parse(String(decoding: PDFSerializer.serialize(obj), as: UTF8.self))
        XCTAssertEqual(obj, again)
        XCTAssertEqual(String(decoding: PDFSerializer.serialize(.real(0.000001)), as: UTF8.self), "0.000001")
        XCTAssertEqual(String(decoding: PDFSerializer.serialize(.real(-12.5)), as: UTF8.self), "-12.5")
    }
}
