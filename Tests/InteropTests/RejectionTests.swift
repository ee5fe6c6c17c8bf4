import Foundation
import TestSupport
import XCTest

/// Inputs signd must refuse: exit 2, a stable `[code]` on stderr, and nothing left in the output
/// directory (no output file, no temporary file).
final class RejectionTests: InteropTestCase {
    /// Runs `signd sign` into an empty directory and checks the refusal.
    private func assertRejected(input: String, signer: String = "ec256", key: String? = nil, _ extra: [String] = [],
                                code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let outDir = try TemporaryDirectory(prefix: "signd-interop-rejected")
        let r = try signd(signArgs(input, outDir.file("out.pdf"), signer: fx.signer(signer), key: key, extra))
        XCTAssertEqual(r.status, 2, ProcessRunner.describe(r, "signd sign"), file: file, line: line)
        XCTAssertTrue(r.stderr.contains("[\(code)]"), "expected \(code)" + ProcessRunner.describe(r, "signd sign"), file: file, line: line)
        XCTAssertEqual(try outDir.contents(), [], "a failed sign must leave nothing behind", file: file, line: line)
    }

    func testRejectsEncryptedInput() throws {
        try assertRejected(input: fx.corpus("encrypted.pdf"), code: "pdf.encrypted")
    }

    func testRejectsTruncatedInput() throws {
        try assertRejected(input: fx.corpus("truncated.pdf"), code: "pdf.truncated")
    }

    func testRejectsAlreadySignedField() throws {
        try assertRejected(input: fx.corpus("presigned.pdf"), ["--field", "Existing"], code: "signature.fieldAlreadySigned")
    }

    func testRejectsKeyNotMatchingCertificate() throws {
        // Same key type (P-256) as the certificate, different key.
        try assertRejected(input: fx.corpus("classic.pdf"), key: fx.pki("untrusted.key.pem"), code: "key.certificateMismatch")
    }

    func testRejectsKeyOfOtherTypeThanCertificate() throws {
        try assertRejected(input: fx.corpus("classic.pdf"), key: fx.pki("rsa2048.key.pem"), code: "key.certificateMismatch")
    }

    /// `-o` naming the input (spelled `spelling(dir)`) is refused and leaves the input intact.
    private func assertOutputIsInputRejected(_ spelling: (TemporaryDirectory) throws -> String,
                                             file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TemporaryDirectory(prefix: "signd-interop-inplace")
        let input = dir.file("in.pdf")
        try FileManager.default.copyItem(atPath: fx.corpus("classic.pdf"), toPath: input)
        let output = try spelling(dir)
        let original = try bytes(input)
        let before = try dir.contents()

        let r = try signd(signArgs(input, output, signer: fx.signer("ec256")))
        XCTAssertEqual(r.status, 2, ProcessRunner.describe(r, "signd sign"), file: file, line: line)
        XCTAssertTrue(r.stderr.contains("[io.outputIsInput]"), ProcessRunner.describe(r, "signd sign"), file: file, line: line)
        XCTAssertEqual(try bytes(input), original, "the input must be unchanged byte for byte", file: file, line: line)
        XCTAssertEqual(try dir.contents(), before, "no output or temporary file may be left behind", file: file, line: line)
    }

    func testRejectsOutputEqualToInput() throws {
        try assertOutputIsInputRejected { $0.file("in.pdf") }
    }

    func testRejectsOutputThatIsInputViaOtherSpelling() throws {
        try assertOutputIsInputRejected { $0.path + "/./sub/../in.pdf" }
    }

    func testRejectsOutputThatIsSymlinkToInput() throws {
        try assertOutputIsInputRejected { dir in
            try FileManager.default.createSymbolicLink(atPath: dir.file("link.pdf"), withDestinationPath: "in.pdf")
            return dir.file("link.pdf")
        }
    }
}
