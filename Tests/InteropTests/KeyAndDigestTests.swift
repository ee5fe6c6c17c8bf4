import Foundation
import TestSupport
import XCTest

/// Every supported key type, key file format, RSA padding and digest, each checked by pyHanko,
/// pdfsig and signd verify.
final class KeyAndDigestTests: InteropTestCase {
    private static let ecdsaSHA256 = "1.2.840.10045.4.3.2"
    private static let ecdsaSHA384 = "1.2.840.10045.4.3.3"
    private static let ecdsaSHA512 = "1.2.840.10045.4.3.4"
    /// rsaEncryption or sha256WithRSAEncryption: both are valid in a CMS SignerInfo for PKCS#1 v1.5.
    private static let rsaPKCS1SHA256: Set<String> = ["1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11"]
    private static let rsaPSS = "1.2.840.113549.1.1.10"

    /// Signs classic.pdf and checks all validators; `digest` is the expected digest name.
    private func check(signer name: String, key: String? = nil, _ extra: [String] = [], digest: String = "sha256",
                       signatureAlgorithms: Set<String>, file: StaticString = #filePath, line: UInt = #line) throws {
        let output = tmp.file("signed.pdf")
        let outcome = try sign(fx.corpus("classic.pdf"), to: output, signer: fx.signer(name), key: key, extra, file: file, line: line)
        XCTAssertEqual(outcome.digestAlgorithm, digest, file: file, line: line)

        let p = try pyHanko(output)
        XCTAssertEqual(p.status, 0, ProcessRunner.describe(p.output, "pyHanko"), file: file, line: line)
        XCTAssertEqual(p.lines.map(\.status), ["INTACT:TRUSTED"], ProcessRunner.describe(p.output, "pyHanko"), file: file, line: line)

        let s = try pdfsig(output)
        XCTAssertEqual(s.signatures.count, 1, ProcessRunner.describe(s.output, "pdfsig"), file: file, line: line)
        XCTAssertEqual(s.signatures.first?.validation, "Signature is Valid.", file: file, line: line)
        XCTAssertEqual(s.signatures.first?.hashAlgorithm, digest.uppercased().replacingOccurrences(of: "SHA", with: "SHA-"),
                       "pdfsig's view of the digest", file: file, line: line)

        let (v, report) = try verify(output)
        XCTAssertEqual(v.status, 0, ProcessRunner.describe(v, "signd verify"), file: file, line: line)
        XCTAssertTrue(report.allIntact, file: file, line: line)
        XCTAssertEqual(report.allTrusted, true, file: file, line: line)
        XCTAssertEqual(report.signatures.count, 1, file: file, line: line)
        if let sig = report.signatures.first {
            XCTAssertEqual(sig.level, "B-B", file: file, line: line)
            XCTAssertEqual(sig.digestAlgorithm, digest, file: file, line: line)
            XCTAssertTrue(signatureAlgorithms.contains(sig.signatureAlgorithm ?? "nil"),
                          "signatureAlgorithm \(sig.signatureAlgorithm ?? "nil") not in \(signatureAlgorithms)", file: file, line: line)
        }
    }

    func testECP384() throws {
        try check(signer: "ec384", signatureAlgorithms: [Self.ecdsaSHA256])
    }

    func testRSA2048PKCS1KeyFile() throws {
        try check(signer: "rsa2048", key: fx.pki("rsa2048.pkcs1.pem"), signatureAlgorithms: Self.rsaPKCS1SHA256)
    }

    func testRSA3072() throws {
        try check(signer: "rsa3072", signatureAlgorithms: Self.rsaPKCS1SHA256)
    }

    func testRSA4096() throws {
        try check(signer: "rsa4096", signatureAlgorithms: Self.rsaPKCS1SHA256)
    }

    func testRSA2048PSS() throws {
        try check(signer: "rsa2048", ["--rsa-padding", "pss"], signatureAlgorithms: [Self.rsaPSS])
    }

    func testECP256SEC1KeyFile() throws {
        try check(signer: "ec256", key: fx.pki("ec256.sec1.pem"), signatureAlgorithms: [Self.ecdsaSHA256])
    }

    func testDigestSHA384() throws {
        try check(signer: "ec256", ["--digest", "sha384"], digest: "sha384", signatureAlgorithms: [Self.ecdsaSHA384])
    }

    func testDigestSHA512() throws {
        try check(signer: "ec256", ["--digest", "sha512"], digest: "sha512", signatureAlgorithms: [Self.ecdsaSHA512])
    }
}
