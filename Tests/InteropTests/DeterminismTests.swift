import Foundation
import TestSupport
import XCTest

/// With a deterministic signature scheme (RSA PKCS#1 v1.5) and a fixed `--signing-time`, signing is
/// a pure function of its inputs.
final class DeterminismTests: InteropTestCase {
    private func signClassic(_ name: String, time: String) throws -> Data {
        let output = tmp.file(name)
        try sign(fx.corpus("classic.pdf"), to: output, signer: fx.signer("rsa2048"), ["--signing-time", time])
        return try bytes(output)
    }

    func testSameSigningTimeGivesIdenticalBytes() throws {
        let a = try signClassic("a.pdf", time: "2026-01-02T03:04:05Z")
        let b = try signClassic("b.pdf", time: "2026-01-02T03:04:05Z")
        XCTAssertEqual(a, b, "two signings with the same inputs and signing time differ")

        let (v, report) = try verify(tmp.file("a.pdf"))
        XCTAssertEqual(v.status, 0, ProcessRunner.describe(v, "signd verify"))
        XCTAssertEqual(report.signatures.first?.signingTime, "2026-01-02T03:04:05Z")
    }

    func testDifferentSigningTimeGivesDifferentBytes() throws {
        let a = try signClassic("a.pdf", time: "2026-01-02T03:04:05Z")
        let b = try signClassic("b.pdf", time: "2026-01-02T03:04:06Z")
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try verify(tmp.file("b.pdf")).report.signatures.first?.signingTime, "2026-01-02T03:04:06Z")
    }
}
