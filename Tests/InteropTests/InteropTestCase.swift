import Foundation
import TestSupport
import XCTest

// Shared plumbing of the interop tests: run signd and the independent validators (pyHanko, pdfsig,
// qpdf, pikepdf) and parse what they print into small values the tests assert on. Only stable
// outputs are parsed: signd's exit codes, `--json` documents and `[error.code]` tokens, pyHanko's
// one-line status (`field:certhash:INTACT:TRUSTED,UNTOUCHED`) and exit code, pdfsig's
// validation lines, qpdf's exit code.

// MARK: - signd JSON (decoded with our own key names, so a renamed key fails the tests)

/// `signd verify --json`.
struct VerifyJSON: Decodable {
    struct Signature: Decodable {
        let field: String
        let type: String
        let level: String
        let intact: Bool
        let messageDigestValid: Bool
        let signatureValid: Bool
        let keyUsageValid: Bool
        let trusted: Bool?
        let trustProblem: String?
        let laterChanges: String
        let laterRevisions: Bool
        let coversWholeRevision: Bool
        let digestAlgorithm: String?
        let signatureAlgorithm: String?
        let signingTime: String?
        let revision: Int?
        let problems: [String]
    }
    let revisions: Int
    let signatures: [Signature]
    let allIntact: Bool
    let allTrusted: Bool?
    let warnings: [String]

    func signature(_ field: String) -> Signature? { signatures.first { $0.field == field } }
}

/// `signd sign --json`.
struct SignJSON: Decodable {
    let outputPath: String
    let fieldName: String
    let byteRange: [Int64]
    let digestAlgorithm: String
    let level: String
    let warnings: [String]
}

// MARK: - Validator outputs

/// One line of `pyhanko sign validate` (non-pretty): `FIELD:SHA256:STATUS[,FLAG…]`.
struct PyHankoLine: CustomStringConvertible {
    let field: String
    /// `INTACT:TRUSTED`, `INTACT:UNTRUSTED`, `INVALID`, …
    let status: String
    /// `UNTOUCHED`, `EXTENDED_WITH_FORM_FILLING`, `ILLEGAL_MODIFICATIONS`, …
    let flags: [String]
    var description: String { "\(field): \(status) \(flags)" }

    init?(_ line: Substring) {
        let parts = line.split(separator: ":", omittingEmptySubsequences: false)
        guard let i = parts.firstIndex(where: { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }), i > 0, i + 1 < parts.count else {
            return nil
        }
        field = parts[..<i].joined(separator: ":")
        let rest = parts[(i + 1)...].joined(separator: ":").split(separator: ",").map(String.init)
        status = rest.first ?? ""
        flags = Array(rest.dropFirst())
    }
}

struct PyHankoResult {
    let output: ProcessOutput
    let lines: [PyHankoLine]
    var status: Int32 { output.status }
}

/// One `Signature #n:` block of pdfsig.
struct PDFSigSignature {
    var values: [String: String] = [:]
    var flags: [String] = []
    var field: String? { values["Signature Field Name"] }
    var validation: String? { values["Signature Validation"] }
    var certificateValidation: String? { values["Certificate Validation"] }
    var hashAlgorithm: String? { values["Signing Hash Algorithm"] }
    var totalDocumentSigned: Bool { flags.contains("Total document signed") }
}

struct PDFSigResult {
    let output: ProcessOutput
    let signatures: [PDFSigSignature]
}

/// An AcroForm terminal field as pikepdf sees it.
struct PDFFieldInfo: Decodable, Equatable {
    let name: String
    let type: String?
    let hasValue: Bool
    /// The text value of a `/Tx` field.
    let text: String?
}

// MARK: - Base class

class InteropTestCase: XCTestCase {
    /// The PKI and corpus (built once per process).
    var fx: InteropFixtures!
    /// A fresh directory per test for outputs.
    var tmp: TemporaryDirectory!

    override func setUpWithError() throws {
        try super.setUpWithError()
        fx = try InteropFixtures.shared
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.signdBinary) else {
            throw ProcessRunnerError(description: "signd binary not found at \(PackagePaths.signdBinary); run `swift build --build-tests` or set SIGND_BIN")
        }
        tmp = try TemporaryDirectory(prefix: "signd-interop-case")
    }

    override func tearDown() {
        tmp = nil
        super.tearDown()
    }

    // MARK: signd

    func signd(_ args: [String]) throws -> ProcessOutput {
        try ProcessRunner.run(PackagePaths.signdBinary, args, timeout: 120)
    }

    /// The arguments for signing `input` into `output` with `signer` (+ chain.pem unless `chain` is false).
    func signArgs(_ input: String, _ output: String, signer: InteropFixtures.Signer, key: String? = nil,
                  chain: Bool = true, _ extra: [String] = []) -> [String] {
        var args = ["sign", input, "-o", output, "--key", key ?? signer.key, "--cert", signer.cert]
        if chain { args += ["--chain", fx.chain] }
        return args + extra
    }

    /// Signs and requires success; returns the `--json` outcome.
    @discardableResult
    func sign(_ input: String, to output: String, signer: InteropFixtures.Signer, key: String? = nil, chain: Bool = true,
              _ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> SignJSON {
        let r = try signd(signArgs(input, output, signer: signer, key: key, chain: chain, extra + ["--json"]))
        guard r.status == 0 else {
            XCTFail("signd sign failed" + ProcessRunner.describe(r), file: file, line: line)
            throw ProcessRunnerError(description: "signd sign \(input) failed with exit \(r.status)")
        }
        return try decode(SignJSON.self, r, "signd sign --json")
    }

    /// `signd verify --json [--trust root.pem] FILE`.
    func verify(_ path: String, trust: Bool = true) throws -> (output: ProcessOutput, report: VerifyJSON) {
        var args = ["verify", "--json"]
        if trust { args += ["--trust", fx.rootCertificate] }
        let r = try signd(args + [path])
        return (r, try decode(VerifyJSON.self, r, "signd verify --json"))
    }

    func decode<T: Decodable>(_ type: T.Type, _ r: ProcessOutput, _ what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(r.stdout.utf8))
        } catch {
            XCTFail("\(what) printed no decodable JSON (\(error))" + ProcessRunner.describe(r))
            throw error
        }
    }

    // MARK: validators

    /// `pyhanko sign validate` against the test root (only), with the chain as extra certificates.
    func pyHanko(_ path: String, noStrictSyntax: Bool = false) throws -> PyHankoResult {
        var args = ["-m", "pyhanko", "sign", "validate", "--trust-replace", "--trust", fx.rootCertificate,
                    "--other-certs", fx.chain]
        if noStrictSyntax { args.append("--no-strict-syntax") }
        let r = try ProcessRunner.run("python3", args + [path], timeout: 120)
        let lines = r.stdout.split(whereSeparator: \.isNewline).compactMap(PyHankoLine.init)
        return PyHankoResult(output: r, lines: lines)
    }

    /// `pdfsig -nssdir sql:PKI/nssdb FILE`, parsed per signature.
    func pdfsig(_ path: String) throws -> PDFSigResult {
        XCTAssertTrue(fx.hasNSSDatabase, "make_pki.sh made no nssdb (certutil missing? run scripts/test-deps.sh)")
        let r = try ProcessRunner.run("pdfsig", ["-nssdir", fx.nssDirectory, path], timeout: 120)
        var signatures: [PDFSigSignature] = []
        for raw in r.stdout.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Signature #") {
                signatures.append(PDFSigSignature())
            } else if line.hasPrefix("- "), !signatures.isEmpty {
                let item = line.dropFirst(2)
                if let colon = item.range(of: ": ") {
                    signatures[signatures.count - 1].values[String(item[..<colon.lowerBound])] = String(item[colon.upperBound...])
                } else {
                    signatures[signatures.count - 1].flags.append(String(item))
                }
            }
        }
        return PDFSigResult(output: r, signatures: signatures)
    }

    func qpdfCheck(_ path: String) throws -> ProcessOutput {
        try ProcessRunner.run("qpdf", ["--check", path], timeout: 120)
    }

    /// The terminal AcroForm fields of a PDF, read with pikepdf.
    func formFields(_ path: String) throws -> [PDFFieldInfo] {
        let script = """
        import json, sys, pikepdf
        out = []
        def walk(fields, prefix):
            for f in fields:
                t = str(f.get('/T', ''))
                name = prefix + '.' + t if prefix and t else (t or prefix)
                kids = f.get('/Kids')
                if kids is not None and any('/T' in k for k in kids):
                    walk(kids, name)
                    continue
                ft = f.get('/FT')
                v = f.get('/V')
                out.append({'name': name, 'type': None if ft is None else str(ft), 'hasValue': v is not None,
                            'text': str(v) if (v is not None and ft is not None and str(ft) == '/Tx') else None})
        with pikepdf.open(sys.argv[1]) as pdf:
            acroform = pdf.Root.get('/AcroForm')
            if acroform is not None:
                walk(acroform.get('/Fields', []), '')
        print(json.dumps(out))
        """
        let r = try ProcessRunner.run("python3", ["-c", script, path], timeout: 120)
        XCTAssertEqual(r.status, 0, ProcessRunner.describe(r, "pikepdf"))
        return try decode([PDFFieldInfo].self, r, "pikepdf field listing")
    }

    /// `tamper.py MODE IN OUT [ARGS]`; requires success.
    func tamper(_ mode: String, _ input: String, _ output: String, _ extra: [String] = []) throws {
        let r = try ProcessRunner.run("python3", [fx.tamperScript, mode, input, output] + extra, timeout: 120)
        guard r.status == 0 else {
            XCTFail(ProcessRunner.describe(r, "tamper.py \(mode)"))
            throw ProcessRunnerError(description: "tamper.py \(mode) failed")
        }
    }

    // MARK: shared assertions

    /// Every validator accepts `signed` as a valid, trusted PAdES file whose last signature is
    /// `ourField` and which holds `signatureCount` signatures in all: qpdf --check, pyHanko
    /// (skipped when `pyHanko` is false), pdfsig with the test NSS database, and signd verify.
    /// Returns signd's report for case-specific checks.
    @discardableResult
    func assertValidEverywhere(_ signed: String, ourField: String, signatureCount: Int = 1, pyHanko runPyHanko: Bool = true,
                               noStrictSyntax: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> VerifyJSON {
        let q = try qpdfCheck(signed)
        XCTAssertEqual(q.status, 0, ProcessRunner.describe(q, "qpdf --check"), file: file, line: line)

        if runPyHanko {
            let p = try pyHanko(signed, noStrictSyntax: noStrictSyntax)
            XCTAssertEqual(p.status, 0, ProcessRunner.describe(p.output, "pyHanko"), file: file, line: line)
            XCTAssertEqual(p.lines.count, signatureCount, "pyHanko signature lines: \(p.lines)", file: file, line: line)
            for l in p.lines {
                XCTAssertEqual(l.status, "INTACT:TRUSTED", "pyHanko on \(l.field): \(l)", file: file, line: line)
            }
            XCTAssertEqual(p.lines.last?.field, ourField, "pyHanko's last signature", file: file, line: line)
        }

        let s = try pdfsig(signed)
        XCTAssertEqual(s.signatures.count, signatureCount, ProcessRunner.describe(s.output, "pdfsig"), file: file, line: line)
        XCTAssertFalse(s.output.stdout.contains("Digest Mismatch"), ProcessRunner.describe(s.output, "pdfsig"), file: file, line: line)
        for sig in s.signatures {
            XCTAssertEqual(sig.validation, "Signature is Valid.", "pdfsig on \(sig.field ?? "?")", file: file, line: line)
            XCTAssertEqual(sig.certificateValidation, "Certificate is Trusted.", "pdfsig on \(sig.field ?? "?")", file: file, line: line)
        }
        let ours = s.signatures.first { $0.field == ourField }
        XCTAssertNotNil(ours, "pdfsig lists no field \(ourField)", file: file, line: line)
        XCTAssertEqual(ours?.totalDocumentSigned, true, "pdfsig: our signature must cover the whole file", file: file, line: line)

        let (v, report) = try verify(signed)
        XCTAssertEqual(v.status, 0, ProcessRunner.describe(v, "signd verify"), file: file, line: line)
        XCTAssertTrue(report.allIntact, "allIntact", file: file, line: line)
        XCTAssertEqual(report.allTrusted, true, "allTrusted", file: file, line: line)
        XCTAssertEqual(report.signatures.count, signatureCount, "signd verify signatures", file: file, line: line)
        for sig in report.signatures {
            XCTAssertTrue(sig.intact, "\(sig.field) intact; problems \(sig.problems)", file: file, line: line)
            XCTAssertEqual(sig.trusted, true, "\(sig.field) trusted", file: file, line: line)
        }
        if let mine = report.signature(ourField) {
            XCTAssertEqual(mine.level, "B-B", file: file, line: line)
            XCTAssertEqual(mine.type, "Sig", file: file, line: line)
            XCTAssertEqual(mine.laterChanges, "none", file: file, line: line)
            XCTAssertFalse(mine.laterRevisions, file: file, line: line)
            XCTAssertTrue(mine.coversWholeRevision, file: file, line: line)
            XCTAssertTrue(mine.messageDigestValid, file: file, line: line)
            XCTAssertTrue(mine.signatureValid, file: file, line: line)
            XCTAssertEqual(mine.problems, [], file: file, line: line)
        } else {
            XCTFail("signd verify lists no field \(ourField): \(report.signatures.map(\.field))", file: file, line: line)
        }
        return report
    }

    func bytes(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }
}
