import Foundation
import TestSupport
import XCTest

/// Chain validation against the test root, compared with pyHanko.
final class TrustTests: InteropTestCase {
    /// classic.pdf signed by the signer issued by the unrelated root.
    private func signedByUntrusted() throws -> String {
        let output = tmp.file("untrusted.pdf")
        try sign(fx.corpus("classic.pdf"), to: output, signer: fx.signer("untrusted"), chain: false,
                 ["--chain", fx.pki("untrusted-root.pem")])
        return output
    }

    func testUntrustedSignerIsUntrusted() throws {
        let signed = try signedByUntrusted()

        let p = try pyHanko(signed)
        XCTAssertNotEqual(p.status, 0, ProcessRunner.describe(p.output, "pyHanko"))
        XCTAssertEqual(p.lines.map(\.status), ["INTACT:UNTRUSTED"], ProcessRunner.describe(p.output, "pyHanko"))

        let (v, report) = try verify(signed)
        XCTAssertEqual(v.status, 1, ProcessRunner.describe(v, "signd verify"))
        XCTAssertEqual(report.allTrusted, false)
        XCTAssertTrue(report.allIntact, "the signature itself is intact")
        XCTAssertEqual(report.signatures.count, 1)
        XCTAssertEqual(report.signatures.first?.trusted, false)
        XCTAssertEqual(report.signatures.first?.problems.contains("certificate.untrusted"), true)

        // Without trust roots there is no trust verdict and the intact signature passes.
        let (v2, report2) = try verify(signed, trust: false)
        XCTAssertEqual(v2.status, 0, ProcessRunner.describe(v2, "signd verify without --trust"))
        XCTAssertNil(report2.allTrusted)
        XCTAssertNil(report2.signatures.first?.trusted)
    }

    func testUntrustedSignerReportExplainsWhy() throws {
        let (_, report) = try verify(try signedByUntrusted())
        let problem = report.signatures.first?.trustProblem
        XCTAssertNotNil(problem, "trustProblem must be set when trusted is false")
        XCTAssertFalse(problem?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true,
                       "trustProblem must say why the chain failed, got \(String(reflecting: problem))")
    }

    func testSignerWithoutSigningKeyUsage() throws {
        // signd refuses to sign with such a certificate (see testSignRefusesCertificateWithoutSigningKeyUsage),
        // so the signed input is made by pyHanko, which does not check key usage when signing.
        let signer = fx.signer("nokeyusage")
        let signed = tmp.file("nokeyusage.pdf")
        let made = try ProcessRunner.run("python3", ["-m", "pyhanko", "sign", "addsig", "--field", "Sig1", "pemder",
                                                     "--key", signer.key, "--cert", signer.cert, "--no-pass",
                                                     fx.corpus("classic.pdf"), signed], timeout: 120)
        XCTAssertEqual(made.status, 0, ProcessRunner.describe(made))

        let (v, report) = try verify(signed)
        XCTAssertEqual(report.signatures.count, 1)
        XCTAssertEqual(report.signatures.first?.keyUsageValid, false)
        XCTAssertEqual(report.signatures.first?.problems.contains("certificate.keyUsage"), true,
                       "problems: \(report.signatures.first?.problems ?? [])")
        // Like pyHanko (non-repudiation/digitalSignature policy), signd does not trust it.
        XCTAssertEqual(report.signatures.first?.trusted, false)
        XCTAssertEqual(v.status, 1)
        let p = try pyHanko(signed)
        XCTAssertNotEqual(p.status, 0, ProcessRunner.describe(p.output, "pyHanko"))
    }

    func testSignRefusesCertificateWithoutSigningKeyUsage() throws {
        let out = tmp.file("refused.pdf")
        let r = try signd(signArgs(fx.corpus("classic.pdf"), out, signer: fx.signer("nokeyusage")))
        XCTAssertEqual(r.status, 2, ProcessRunner.describe(r))
        XCTAssertTrue(r.stderr.contains("[certificate.keyUsage]"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
