import CMSSigning
import Foundation
import SigndHTTP
import SwiftASN1
import TestSupport
import Timestamping
import X509
import XCTest

/// The signd CLI's timestamping: B-T never silently degrades, the embedded TSA's certificate and
/// server, and B-T files with the embedded TSA validated by pyHanko.
final class TimestampCLITests: XCTestCase {
    var work: TemporaryDirectory!
    var input: String!
    var dataDir: String!

    override func setUp() async throws {
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.signdBinary) else {
            throw XCTSkip("signd is not built at \(PackagePaths.signdBinary); run swift build --build-tests")
        }
        work = try TemporaryDirectory(prefix: "signd-ts-cli")
        input = work.file("in.pdf")
        dataDir = work.file("data")
        try writeFile(MinimalPDF.make(), to: input)
    }

    override func tearDown() async throws {
        work = nil  // XCTest keeps test case objects alive: release the directory now
    }

    func testSignBTWithUnreachableTSAFailsWithoutOutput() async throws {
        let pki = try SignerPKI.shared
        let output = work.file("out.pdf")
        let port = try closedLoopbackPort()
        // --tsa-timeout 1 keeps the test short (see testConnectionRefusedFailsFastInsteadOfWaitingForTheTimeout).
        let result = try await signd(["sign", input, "-o", output, "--key", pki.key("ec256"), "--cert", pki.cert("ec256"),
                                      "--chain", pki.chain, "--level", "B-T", "--tsa", "http://127.0.0.1:\(port)/tsa",
                                      "--tsa-timeout", "1", "--data-dir", dataDir])
        XCTAssertEqual(result.status, 2, ProcessRunner.describe(result))
        XCTAssertTrue(result.stderr.contains("tsa.unreachable"), ProcessRunner.describe(result))
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "B-T must never silently become B-B")
        let leftovers = try work.contents().filter { $0.hasPrefix("out") || $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [], "no partial output")
    }

    func testSignBTWithUntrustedTSAFailsWithoutOutput() async throws {
        // The embedded TSA served over HTTP, but --tsa-trust names another root.
        let pki = try SignerPKI.shared
        let tsa = try TestTSA()
        let server = try await LocalServer.tsa(tsa.authority)
        let output = work.file("out.pdf")
        let result = try await signd(["sign", input, "-o", output, "--key", pki.key("ec256"), "--cert", pki.cert("ec256"),
                                      "--chain", pki.chain, "--level", "B-T", "--tsa", server.tsaURL, "--tsa-trust", pki.root,
                                      "--data-dir", dataDir])
        await server.stop()
        XCTAssertEqual(result.status, 2, ProcessRunner.describe(result))
        XCTAssertTrue(result.stderr.contains("tsa.untrusted"), ProcessRunner.describe(result))
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    func testTSACertificatePrintsLeafThenRoot() async throws {
        let result = try await signd(["tsa", "certificate", "--data-dir", dataDir])
        XCTAssertEqual(result.status, 0, ProcessRunner.describe(result))
        // Leaf, then the embedded CA's issuing certificate, then its root.
        let blocks = PEMFile.blocks(result.stdout)
        XCTAssertEqual(blocks.count, 3, result.stdout)
        XCTAssertTrue(blocks.allSatisfy { $0.hasPrefix("-----BEGIN CERTIFICATE-----") })
        guard blocks.count == 3 else { return }
        let leafPath = work.file("leaf.pem"), rootPath = work.file("root.pem"), issuingPath = work.file("issuing.pem")
        try writeFile(Array(blocks[0].utf8), to: leafPath)
        try writeFile(Array(blocks[1].utf8), to: issuingPath)
        try writeFile(Array(blocks[2].utf8), to: rootPath)

        // The leaf: critical EKU, exactly timeStamping, not a CA, issued by the embedded CA.
        let leafText = try await openssl(["x509", "-in", leafPath, "-noout", "-text"])
        XCTAssertEqual(leafText.status, 0, ProcessRunner.describe(leafText))
        let lines = leafText.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let ekuIndex = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("X509v3 Extended Key Usage") }, leafText.stdout)
        XCTAssertEqual(lines[ekuIndex], "X509v3 Extended Key Usage: critical")
        XCTAssertEqual(lines[ekuIndex + 1], "Time Stamping")
        XCTAssertTrue(lines.contains("CA:FALSE"), leafText.stdout)

        let leaf = try Certificate(pemEncoded: blocks[0])
        let issuing = try Certificate(pemEncoded: blocks[1])
        let root = try Certificate(pemEncoded: blocks[2])
        XCTAssertEqual(leaf.issuer, issuing.subject)
        XCTAssertEqual(issuing.issuer, root.subject)
        XCTAssertEqual(root.issuer, root.subject, "the last certificate is the self-signed root")
        // The embedded CA issued it: the same chain as `signd ca certificate`.
        let caChain = try await signd(["ca", "certificate", "--data-dir", dataDir])
        XCTAssertEqual(PEMFile.blocks(caChain.stdout), Array(blocks[1...]))
        XCTAssertEqual(try leaf.extensions.extendedKeyUsage.map(Array.init), [ExtendedKeyUsage.Usage.timeStamping])

        // OpenSSL's own timestamp-signing purpose check (critical EKU, only timeStamping).
        let verify = try await openssl(["verify", "-CAfile", rootPath, "-untrusted", issuingPath, "-purpose", "timestampsign", leafPath])
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify))

        // Same certificate as `signd init` left in the data directory, and stable across runs.
        let again = try await signd(["tsa", "certificate", "--data-dir", dataDir])
        XCTAssertEqual(again.stdout, result.stdout)
        XCTAssertEqual(try Certificate(pemEncoded: String(contentsOfFile: dataDir + "/tsa/tsa.pem", encoding: .utf8)), leaf)
    }

    func testTSAServeAnswersOpenSSLQueries() async throws {
        let server = try BackgroundProcess(PackagePaths.signdBinary, ["tsa", "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir],
                                           isReady: { $0.hasPrefix("signd TSA listening on ") })
        defer { server.stop() }
        let url = String(server.readyLine.dropFirst("signd TSA listening on ".count))
        XCTAssertTrue(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/tsa"), url)
        XCTAssertFalse(url.hasSuffix(":0/tsa"), "the printed URL must carry the bound port")

        let certs = try await signd(["tsa", "certificate", "--data-dir", dataDir])
        let blocks = PEMFile.blocks(certs.stdout)
        XCTAssertEqual(blocks.count, 3)
        guard blocks.count == 3 else { return }
        try writeFile(Array((blocks[0] + "\n" + blocks[1]).utf8), to: work.file("leaf.pem"))
        try writeFile(Array(blocks[2].utf8), to: work.file("root.pem"))

        let dataFile = work.file("data.txt")
        try writeFile(Array("served over HTTP".utf8), to: dataFile)
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: work.file("q.tsq"))
        let reply = try await HTTPTimestampTransport().post(url: url, body: query, contentType: "application/timestamp-query", timeout: 10)
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.contentType, "application/timestamp-reply")
        try writeFile(reply.body, to: work.file("r.tsr"))
        let verify = try await openssl(["ts", "-verify", "-in", work.file("r.tsr"), "-queryfile", work.file("q.tsq"),
                                        "-CAfile", work.file("root.pem"), "-untrusted", work.file("leaf.pem")])
        XCTAssertTrue(verify.stdout.contains("Verification: OK"), ProcessRunner.describe(verify))

        // The wrong content type is refused with 415, not answered.
        let wrong = try await HTTPTimestampTransport().post(url: url, body: query, contentType: "application/octet-stream", timeout: 10)
        XCTAssertEqual(wrong.status, 415)
    }

    // MARK: B-T with the embedded TSA (no --tsa), validated by pyHanko

    private func assertEmbeddedBT(signer: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let pki = try SignerPKI.shared
        let output = work.file("out-\(signer).pdf")
        let sign = try await signd(["sign", input, "-o", output, "--key", pki.key(signer), "--cert", pki.cert(signer),
                                    "--chain", pki.chain, "--level", "B-T", "--data-dir", dataDir])
        XCTAssertEqual(sign.status, 0, ProcessRunner.describe(sign, "signd sign"), file: file, line: line)
        guard sign.status == 0 else { return }
        let embeddedRoot = dataDir + "/tsa/root.pem"
        XCTAssertTrue(FileManager.default.fileExists(atPath: embeddedRoot), file: file, line: line)

        let (summary, pretty) = try await pyHankoValidate(output, trust: [pki.root, embeddedRoot], otherCerts: pki.chain)
        XCTAssertEqual(summary.status, 0, ProcessRunner.describe(summary, "pyhanko"), file: file, line: line)
        XCTAssertTrue(summary.stdout.contains(":INTACT:TRUSTED"), ProcessRunner.describe(summary, "pyhanko"), file: file, line: line)
        XCTAssertTrue(summary.stdout.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), ProcessRunner.describe(summary, "pyhanko"), file: file, line: line)
        XCTAssertTrue(pretty.stdout.contains("The timestamp token is cryptographically sound."), pretty.stdout, file: file, line: line)
        XCTAssertTrue(pretty.stdout.contains("The TSA certificate is trusted."), pretty.stdout, file: file, line: line)
        XCTAssertTrue(pretty.stdout.contains("signd embedded TSA"), pretty.stdout, file: file, line: line)

        let (verify, json) = try await signdVerifyJSON(output, trust: pki.root, tsaTrust: nil, dataDir: dataDir)
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify, "signd verify"), file: file, line: line)
        let signature = try XCTUnwrap((json["signatures"] as? [[String: Any]])?.first, verify.stdout, file: file, line: line)
        XCTAssertEqual(signature["level"] as? String, "B-T", file: file, line: line)
        let timestamp = try XCTUnwrap(signature["timestamp"] as? [String: Any], verify.stdout, file: file, line: line)
        XCTAssertEqual(timestamp["imprintValid"] as? Bool, true, file: file, line: line)
        XCTAssertEqual(timestamp["trusted"] as? Bool, true, file: file, line: line)
    }

    func testSignBTWithEmbeddedTSAValidatesWithPyHankoECDSA() async throws {
        try await assertEmbeddedBT(signer: "ec256")
    }

    func testSignBTWithEmbeddedTSAValidatesWithPyHankoRSA() async throws {
        try await assertEmbeddedBT(signer: "rsa2048")
    }
}
