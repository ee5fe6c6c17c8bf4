import Foundation
import TestSupport
import XCTest

/// Damaged signed files (tamper.py): signd verify must reach the same verdict as pyHanko.
final class TamperingTests: InteropTestCase {
    /// classic.pdf signed with ec256.
    private func signedClassic() throws -> String {
        let output = tmp.file("signed.pdf")
        try sign(fx.corpus("classic.pdf"), to: output, signer: fx.signer("ec256"))
        return output
    }

    func testFlippedBitIsInvalid() throws {
        let bad = tmp.file("flipped.pdf")
        try tamper("flip", try signedClassic(), bad)

        let p = try pyHanko(bad)
        XCTAssertNotEqual(p.status, 0, ProcessRunner.describe(p.output, "pyHanko"))
        XCTAssertEqual(p.lines.map(\.status), ["INVALID"], ProcessRunner.describe(p.output, "pyHanko"))

        let s = try pdfsig(bad)
        XCTAssertEqual(s.signatures.first?.validation, "Digest Mismatch.", ProcessRunner.describe(s.output, "pdfsig"))

        let (v, report) = try verify(bad)
        XCTAssertEqual(v.status, 1, ProcessRunner.describe(v, "signd verify"))
        XCTAssertFalse(report.allIntact)
        XCTAssertEqual(report.signatures.count, 1)
        XCTAssertEqual(report.signatures.first?.messageDigestValid, false)
        XCTAssertEqual(report.signatures.first?.intact, false)
    }

    func testContentChangedAfterSigningIsRejected() throws {
        let bad = tmp.file("changed.pdf")
        try tamper("change-content", try signedClassic(), bad)

        let p = try pyHanko(bad)
        XCTAssertNotEqual(p.status, 0, ProcessRunner.describe(p.output, "pyHanko"))
        XCTAssertEqual(p.lines.count, 1, ProcessRunner.describe(p.output, "pyHanko"))
        XCTAssertEqual(p.lines.first?.flags.contains("ILLEGAL_MODIFICATIONS"), true, ProcessRunner.describe(p.output, "pyHanko"))

        let (v, report) = try verify(bad)
        XCTAssertEqual(v.status, 1, ProcessRunner.describe(v, "signd verify"))
        XCTAssertFalse(report.allIntact)
        XCTAssertEqual(report.signatures.count, 1)
        XCTAssertEqual(report.signatures.first?.laterChanges, "content")
        XCTAssertEqual(report.signatures.first?.intact, false)
        // The bytes under the signature are untouched: the failure is the later revision alone.
        XCTAssertEqual(report.signatures.first?.messageDigestValid, true)
    }

    func testJunkAppendedAfterEOF() throws {
        let bad = tmp.file("appended.pdf")
        try tamper("append", try signedClassic(), bad)

        let p = try pyHanko(bad)
        let (v, report) = try verify(bad)
        let pyHankoIntact = p.lines.count == 1 && p.lines[0].status.hasPrefix("INTACT")
        let signdIntact = report.signatures.count == 1 && report.signatures[0].intact
        print("append: pyHanko exit \(p.status) \(p.lines); signd verify exit \(v.status), intact \(signdIntact), "
              + "laterChanges \(report.signatures.first?.laterChanges ?? "-"), problems \(report.signatures.first?.problems ?? []), "
              + "warnings \(report.warnings)")

        XCTAssertTrue(pyHankoIntact, ProcessRunner.describe(p.output, "pyHanko"))
        XCTAssertEqual(p.status, 0, ProcessRunner.describe(p.output, "pyHanko"))
        XCTAssertEqual(signdIntact, pyHankoIntact, "signd and pyHanko disagree on intact-ness")
        XCTAssertEqual(v.status, 0, ProcessRunner.describe(v, "signd verify"))
        XCTAssertTrue(report.allIntact)
        XCTAssertTrue(report.warnings.contains { $0.contains("not covered by any signature") }, "warnings: \(report.warnings)")
    }
}
