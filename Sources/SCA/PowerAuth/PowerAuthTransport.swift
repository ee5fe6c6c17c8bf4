import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SigndCore

/// An HTTP answer: status and body.
public struct PowerAuthHTTPResponse: Sendable, Hashable {
    public var status: Int
    public var body: [UInt8]
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// One HTTP POST, bytes in and bytes out. Throws ``PowerAuthError`` (`.unavailable`) when no
/// answer arrives.
public protocol PowerAuthTransport: Sendable {
    func post(url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: TimeInterval) async throws -> PowerAuthHTTPResponse
}

/// The transport over HTTP(S) with AsyncHTTPClient. TLS uses the system trust store, or the
/// PEM trust roots given (a private CA in front of PowerAuth).
public final class HTTPPowerAuthTransport: PowerAuthTransport, @unchecked Sendable {
    static let maximumResponseBytes = 1 << 20
    let client: HTTPClient
    let ownsClient: Bool

    /// - Parameters:
    ///   - connectTimeout: TCP/TLS connect timeout (default: AsyncHTTPClient's 10 s).
    ///   - trustRootsPEMFile: PEM file of CA certificates to trust instead of the system store.
    public init(connectTimeout: TimeInterval? = nil, trustRootsPEMFile: String? = nil) throws {
        if connectTimeout == nil, trustRootsPEMFile == nil {
            client = HTTPClient.shared
            ownsClient = false
            return
        }
        var config = HTTPClient.Configuration()
        if let connectTimeout {
            config.timeout = HTTPClient.Configuration.Timeout(connect: .milliseconds(clampedTimeoutMilliseconds(connectTimeout)))
        }
        if let trustRootsPEMFile {
            guard FileManager.default.isReadableFile(atPath: trustRootsPEMFile) else {
                throw SCAError(code: .powerauthConfiguration, message: "cannot read the PowerAuth TLS trust roots file \(trustRootsPEMFile)")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(trustRootsPEMFile)
            config.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        ownsClient = true
    }

    deinit {
        if ownsClient { try? client.syncShutdown() }
    }

    public func post(url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: TimeInterval) async throws -> PowerAuthHTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(clampedTimeoutMilliseconds(timeout)))
            let bytes = try await response.body.collect(upTo: Self.maximumResponseBytes)
            return PowerAuthHTTPResponse(status: Int(response.status.code), body: Array(bytes.readableBytesView))
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            throw PowerAuthError(.unavailable, "no answer within \(timeout) s", url: url)
        } catch let e as PowerAuthError {
            throw e
        } catch {
            throw PowerAuthError(.unavailable, "cannot reach PowerAuth Server: \(error)", url: url)
        }
    }
}
