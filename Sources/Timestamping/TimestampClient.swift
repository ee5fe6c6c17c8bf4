import CMSStructures
import Foundation
import CMSSigning
import SigndCore
import SwiftASN1

/// Configuration of the RFC 3161 client.
public struct TimestampClientConfiguration: Sendable {
    /// TSA URLs, tried in order (failover).
    public var urls: [String]
    public var digest: DigestAlgorithm = .sha256
    public var policy: ASN1ObjectIdentifier?
    public var requestTimeout: TimeInterval = 10
    /// Attempts per URL for retryable failures (network errors, HTTP 5xx).
    public var attemptsPerURL: Int = 3
    /// First backoff delay; doubles after each failed attempt.
    public var initialBackoff: TimeInterval = 0.2
    public var validator: TimestampTokenValidator

    public init(urls: [String], validator: TimestampTokenValidator) {
        self.urls = urls
        self.validator = validator
    }
}

/// Gets verified timestamp tokens from one or more TSAs. Separates the pure steps (build the
/// request, check the response) from the single I/O step (the transport). Also the
/// ``SignatureTimestamper`` that PAdES B-T signing uses.
public final class TimestampClient: SignatureTimestamper, @unchecked Sendable {
    public let configuration: TimestampClientConfiguration
    let transport: any TimestampTransport
    let nonceSource: @Sendable () -> UInt64
    let clock: @Sendable () -> Date
    let sleep: @Sendable (TimeInterval) async throws -> Void
    private let lock = NSLock()
    private var observedTokenSize: Int?

    public init(configuration: TimestampClientConfiguration, transport: any TimestampTransport,
                nonceSource: @escaping @Sendable () -> UInt64 = { UInt64.random(in: 1...UInt64.max) },
                clock: @escaping @Sendable () -> Date = { Date() },
                sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }) {
        self.configuration = configuration
        self.transport = transport
        self.nonceSource = nonceSource
        self.clock = clock
        self.sleep = sleep
    }

    /// A verified token over `data`, from the first TSA that gives one.
    public func timestamp(data: [UInt8]) async throws -> ValidatedTimestamp {
        guard !configuration.urls.isEmpty else {
            throw TimestampError(.noTSAConfigured, "no TSA URL is configured; pass --tsa URL")
        }
        var lastError: (any Error)?
        for url in configuration.urls {
            var backoff = configuration.initialBackoff
            for attempt in 1...max(1, configuration.attemptsPerURL) {
                do {
                    let token = try await attemptOnce(url: url, data: data)
                    lock.withLock { observedTokenSize = max(observedTokenSize ?? 0, token.token.count) }
                    return token
                } catch let e as TimestampError {
                    lastError = e
                    guard e.retryable else { break } // a rejection or a bad token: next TSA
                    if attempt < configuration.attemptsPerURL {
                        try await sleep(backoff)
                        backoff *= 2
                    }
                }
            }
        }
        throw lastError ?? TimestampError(.unreachable, "no TSA answered")
    }

    func attemptOnce(url: String, data: [UInt8]) async throws -> ValidatedTimestamp {
        let request = TimestampRequestBuilder.request(for: data, digest: configuration.digest, nonce: nonceSource(), policy: configuration.policy)
        let body = try request.derEncoded()
        let response = try await transport.post(url: url, body: body, contentType: "application/timestamp-query", timeout: configuration.requestTimeout)
        guard response.status == 200 else {
            throw TimestampError(.httpStatus, "HTTP \(response.status) from the TSA", url: url, retryable: response.status >= 500)
        }
        let type = response.contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard type == "application/timestamp-reply" || type == "application/timestamp-response" else {
            throw TimestampError(.contentType, "the TSA answered with content type '\(response.contentType ?? "none")', not application/timestamp-reply", url: url)
        }
        return try await configuration.validator.validate(response: response.body, for: request, url: url, now: clock())
    }

    /// Learns the token size by timestamping random bytes once, so `/Contents` can be sized
    /// tightly (a dry run, as the reference signers do). Failures here are the TSA's real errors.
    public func calibrate() async throws {
        let probe = (0..<32).map { _ in UInt8.random(in: 0...255) }
        _ = try await timestamp(data: probe)
    }

    // MARK: SignatureTimestamper

    /// Space for the token: the largest token seen from these TSAs plus a margin; before the
    /// first token, a generous default that covers RSA-4096 TSAs with a chain.
    public var reservedTokenSize: Int {
        lock.withLock { observedTokenSize.map { $0 + 1024 } ?? 12_288 }
    }

    public func timestampToken(forSignatureValue signature: [UInt8]) async throws -> [UInt8] {
        try await timestamp(data: signature).token
    }
}
