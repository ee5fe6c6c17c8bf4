import CMSSigning
import CMSStructures
import Foundation
import SigndHTTP
import SwiftASN1
import TestSupport
import Timestamping
import X509
import XCTest

/// The embedded TSA (TimeStampAuthority) judged by OpenSSL: requests made by `openssl ts -query`,
/// replies checked by `openssl ts -verify`, rejections carrying the right failInfo.
final class EmbeddedTSAOpenSSLTests: XCTestCase {
    var tsa: TestTSA!
    var dir: TemporaryDirectory!
    var pems: (root: String, tsa: String)!
    var dataFile: String!

    override func setUp() async throws {
        guard ProcessRunner.isAvailable("openssl") else { throw XCTSkip("openssl is not installed") }
        tsa = try TestTSA()
        dir = try TemporaryDirectory(prefix: "signd-ts-openssl")
        pems = try tsa.writePEMs(in: dir.path)
        dataFile = dir.file("data.bin")
        try writeFile(Array("the data to timestamp, \(UUID())\n".utf8), to: dataFile)
    }

    override func tearDown() async throws {
        dir = nil  // XCTest keeps test case objects alive: release the directory now
        tsa = nil
    }

    // MARK: Helpers

    /// openssl query → reply from our TSA over HTTP (TSARoutes.application) → `openssl ts -verify`.
    private func assertOpenSSLVerifiesHTTPReply(digest: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: digest, out: dir.file("req.tsq"))
        let server = try await LocalServer.tsa(tsa.authority)
        let response: TransportResponse
        do {
            response = try await HTTPTimestampTransport().post(url: server.tsaURL, body: query, contentType: "application/timestamp-query", timeout: 10)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        XCTAssertEqual(response.status, 200, file: file, line: line)
        XCTAssertEqual(response.contentType, "application/timestamp-reply", file: file, line: line)
        try writeFile(response.body, to: dir.file("resp.tsr"))

        let verify = try await openssl(["ts", "-verify", "-in", dir.file("resp.tsr"), "-queryfile", dir.file("req.tsq"),
                                        "-CAfile", pems.root, "-untrusted", pems.tsa])
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify), file: file, line: line)
        XCTAssertTrue(verify.stdout.contains("Verification: OK"), ProcessRunner.describe(verify), file: file, line: line)

        // The imprint algorithm is the one asked for.
        let info = try XCTUnwrap(try TimeStampResp(derEncoded: response.body).tstInfo(), file: file, line: line)
        let request = try TimeStampReq(derEncoded: query)
        XCTAssertEqual(info.messageImprint.hashAlgorithm.algorithm, request.messageImprint.hashAlgorithm.algorithm, file: file, line: line)
        XCTAssertEqual(info.messageImprint.hashedMessage, request.messageImprint.hashedMessage, file: file, line: line)
    }

    /// Our TSA's reply to `query`, parsed.
    private func reply(to query: [UInt8]) async throws -> TimeStampResp {
        try TimeStampResp(derEncoded: await tsa.authority.respond(to: query))
    }

    private func assertRejection(_ response: TimeStampResp, _ failure: PKIFailureInfo, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(response.status.status, .rejection, file: file, line: line)
        XCTAssertEqual(response.status.failInfo, failure, file: file, line: line)
        XCTAssertNil(response.timeStampToken, file: file, line: line)
    }

    /// OpenSSL's reading of a reply (`openssl ts -reply -in R -text`).
    private func opensslText(of der: [UInt8]) async throws -> ProcessOutput {
        let path = dir.file("reply-\(UUID().uuidString).tsr")
        try writeFile(der, to: path)
        return try await openssl(["ts", "-reply", "-in", path, "-text"])
    }

    // MARK: openssl ts -verify accepts our replies

    func testOpenSSLVerifiesSHA256Reply() async throws {
        try await assertOpenSSLVerifiesHTTPReply(digest: "sha256")
    }

    func testOpenSSLVerifiesSHA384Reply() async throws {
        try await assertOpenSSLVerifiesHTTPReply(digest: "sha384")
    }

    func testOpenSSLVerifiesSHA512Reply() async throws {
        try await assertOpenSSLVerifiesHTTPReply(digest: "sha512")
    }

    // MARK: Rejections

    func testMD5ImprintIsRejectedWithBadAlg() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "md5", out: dir.file("md5.tsq"))
        let der = await tsa.authority.respond(to: query)
        assertRejection(try TimeStampResp(derEncoded: der), .badAlg)
        // OpenSSL reads the failInfo bit the same way (bit 0 = badAlg).
        let text = try await opensslText(of: der)
        XCTAssertEqual(text.status, 0, ProcessRunner.describe(text))
        XCTAssertTrue(text.stdout.contains("Status: Rejected"), text.stdout)
        XCTAssertTrue(text.stdout.contains("unrecognized or unsupported algorithm identifier"), text.stdout)
    }

    func testSHA1ImprintIsRejectedWithBadAlg() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha1", out: dir.file("sha1.tsq"))
        assertRejection(try await reply(to: query), .badAlg)
    }

    func testImprintOfWrongLengthIsRejectedWithBadAlg() async throws {
        var request = try TimeStampReq(derEncoded: try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("q.tsq")))
        request.messageImprint.hashedMessage.removeLast()
        assertRejection(try await reply(to: try request.derEncoded()), .badAlg)
    }

    func testGarbageIsRejectedWithBadDataFormat() async throws {
        let der = await tsa.authority.respond(to: Array("GET / HTTP/1.1\r\n\r\n not DER at all".utf8))
        assertRejection(try TimeStampResp(derEncoded: der), .badDataFormat)
        let text = try await opensslText(of: der)
        XCTAssertTrue(text.stdout.contains("Status: Rejected"), text.stdout)
        XCTAssertTrue(text.stdout.contains("the data submitted has the wrong format"), text.stdout)
    }

    func testEmptyRequestIsRejectedWithBadDataFormat() async throws {
        assertRejection(try await reply(to: []), .badDataFormat)
    }

    func testUnknownPolicyIsRejectedWithUnacceptedPolicy() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", extra: ["-tspolicy", "1.2.3.4.5.6.7"], out: dir.file("policy.tsq"))
        let der = await tsa.authority.respond(to: query)
        assertRejection(try TimeStampResp(derEncoded: der), .unacceptedPolicy)
        let text = try await opensslText(of: der)
        XCTAssertTrue(text.stdout.contains("the requested TSA policy is not supported"), text.stdout)
    }

    func testOwnPolicyRequestedExplicitlyIsGranted() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", extra: ["-tspolicy", TimeStampAuthority.defaultPolicy.description],
                                           out: dir.file("ownpolicy.tsq"))
        let response = try await reply(to: query)
        XCTAssertEqual(response.status.status, .granted)
        XCTAssertEqual(try response.tstInfo()?.policy, TimeStampAuthority.defaultPolicy)
    }

    func testRequestExtensionsAreRejectedWithUnacceptedExtension() async throws {
        var request = try TimeStampReq(derEncoded: try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("ext.tsq")))
        // Extensions ::= SEQUENCE { Extension { extnID 1.2.3.4, extnValue OCTET STRING { NULL } } }
        let extensions: [UInt8] = [0x30, 0x0B, 0x30, 0x09, 0x06, 0x03, 0x2A, 0x03, 0x04, 0x04, 0x02, 0x05, 0x00]
        request.extensions = try ASN1Any(derEncoded: extensions[...])
        assertRejection(try await reply(to: try request.derEncoded()), .unacceptedExtension)
    }

    // MARK: Token contents

    func testNonceIsEchoed() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("nonce.tsq"))
        let request = try TimeStampReq(derEncoded: query)
        let requestNonce = try XCTUnwrap(request.nonce, "openssl ts -query sends a nonce by default")
        let response = try await reply(to: query)
        let info = try XCTUnwrap(try response.tstInfo())
        XCTAssertEqual(info.nonce, requestNonce)
    }

    func testNoNonceRequestedGivesTokenWithoutNonce() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", extra: ["-no_nonce"], out: dir.file("nononce.tsq"))
        XCTAssertNil(try TimeStampReq(derEncoded: query).nonce)
        let response = try await reply(to: query)
        let info = try XCTUnwrap(try response.tstInfo())
        XCTAssertNil(info.nonce)
    }

    func testCertReqFalseGivesTokenWithoutCertificates() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", certReq: false, out: dir.file("nocert.tsq"))
        XCTAssertFalse(try TimeStampReq(derEncoded: query).certReq)
        let response = try await reply(to: query)
        let token = try XCTUnwrap(response.timeStampToken)
        let signedData = try token.signedData()
        XCTAssertTrue((signedData.certificates ?? []).isEmpty, "certReq FALSE: the token must not carry certificates")

        // openssl still verifies it when given the TSA certificate.
        try writeFile(try response.derEncoded(), to: dir.file("nocert.tsr"))
        let verify = try await openssl(["ts", "-verify", "-in", dir.file("nocert.tsr"), "-queryfile", dir.file("nocert.tsq"),
                                        "-CAfile", pems.root, "-untrusted", pems.tsa])
        XCTAssertTrue(verify.stdout.contains("Verification: OK"), ProcessRunner.describe(verify))
    }

    func testCertReqTrueGivesTSACertificateAndChain() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("cert.tsq"))
        let response = try await reply(to: query)
        let signedData = try XCTUnwrap(response.timeStampToken).signedData()
        let certificates = try signedData.x509Certificates()
        XCTAssertTrue(certificates.contains(tsa.signer.certificate))
        XCTAssertTrue(certificates.contains(tsa.pki.root))
    }

    // MARK: Serial numbers

    private static func serials(from authority: TimeStampAuthority, count: Int, query: [UInt8]) async throws -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        for _ in 0..<count {
            let response = try TimeStampResp(derEncoded: await authority.respond(to: query))
            out.append(try XCTUnwrap(try response.tstInfo()).serialNumber)
        }
        return out
    }

    func testSerialsStayUniqueAcrossRestartSharingSerialFile() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("serial.tsq"))
        let path = dir.file("serial")
        // First "process": issues a few tokens, then goes away (its unused block is abandoned).
        let first = TimeStampAuthority(signer: tsa.signer, chain: [tsa.pki.root], serials: FileSerialSource(path: path))
        let before = try await Self.serials(from: first, count: 5, query: query)
        // "Restart": a new authority with a new FileSerialSource on the same file.
        let second = TimeStampAuthority(signer: tsa.signer, chain: [tsa.pki.root], serials: FileSerialSource(path: path))
        let after = try await Self.serials(from: second, count: 5, query: query)
        let all = before + after
        XCTAssertEqual(Set(all).count, all.count, "serials reused after a restart: \(all.map { Array($0) })")
    }

    func testSerialsStayUniqueForTwoLiveInstancesSharingSerialFile() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("serial2.tsq"))
        let path = dir.file("serial")
        // Small blocks, so both instances go back to the file several times while interleaving.
        let a = TimeStampAuthority(signer: tsa.signer, chain: [], serials: FileSerialSource(path: path, blockSize: 3))
        let b = TimeStampAuthority(signer: tsa.signer, chain: [], serials: FileSerialSource(path: path, blockSize: 3))
        var all: [ArraySlice<UInt8>] = []
        for _ in 0..<10 {
            all += try await Self.serials(from: a, count: 2, query: query)
            all += try await Self.serials(from: b, count: 1, query: query)
        }
        XCTAssertEqual(Set(all).count, all.count, "serials reused: \(all.map { Array($0) })")
    }

    /// Exposes a bug: FileSerialSource reads the stored block end and writes the new one without
    /// any lock, so two instances (two processes on one data directory, e.g. `signd tsa serve` and
    /// `signd sign` with the embedded TSA) that reserve a block at the same time both get the same
    /// block and issue the same serial numbers.
    func testSerialsStayUniqueForConcurrentInstancesSharingSerialFile() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("serial3.tsq"))
        var duplicates: [[UInt8]] = []
        for round in 0..<5 {
            let path = dir.file("serial-\(round)")
            let a = TimeStampAuthority(signer: tsa.signer, chain: [], serials: FileSerialSource(path: path))
            let b = TimeStampAuthority(signer: tsa.signer, chain: [], serials: FileSerialSource(path: path))
            async let fromA = Self.serials(from: a, count: 3, query: query)
            async let fromB = Self.serials(from: b, count: 3, query: query)
            let all = try await fromA + fromB
            let counts = Dictionary(all.map { (Array($0), 1) }, uniquingKeysWith: +)
            duplicates += counts.filter { $0.value > 1 }.map(\.key)
        }
        XCTAssertEqual(duplicates, [], "the same serial was issued twice by two live TSA instances on one serial file")
    }

    /// Exposes a bug: an unreadable serial file (damaged, edited) silently restarts numbering at 1,
    /// reissuing serials. The TSA must refuse (systemFailure) or keep numbering above what it issued.
    func testDamagedSerialFileDoesNotRestartNumbering() async throws {
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("serial4.tsq"))
        let path = dir.file("serial")
        let first = TimeStampAuthority(signer: tsa.signer, chain: [], serials: FileSerialSource(path: path))
        let issued = try await Self.serials(from: first, count: 3, query: query)
        try writeFile(Array("#garbage\n".utf8), to: path)
        let restarted = TimeStampAuthority(signer: tsa.signer, chain: [], serials: FileSerialSource(path: path))
        let response = try TimeStampResp(derEncoded: await restarted.respond(to: query))
        if response.status.status.isGranted {
            let serial = try XCTUnwrap(try response.tstInfo()).serialNumber
            XCTAssertFalse(issued.contains(serial), "serial \(Array(serial)) issued again after the serial file was damaged")
        } else {
            XCTAssertEqual(response.status.failInfo, .systemFailure)
        }
    }

    func testSerialNumbersAreMinimalDERIntegers() async throws {
        // Serial 1 from the file source must be encoded as INTEGER 1, not eight octets with leading zeros.
        let query = try await opensslQuery(dataFile: dataFile, digest: "sha256", out: dir.file("s.tsq"))
        let authority = TimeStampAuthority(signer: tsa.signer, chain: [], serials: FileSerialSource(path: dir.file("serial")))
        let der = await authority.respond(to: query)
        let info = try XCTUnwrap(try TimeStampResp(derEncoded: der).tstInfo())
        XCTAssertEqual(Array(info.serialNumber), [0x01])
    }
}
