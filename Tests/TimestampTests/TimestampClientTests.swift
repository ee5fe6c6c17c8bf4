import CMSSigning
import CMSStructures
import Foundation
import Hummingbird
import NIOCore
import SigndHTTP
import SwiftASN1
import TestSupport
import Timestamping
import X509
import XCTest

/// TimestampClient + TimestampTokenValidator: every way a TSA answer can be wrong is refused with
/// its code, retries happen only for retryable failures, failover moves on to the next URL.
final class TimestampClientTests: XCTestCase {
    let url = "http://tsa.invalid/tsa"
    let data = Array("the signature value".utf8)

    private func client(_ transport: any TimestampTransport, urls: [String]? = nil, validator: TimestampTokenValidator,
                        attempts: Int = 3, timeout: TimeInterval = 10, policy: ASN1ObjectIdentifier? = nil,
                        clock: @escaping @Sendable () -> Date = { Date() },
                        sleep: SleepRecorder = SleepRecorder()) -> TimestampClient {
        var config = TimestampClientConfiguration(urls: urls ?? [url], validator: validator)
        config.attemptsPerURL = attempts
        config.requestTimeout = timeout
        config.policy = policy
        return TimestampClient(configuration: config, transport: transport, clock: clock, sleep: sleep.sleep)
    }

    // MARK: Accepted

    func testValidTokenFromEmbeddedAuthorityIsAccepted() async throws {
        let tsa = try TestTSA()
        let transport = FakeTransport.authority(tsa.authority)
        let token = try await client(transport, validator: tsa.validator).timestamp(data: data)
        XCTAssertEqual(token.tstInfo.messageImprint.hashedMessage, DigestAlgorithm.sha256.hash(data))
        XCTAssertEqual(token.tsaCertificate, tsa.signer.certificate)
        XCTAssertEqual(token.url, url)
        XCTAssertEqual(transport.calls.count, 1)
    }

    // MARK: Bad tokens

    func testWrongNonceIsRejected() async throws {
        let tsa = try TestTSA()
        let transport = FakeTransport.authority(tsa.authority) { request in
            request.nonce = TimeStampReq.nonce(0x0102_0304)  // a replayed/foreign answer
        }
        await assertTimestampError(.nonceMismatch) { try await self.client(transport, validator: tsa.validator).timestamp(data: self.data) }
        XCTAssertEqual(transport.calls.count, 1, "a bad token is not retried")
    }

    func testMissingNonceIsRejected() async throws {
        let tsa = try TestTSA()
        let transport = FakeTransport.authority(tsa.authority) { request in request.nonce = nil }
        await assertTimestampError(.nonceMismatch) { try await self.client(transport, validator: tsa.validator).timestamp(data: self.data) }
    }

    func testWrongImprintIsRejected() async throws {
        let tsa = try TestTSA()
        let transport = FakeTransport.authority(tsa.authority) { request in
            request.messageImprint.hashedMessage[0] ^= 0xFF
        }
        await assertTimestampError(.imprintMismatch) { try await self.client(transport, validator: tsa.validator).timestamp(data: self.data) }
    }

    func testImprintWithOtherAlgorithmIsRejected() async throws {
        // The TSA answers over SHA-512 of something else while SHA-256 was asked for.
        let tsa = try TestTSA()
        let transport = FakeTransport.authority(tsa.authority) { request in
            request.messageImprint = MessageImprint(hashAlgorithm: DigestAlgorithm.sha512.identifier, hashedMessage: DigestAlgorithm.sha512.hash([0] as [UInt8]))
        }
        await assertTimestampError(.imprintMismatch) { try await self.client(transport, validator: tsa.validator).timestamp(data: self.data) }
    }

    func testRejectionStatusIsReportedAndNotRetried() async throws {
        // A real rejection: we ask for a policy the TSA does not offer (unacceptedPolicy).
        let tsa = try TestTSA()
        let transport = FakeTransport.authority(tsa.authority)
        let sleeps = SleepRecorder()
        let error = await assertTimestampError(.rejected) {
            try await self.client(transport, validator: tsa.validator, attempts: 3, policy: TestTSA.otherPolicy, sleep: sleeps).timestamp(data: self.data)
        }
        XCTAssertEqual(transport.calls.count, 1, "a rejection must not be retried")
        XCTAssertEqual(sleeps.delays, [])
        XCTAssertEqual(error?.retryable, false)
        XCTAssertEqual(error?.url, url)
    }

    func testRejectionMovesOnToNextTSA() async throws {
        let rejecting = try TestTSA(policy: [1, 2, 3, 4])
        let good = try TestTSA()
        let transport = FakeTransport { url, body in
            let authority = url.hasSuffix("/a") ? rejecting.authority : good.authority
            return TransportResponse(status: 200, contentType: "application/timestamp-reply", body: await authority.respond(to: body))
        }
        var config = TimestampClientConfiguration(urls: ["http://x/a", "http://x/b"], validator: good.validator)
        config.policy = TimeStampAuthority.defaultPolicy
        let token = try await TimestampClient(configuration: config, transport: transport, sleep: SleepRecorder().sleep).timestamp(data: data)
        XCTAssertEqual(token.url, "http://x/b")
        XCTAssertEqual(transport.calls, ["http://x/a", "http://x/b"])
    }

    func testUntrustedTSAIsRejected() async throws {
        let tsa = try TestTSA()
        let stranger = try TestPKI()
        let transport = FakeTransport.authority(tsa.authority)
        await assertTimestampError(.untrusted) {
            try await self.client(transport, validator: TimestampTokenValidator(trustAnchors: [stranger.root])).timestamp(data: self.data)
        }
    }

    func testTSAWithNoTrustAnchorsIsRejected() async throws {
        let tsa = try TestTSA()
        await assertTimestampError(.untrusted) {
            try await self.client(FakeTransport.authority(tsa.authority), validator: TimestampTokenValidator(trustAnchors: [])).timestamp(data: self.data)
        }
    }

    func testTSACertificateWithNonCriticalEKUIsRejected() async throws {
        let tsa = try TestTSA(criticalEKU: false)
        await assertTimestampError(.extendedKeyUsage) {
            try await self.client(FakeTransport.authority(tsa.authority), validator: tsa.validator).timestamp(data: self.data)
        }
    }

    func testTokenWithoutCertificateIsRejected() async throws {
        // The TSA ignores certReq: the client cannot check whose token it is.
        let tsa = try TestTSA()
        let transport = FakeTransport.authority(tsa.authority) { request in request.certReq = false }
        await assertTimestampError(.certificateMissing) { try await self.client(transport, validator: tsa.validator).timestamp(data: self.data) }
    }

    func testTokenWhoseContentTypeIsNotTSTInfoIsRejected() async throws {
        let tsa = try TestTSA()
        let transport = FakeTransport { _, body in
            let genuine = try TimeStampResp(derEncoded: await tsa.authority.respond(to: body))
            var signedData = try XCTUnwrap(genuine.timeStampToken).signedData()
            signedData.encapContentInfo.eContentType = CMSObjectIdentifiers.idData
            let forged = try TimeStampResp(status: genuine.status, timeStampToken: try ContentInfo(signedData: signedData))
            return TransportResponse(status: 200, contentType: "application/timestamp-reply", body: try forged.derEncoded())
        }
        await assertTimestampError(.wrongContentType) { try await self.client(transport, validator: tsa.validator).timestamp(data: self.data) }
    }

    func testTamperedTSTInfoFailsSignatureCheck() async throws {
        let tsa = try TestTSA()
        let transport = FakeTransport { _, body in
            let genuine = try TimeStampResp(derEncoded: await tsa.authority.respond(to: body))
            var signedData = try XCTUnwrap(genuine.timeStampToken).signedData()
            var info = try XCTUnwrap(try genuine.tstInfo())
            info.serialNumber = [0x7F, 0x7F]
            signedData.encapContentInfo.eContent = try info.derEncoded()
            let forged = try TimeStampResp(status: genuine.status, timeStampToken: try ContentInfo(signedData: signedData))
            return TransportResponse(status: 200, contentType: "application/timestamp-reply", body: try forged.derEncoded())
        }
        await assertTimestampError(.signatureInvalid) { try await self.client(transport, validator: tsa.validator).timestamp(data: self.data) }
    }

    func testGrantedResponseWithoutTokenIsRejected() async throws {
        // TimeStampResp's initializer refuses this shape, so encode it by hand: SEQUENCE { SEQUENCE { INTEGER 0 } }.
        let transport = FakeTransport { _, _ in
            TransportResponse(status: 200, contentType: "application/timestamp-reply", body: [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00])
        }
        await assertTimestampErrorIn([.noToken, .malformedResponse]) {
            try await self.client(transport, validator: TimestampTokenValidator(trustAnchors: [])).timestamp(data: self.data)
        }
        XCTAssertEqual(transport.calls.count, 1)
    }

    func testGarbageReplyIsMalformedResponse() async throws {
        let transport = FakeTransport { _, _ in
            TransportResponse(status: 200, contentType: "application/timestamp-reply", body: Array("<html>hello</html>".utf8))
        }
        await assertTimestampError(.malformedResponse) {
            try await self.client(transport, validator: TimestampTokenValidator(trustAnchors: [])).timestamp(data: self.data)
        }
        XCTAssertEqual(transport.calls.count, 1)
    }

    func testGenTimeFarFromLocalTimeIsRejected() async throws {
        let tsa = try TestTSA()
        // Local clock one hour ahead of the TSA (tolerance 300 s).
        let c = client(FakeTransport.authority(tsa.authority), validator: tsa.validator, clock: { Date().addingTimeInterval(3600) })
        await assertTimestampError(.clockSkew) { try await c.timestamp(data: self.data) }
    }

    func testGenTimeWithinToleranceIsAccepted() async throws {
        let tsa = try TestTSA()
        let c = client(FakeTransport.authority(tsa.authority), validator: tsa.validator, clock: { Date().addingTimeInterval(-120) })
        _ = try await c.timestamp(data: data)
    }

    func testGenTimeOutsideTSACertificateValidityIsRejected() async throws {
        // The TSA's clock is two hours behind: before its certificate's notBefore (now - 1 h).
        let skewed = Date().addingTimeInterval(-7200)
        let tsa = try TestTSA(clock: { skewed })
        let c = client(FakeTransport.authority(tsa.authority), validator: tsa.validator, clock: { skewed })
        await assertTimestampError(.genTimeOutsideValidity) { try await c.timestamp(data: self.data) }
    }

    func testNoURLConfiguredIsNotConfigured() async throws {
        let tsa = try TestTSA()
        let c = client(FakeTransport.authority(tsa.authority), urls: [], validator: tsa.validator)
        await assertTimestampError(.noTSAConfigured) { try await c.timestamp(data: self.data) }
    }

    // MARK: HTTP (HTTPTimestampTransport against in-process Hummingbird servers)

    func testWrongHTTPContentTypeIsRejected() async throws {
        let tsa = try TestTSA()
        let authority = tsa.authority
        let server = try await LocalServer.routes { router in
            router.post("/tsa") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 16)
                let reply = await authority.respond(to: Array(body.readableBytesView))
                return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
            }
        }
        let transport = CountingTransport(try HTTPTimestampTransport())
        let error = await assertTimestampError(.contentType) {
            try await self.client(transport, urls: [server.tsaURL], validator: tsa.validator).timestamp(data: self.data)
        }
        await server.stop()
        XCTAssertEqual(transport.calls.count, 1, "a wrong content type is not retried")
        XCTAssertEqual(error?.url, server.tsaURL)
    }

    func testTimestampResponseContentTypeIsAccepted() async throws {
        // Some TSAs say application/timestamp-response (with parameters); both are accepted.
        let tsa = try TestTSA()
        let authority = tsa.authority
        let server = try await LocalServer.routes { router in
            router.post("/tsa") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 16)
                let reply = await authority.respond(to: Array(body.readableBytesView))
                return Response(status: .ok, headers: [.contentType: "Application/TimeStamp-Response; charset=binary"],
                                body: .init(byteBuffer: ByteBuffer(bytes: reply)))
            }
        }
        let result = await Result { try await self.client(HTTPTimestampTransport(), urls: [server.tsaURL], validator: tsa.validator).timestamp(data: self.data) }
        await server.stop()
        XCTAssertNoThrow(try result.get())
    }

    func testHTTP500IsRetriedAttemptsPerURLTimes() async throws {
        let tsa = try TestTSA()
        let hits = Counter()
        let server = try await LocalServer.routes { router in
            router.post("/tsa") { _, _ -> Response in
                hits.increment()
                return Response(status: .internalServerError, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "boom\n")))
            }
        }
        let sleeps = SleepRecorder()
        let transport = CountingTransport(try HTTPTimestampTransport())
        let error = await assertTimestampError(.httpStatus) {
            try await self.client(transport, urls: [server.tsaURL], validator: tsa.validator, attempts: 3, sleep: sleeps).timestamp(data: self.data)
        }
        await server.stop()
        XCTAssertEqual(transport.calls.count, 3)
        XCTAssertEqual(hits.value, 3, "the server saw every attempt")
        XCTAssertEqual(sleeps.delays, [0.2, 0.4], "exponential backoff between attempts, none after the last")
        XCTAssertEqual(error?.retryable, true)
    }

    func testHTTP400IsNotRetried() async throws {
        let tsa = try TestTSA()
        let server = try await LocalServer.routes { router in
            router.post("/tsa") { _, _ -> Response in
                Response(status: .badRequest, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "no\n")))
            }
        }
        let transport = CountingTransport(try HTTPTimestampTransport())
        let error = await assertTimestampError(.httpStatus) {
            try await self.client(transport, urls: [server.tsaURL], validator: tsa.validator, attempts: 3).timestamp(data: self.data)
        }
        await server.stop()
        XCTAssertEqual(transport.calls.count, 1)
        XCTAssertEqual(error?.retryable, false)
    }

    func testConnectionRefusedIsUnreachable() async throws {
        let tsa = try TestTSA()
        let url = "http://127.0.0.1:\(try closedLoopbackPort())/tsa"
        let transport = CountingTransport(try HTTPTimestampTransport())
        let error = await assertTimestampError(.unreachable) {
            try await self.client(transport, urls: [url], validator: tsa.validator, attempts: 2, timeout: 1).timestamp(data: self.data)
        }
        XCTAssertEqual(transport.calls.count, 2, "unreachable is retryable")
        XCTAssertEqual(error?.retryable, true)
        XCTAssertEqual(error?.url, url)
    }

    /// Exposes a bug: a refused connection is not reported until the whole request timeout has
    /// passed (AsyncHTTPClient retries connection establishment until the deadline), so the CLI's
    /// defaults (10 s × 3 attempts) make a dead TSA cost ~30 s before failover or failure.
    func testConnectionRefusedFailsFastInsteadOfWaitingForTheTimeout() async throws {
        let tsa = try TestTSA()
        let url = "http://127.0.0.1:\(try closedLoopbackPort())/tsa"
        let started = Date()
        await assertTimestampError(.unreachable) {
            try await self.client(HTTPTimestampTransport(), urls: [url], validator: tsa.validator, attempts: 1, timeout: 4).timestamp(data: self.data)
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(elapsed, 2, "connection refused took \(elapsed) s to report (request timeout 4 s)")
    }

    func testSlowTSATimesOut() async throws {
        let tsa = try TestTSA()
        let authority = tsa.authority
        let server = try await LocalServer.routes { router in
            router.post("/tsa") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 16)
                try? await Task.sleep(nanoseconds: 1_500_000_000)
                let reply = await authority.respond(to: Array(body.readableBytesView))
                return Response(status: .ok, headers: [.contentType: "application/timestamp-reply"], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
            }
        }
        let transport = CountingTransport(try HTTPTimestampTransport())
        let started = Date()
        let error = await assertTimestampError(.timeout) {
            try await self.client(transport, urls: [server.tsaURL], validator: tsa.validator, attempts: 2, timeout: 0.5).timestamp(data: self.data)
        }
        let elapsed = Date().timeIntervalSince(started)
        await server.stop()
        XCTAssertEqual(transport.calls.count, 2, "a timeout is retryable")
        XCTAssertEqual(error?.retryable, true)
        XCTAssertLessThan(elapsed, 1.45, "two 0.5 s attempts must not wait for the 1.5 s answer")
    }

    func testFailoverToSecondTSAWhenFirstRefuses() async throws {
        let tsa = try TestTSA()
        let dead = "http://127.0.0.1:\(try closedLoopbackPort())/tsa"
        let server = try await LocalServer.tsa(tsa.authority)
        let transport = CountingTransport(try HTTPTimestampTransport())
        let result = await Result {
            try await self.client(transport, urls: [dead, server.tsaURL], validator: tsa.validator, attempts: 2, timeout: 1).timestamp(data: self.data)
        }
        await server.stop()
        let token = try result.get()
        XCTAssertEqual(token.url, server.tsaURL)
        XCTAssertEqual(token.tsaCertificate, tsa.signer.certificate)
        XCTAssertEqual(transport.calls(to: dead), 2)
        XCTAssertEqual(transport.calls(to: server.tsaURL), 1)
    }

    func testFailoverToSecondTSAWhenFirstGivesBadToken() async throws {
        // First TSA is not trusted (its root is unknown): its token is refused, the second is used.
        let stranger = try TestTSA()
        let good = try TestTSA()
        let transport = FakeTransport { url, body in
            let authority = url == "http://first/tsa" ? stranger.authority : good.authority
            return TransportResponse(status: 200, contentType: "application/timestamp-reply", body: await authority.respond(to: body))
        }
        let token = try await client(transport, urls: ["http://first/tsa", "http://second/tsa"], validator: good.validator).timestamp(data: data)
        XCTAssertEqual(token.url, "http://second/tsa")
        XCTAssertEqual(token.tsaCertificate, good.signer.certificate)
        XCTAssertEqual(transport.calls, ["http://first/tsa", "http://second/tsa"])
    }

    func testAllTSAsFailingReportsLastError() async throws {
        let tsa = try TestTSA()
        let transport = FakeTransport { url, _ in
            if url.hasSuffix("/a") { throw TimestampError(.unreachable, "down", url: url, retryable: true) }
            return TransportResponse(status: 503, contentType: "text/plain", body: [])
        }
        let error = await assertTimestampError(.httpStatus) {
            try await self.client(transport, urls: ["http://x/a", "http://x/b"], validator: tsa.validator, attempts: 2).timestamp(data: self.data)
        }
        XCTAssertEqual(error?.url, "http://x/b")
        XCTAssertEqual(transport.calls, ["http://x/a", "http://x/a", "http://x/b", "http://x/b"])
    }

    // MARK: Reserved size

    func testReservedTokenSizeFollowsObservedTokens() async throws {
        let tsa = try TestTSA()
        let c = client(FakeTransport.authority(tsa.authority), validator: tsa.validator)
        XCTAssertEqual(c.reservedTokenSize, 12_288)
        try await c.calibrate()
        let token = try await c.timestampToken(forSignatureValue: data)
        XCTAssertGreaterThanOrEqual(c.reservedTokenSize, token.count + 1024)
    }
}

extension Result where Failure == any Error {
    /// `await Result { … }`: the outcome of an async throwing closure.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// Asserts a TimestampError with one of `codes`.
@discardableResult
func assertTimestampErrorIn<T>(_ codes: [TimestampError.Code], file: StaticString = #filePath, line: UInt = #line,
                               _ body: () async throws -> T) async -> TimestampError? {
    do {
        let value = try await body()
        XCTFail("expected one of \(codes), got \(value)", file: file, line: line)
        return nil
    } catch let e as TimestampError {
        XCTAssertTrue(codes.contains(e.code), "wrong error: \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected TimestampError, got \(error)", file: file, line: line)
        return nil
    }
}
