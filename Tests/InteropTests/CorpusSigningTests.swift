import Foundation
import TestSupport
import XCTest

/// Signs every corpus file with the ec256 signer (+ chain) and checks the result with qpdf,
/// pyHanko, pdfsig and signd verify.
final class CorpusSigningTests: InteropTestCase {
    /// Signs corpus file `name` and runs every validator on the output. Also checks that the output
    /// is an incremental update (begins with the input, byte for byte) and that the reported
    /// `/ByteRange` covers the whole file except the `/Contents` gap.
    @discardableResult
    func signAndValidate(_ name: String, extra: [String] = [], signatureCount: Int = 1, pyHanko: Bool = true,
                         noStrictSyntax: Bool = false, file: StaticString = #filePath, line: UInt = #line)
        throws -> (outcome: SignJSON, report: VerifyJSON, output: String) {
        let input = fx.corpus(name)
        let output = tmp.file("signed-" + name)
        let before = try bytes(input)
        let outcome = try sign(input, to: output, signer: fx.signer("ec256"), extra, file: file, line: line)
        XCTAssertEqual(try bytes(input), before, "signd changed its input", file: file, line: line)

        let signed = try bytes(output)
        XCTAssertTrue(signed.count > before.count && signed.prefix(before.count) == before,
                      "the output must start with the unchanged input (incremental update)", file: file, line: line)
        XCTAssertEqual(outcome.level, "B-B", file: file, line: line)
        XCTAssertEqual(outcome.byteRange.count, 4, file: file, line: line)
        if outcome.byteRange.count == 4 {
            XCTAssertEqual(outcome.byteRange[0], 0, "byte range starts at file offset 0", file: file, line: line)
            XCTAssertEqual(outcome.byteRange[2] + outcome.byteRange[3], Int64(signed.count),
                           "byte range reaches the end of the file", file: file, line: line)
        }

        let report = try assertValidEverywhere(output, ourField: outcome.fieldName, signatureCount: signatureCount,
                                               pyHanko: pyHanko, noStrictSyntax: noStrictSyntax, file: file, line: line)
        return (outcome, report, output)
    }

    func testSignClassic() throws {
        try signAndValidate("classic.pdf")
    }

    func testSignObjectStreams() throws {
        try signAndValidate("objstm.pdf")
    }

    func testSignLinearized() throws {
        try signAndValidate("linearized.pdf")
    }

    func testSignMultipageFormsKeepsFields() throws {
        let (outcome, _, output) = try signAndValidate("multipage-forms.pdf")
        let before = try formFields(fx.corpus("multipage-forms.pdf"))
        let after = try formFields(output)
        XCTAssertEqual(Set(before.map(\.name)), ["name", "city", "notes"], "corpus fields")
        for field in before {
            XCTAssertEqual(after.first { $0.name == field.name }, field, "field \(field.name) must survive signing unchanged")
        }
        XCTAssertEqual(after.count, before.count + 1, "exactly one field added: \(after.map(\.name))")
        let ours = after.first { $0.name == outcome.fieldName }
        XCTAssertEqual(ours?.type, "/Sig")
        XCTAssertEqual(ours?.hasValue, true)
    }

    func testSignPresignedKeepsEarlierSignature() throws {
        let (outcome, report, _) = try signAndValidate("presigned.pdf", signatureCount: 2)
        XCTAssertNotEqual(outcome.fieldName, "Existing")
        let earlier = report.signature("Existing")
        XCTAssertNotNil(earlier, "signd verify lists the earlier signature")
        XCTAssertEqual(earlier?.intact, true)
        XCTAssertEqual(earlier?.laterChanges, "signatures-only")
        XCTAssertEqual(earlier?.laterRevisions, true)
        XCTAssertEqual(report.signatures.map(\.field), ["Existing", outcome.fieldName], "signatures in file order")
    }

    func testSignEmptyFieldFillsIt() throws {
        let (outcome, report, output) = try signAndValidate("empty-field.pdf", extra: ["--field", "Sig1"])
        XCTAssertEqual(outcome.fieldName, "Sig1")
        XCTAssertEqual(report.signatures.map(\.field), ["Sig1"])
        let before = try formFields(fx.corpus("empty-field.pdf"))
        let after = try formFields(output)
        XCTAssertEqual(before, [PDFFieldInfo(name: "Sig1", type: "/Sig", hasValue: false, text: nil)], "corpus precondition")
        XCTAssertEqual(after, [PDFFieldInfo(name: "Sig1", type: "/Sig", hasValue: true, text: nil)],
                       "Sig1 is signed and no field was added")
    }

    func testSignHybridReference() throws {
        // pyHanko refuses hybrid-reference files in its default strict mode.
        try signAndValidate("hybrid.pdf", noStrictSyntax: true)
    }

    func testSignCRLF() throws {
        try signAndValidate("crlf.pdf")
    }

    func testSignIncrementallyUpdated() throws {
        try signAndValidate("incremental.pdf")
    }

    func testSignPDF20() throws {
        try signAndValidate("pdf20.pdf")
    }

    func testSignPrefixedWithJunk() throws {
        // pyHanko cannot read a file with bytes before `%PDF-` ("Illegal PDF header", even with
        // --no-strict-syntax), so only qpdf, pdfsig and signd verify judge this one. pdfsig hashes
        // /ByteRange as absolute file offsets, so its "Signature is Valid." proves the junk is covered.
        let (_, report, _) = try signAndValidate("prefixed.pdf", pyHanko: false)
        XCTAssertFalse(report.warnings.isEmpty, "signd verify should warn about the bytes before %PDF-")
    }
}
