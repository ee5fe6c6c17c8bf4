import CMSStructures
import XCTest

/// Numbers a TSA or signer writes are untrusted: values near `Int.max` are an error with a code,
/// never an overflow later (issue 11 §5).
final class HostileNumberTests: XCTestCase {
    func testAccuracySecondsThatWouldOverflowMicrosecondsAreRejected() {
        // Accuracy ::= SEQUENCE { seconds INTEGER 9223372036854775807 }
        let der: [UInt8] = [0x30, 0x0A, 0x02, 0x08, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        // Before: parsed, and `totalMicroseconds` trapped with an arithmetic overflow.
        assertThrowsCode(.valueOutOfRange) { try Accuracy(derEncoded: der).totalMicroseconds }
        assertThrowsCode(.valueOutOfRange) { try Accuracy(seconds: Accuracy.maximumSeconds + 1) }
    }

    func testLargestAccuracyStillFits() throws {
        let accuracy = try Accuracy(seconds: Accuracy.maximumSeconds, millis: 999, micros: 999)
        XCTAssertEqual(accuracy.totalMicroseconds, Accuracy.maximumSeconds * 1_000_000 + 999_999)
        XCTAssertEqual(try Accuracy(derEncoded: accuracy.derEncoded()), accuracy)
    }
}
