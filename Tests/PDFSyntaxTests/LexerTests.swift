import XCTest
@testable import PDFSyntax

final class LexerTests: XCTestCase {
    func kinds(_ text: String) throws -> [PDFTokenKind] {
        var lexer = PDFLexer(bytes: Array(text.utf8))
        var out: [PDFTokenKind] = []
        while true {
            let t = try lexer.next()
            if case .endOfInput = t.kind { return out }
            out.append(t.kind)
        }
    }

    func testNumbers() throws {
        XCTAssertEqual(try kinds("123 -17 +5 0"), [.integer(123), .integer(-17), .integer(5), .integer(0)])
        XCTAssertEqual(try kinds("34.5 -3.62 .5 4. -.002"), [.real(34.5), .real(-3.62), .real(0.5), .real(4), .real(-0.002)])
    }

    func testLiteralStringEscapes() throws {
        XCTAssertEqual(try kinds("(a\\(b\\)c\\n\\101\\\\)"), [.literalString(Array("a(b)c\nA\\".utf8))])
        XCTAssertEqual(try kinds("(nested (parens) ok)"), [.literalString(Array("nested (parens) ok".utf8))])
        XCTAssertEqual(try kinds("(line\\\ncontinued)"), [.literalString(Array("linecontinued".utf8))])
        XCTAssertEqual(try kinds("(cr\r\nlf)"), [.literalString(Array("cr\nlf".utf8))])
    }

    func testHexStringOddDigitsPadWithZero() throws {
        XCTAssertEqual(try kinds("<48 65 6C6C 6F7>"), [.hexString([0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x70])])
    }

    func testNamesDecodeHashEscapes() throws {
        XCTAssertEqual(try kinds("/Name1 /A#20B /#2Fslash"), [.name("Name1"), .name("A B"), .name("/slash")])
    }

    func testCommentsAreSkipped() throws {
        XCTAssertEqual(try kinds("1 % comment\r2"), [.integer(1), .integer(2)])
    }

    func testDelimiters() throws {
        XCTAssertEqual(try kinds("<<[]>>"), [.dictOpen, .arrayOpen, .arrayClose, .dictClose])
    }

    func testUnterminatedStringIsTruncated() {
        XCTAssertThrowsError(try kinds("(never closed")) { XCTAssertEqual(($0 as? PDFError)?.code, .truncated) }
    }

    func testInvalidHexCharacterIsRejected() {
        XCTAssertThrowsError(try kinds("<4G>")) { XCTAssertEqual(($0 as? PDFError)?.code, .syntax) }
    }

    func testIncompleteWindowAsksForMoreData() {
        var lexer = PDFLexer(bytes: Array("(abc".utf8), windowIsComplete: false)
        XCTAssertThrowsError(try lexer.next()) { XCTAssertTrue($0 is PDFLexer.NeedMoreData) }
    }
}
