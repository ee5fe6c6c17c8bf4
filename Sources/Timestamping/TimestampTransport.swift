import Foundation

/// What an HTTP exchange with a TSA returned.
public struct TransportResponse: Sendable {
    public var status: Int
    public var contentType: String?
    public var body: [UInt8]
    public init(status: Int, contentType: String?, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// Bytes in, bytes out: how the client reaches a TSA. Implementations throw
/// ``TimestampError`` with `.unreachable` or `.timeout` (retryable) for network failures.
public protocol TimestampTransport: Sendable {
    func post(url: String, body: [UInt8], contentType: String, timeout: TimeInterval) async throws -> TransportResponse
}

/// A TSA reached in-process: the embedded authority without HTTP (for the CLI's default).
public struct InProcessTransport: TimestampTransport {
    public let authority: TimeStampAuthority
    public init(authority: TimeStampAuthority) { self.authority = authority }
    public func post(url: String, body: [UInt8], contentType: String, timeout: TimeInterval) async throws -> TransportResponse {
        TransportResponse(status: 200, contentType: "application/timestamp-reply", body: await authority.respond(to: body))
    }
}
