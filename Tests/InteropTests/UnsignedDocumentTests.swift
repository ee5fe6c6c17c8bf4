import Foundation
import TestSupport
import XCTest

final class UnsignedDocumentTests: InteropTestCase {
    func testVerifyUnsignedDocumentFails() throws {
        let (v, report) = try verify(fx.corpus("classic.pdf"), trust: false)
        XCTAssertEqual(v.status, 1, ProcessRunner.describe(v, "signd verify"))
        XCTAssertEqual(report.signatures.count, 0)
        XCTAssertFalse(report.allIntact)
        XCTAssertEqual(report.revisions, 1)

        // pdfsig agrees there is nothing to check (exit 2: "does not contain any signatures").
        let s = try pdfsig(fx.corpus("classic.pdf"))
        XCTAssertEqual(s.output.status, 2, ProcessRunner.describe(s.output, "pdfsig"))
        XCTAssertEqual(s.signatures.count, 0)
    }
}
