import CMSSigning
import CMSStructures
import Foundation
import SigndHTTP
import SwiftASN1
import TestSupport
import Timestamping
import X509
import XCTest

/// Our client against a TSA we did not write: OpenSSL's `ts -reply` behind a small Python HTTP
/// server (Fixtures/openssl_tsa.py), and pyHanko's TSA for the certificate OpenSSL will not use.
final class OpenSSLTSAInteropTests: XCTestCase {
    nonisolated(unsafe) static var server: OpenSSLTSAServer?
    nonisolated(unsafe) static var startError: (any Error)?

    override class func setUp() {
        super.setUp()
        do { server = try OpenSSLTSAServer() } catch { startError = error }
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    private func tsaServer() throws -> OpenSSLTSAServer {
        if let server = Self.server { return server }
        throw Self.startError ?? TimestampTestError("the OpenSSL TSA server did not start")
    }

    private func client(url: String, anchors: [Certificate], digest: DigestAlgorithm = .sha256) throws -> TimestampClient {
        var config = TimestampClientConfiguration(urls: [url], validator: TimestampTokenValidator(trustAnchors: anchors))
        config.digest = digest
        config.requestTimeout = 10
        config.attemptsPerURL = 1
        return TimestampClient(configuration: config, transport: try HTTPTimestampTransport())
    }

    // MARK: The client

    func testClientAcceptsOpenSSLTokensForEveryDigest() async throws {
        let server = try tsaServer()
        let root = try server.rootCertificate()
        let data = Array("interop with openssl ts -reply".utf8)
        for digest in [DigestAlgorithm.sha256, .sha384, .sha512] {
            let token = try await client(url: server.url(), anchors: [root], digest: digest).timestamp(data: data)
            XCTAssertEqual(token.tstInfo.messageImprint.hashedMessage, digest.hash(data), "\(digest)")
            XCTAssertEqual(token.tstInfo.messageImprint.hashAlgorithm.algorithm, digest.identifier.algorithm, "\(digest)")
            XCTAssertEqual(token.tstInfo.policy, [1, 3, 6, 1, 4, 1, 99999, 77, 1] as ASN1ObjectIdentifier)
            XCTAssertTrue(token.tstInfo.ordering, "the OpenSSL config sets ordering = yes")
            XCTAssertNotNil(token.tstInfo.tsa, "the OpenSSL config sets tsa_name = yes")
            XCTAssertEqual(token.tsaCertificate.subject.description, try Certificate(
                pemEncoded: String(contentsOfFile: server.tsaCertificatePEM, encoding: .utf8)).subject.description)
            XCTAssertLessThan(abs(token.genTime.timeIntervalSinceNow), 60)
            XCTAssertEqual(token.url, server.url())
        }
    }

    func testClientRejectsOpenSSLTokenWithoutItsRoot() async throws {
        let server = try tsaServer()
        let otherRoot = try TestPKI().root
        await assertTimestampError(.untrusted) {
            try await self.client(url: server.url(), anchors: [otherRoot]).timestamp(data: [1, 2, 3])
        }
    }

    func testClientAcceptsPyHankoTSAWithCriticalEKU() async throws {
        // Positive control for the next test: same TSA software, certificate with critical EKU.
        let server = try tsaServer()
        let token = try await client(url: server.url(mode: "pyhanko"), anchors: [try server.rootCertificate()]).timestamp(data: [4, 5, 6])
        XCTAssertEqual(token.tstInfo.messageImprint.hashedMessage, DigestAlgorithm.sha256.hash([4, 5, 6] as [UInt8]))
    }

    func testClientRejectsTSACertificateWithNonCriticalEKU() async throws {
        let server = try tsaServer()
        await assertTimestampError(.extendedKeyUsage) {
            try await self.client(url: server.url(mode: "noncritical"), anchors: [try server.rootCertificate()]).timestamp(data: [7, 8, 9])
        }
    }

    // MARK: PAdES B-T through the OpenSSL TSA

    func testSignBTThroughOpenSSLTSAValidatesWithPyHankoAndSignd() async throws {
        let server = try tsaServer()
        let pki = try SignerPKI.shared
        let work = try TemporaryDirectory(prefix: "signd-ts-bt-openssl")
        let input = work.file("in.pdf"), output = work.file("out.pdf"), data = work.file("data")
        try writeFile(MinimalPDF.make(), to: input)

        let sign = try await signd(["sign", input, "-o", output, "--key", pki.key("ec256"), "--cert", pki.cert("ec256"),
                                    "--chain", pki.chain, "--level", "B-T", "--tsa", server.url(), "--tsa-trust", server.rootPEM,
                                    "--data-dir", data])
        XCTAssertEqual(sign.status, 0, ProcessRunner.describe(sign, "signd sign"))
        guard sign.status == 0 else { return }

        let (summary, pretty) = try await pyHankoValidate(output, trust: [pki.root, server.rootPEM], otherCerts: pki.chain)
        XCTAssertEqual(summary.status, 0, ProcessRunner.describe(summary, "pyhanko"))
        XCTAssertTrue(summary.stdout.contains(":INTACT:TRUSTED"), ProcessRunner.describe(summary, "pyhanko"))
        XCTAssertTrue(summary.stdout.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), ProcessRunner.describe(summary, "pyhanko"))
        XCTAssertTrue(pretty.stdout.contains("The timestamp token is cryptographically sound."), pretty.stdout)
        XCTAssertTrue(pretty.stdout.contains("The TSA certificate is trusted."), pretty.stdout)
        XCTAssertTrue(pretty.stdout.contains("OpenSSL Test TSA"), pretty.stdout)

        let (verify, json) = try await signdVerifyJSON(output, trust: pki.root, tsaTrust: server.rootPEM, dataDir: data)
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify, "signd verify"))
        let signature = try XCTUnwrap((json["signatures"] as? [[String: Any]])?.first, verify.stdout)
        XCTAssertEqual(signature["level"] as? String, "B-T")
        XCTAssertEqual(signature["intact"] as? Bool, true)
        XCTAssertEqual(signature["trusted"] as? Bool, true)
        let timestamp = try XCTUnwrap(signature["timestamp"] as? [String: Any], verify.stdout)
        XCTAssertEqual(timestamp["imprintValid"] as? Bool, true)
        XCTAssertEqual(timestamp["signatureValid"] as? Bool, true)
        XCTAssertEqual(timestamp["trusted"] as? Bool, true)
        XCTAssertEqual(timestamp["problems"] as? [String], [])
    }

    func testVerifyReportsOpenSSLTimestampUntrustedWithoutItsRoot() async throws {
        // The same B-T file, verified without the OpenSSL TSA root: intact, timestamp untrusted.
        let server = try tsaServer()
        let pki = try SignerPKI.shared
        let work = try TemporaryDirectory(prefix: "signd-ts-bt-openssl-untrusted")
        let input = work.file("in.pdf"), output = work.file("out.pdf"), data = work.file("data")
        try writeFile(MinimalPDF.make(), to: input)
        let sign = try await signd(["sign", input, "-o", output, "--key", pki.key("ec256"), "--cert", pki.cert("ec256"),
                                    "--chain", pki.chain, "--level", "B-T", "--tsa", server.url(), "--tsa-trust", server.rootPEM,
                                    "--data-dir", data])
        XCTAssertEqual(sign.status, 0, ProcessRunner.describe(sign, "signd sign"))
        guard sign.status == 0 else { return }

        let (verify, json) = try await signdVerifyJSON(output, trust: pki.root, tsaTrust: pki.root, dataDir: data)
        let signature = try XCTUnwrap((json["signatures"] as? [[String: Any]])?.first, verify.stdout)
        XCTAssertEqual(signature["intact"] as? Bool, true)
        let timestamp = try XCTUnwrap(signature["timestamp"] as? [String: Any], verify.stdout)
        XCTAssertEqual(timestamp["trusted"] as? Bool, false, verify.stdout)
        XCTAssertEqual(timestamp["imprintValid"] as? Bool, true, verify.stdout)
        XCTAssertEqual(timestamp["problems"] as? [String], ["untrusted"], verify.stdout)
    }
}
