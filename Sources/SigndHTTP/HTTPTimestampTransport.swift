import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SigndCore
import Timestamping

/// The RFC 3161 transport over HTTP(S) (RFC 3161 3.4): POST of the DER request.
/// Optional HTTP Basic credentials and a TLS client certificate.
public final class HTTPTimestampTransport: TimestampTransport, @unchecked Sendable {
    let client: HTTPClient
    let ownsClient: Bool
    let basicAuthorization: String?

    /// - Parameters:
    ///   - basicCredentials: user and password for HTTP Basic, when the TSA wants them.
    ///   - clientCertificatePEM / clientKeyPEM: paths for client-certificate TLS.
    public init(basicCredentials: (user: String, password: String)? = nil,
                clientCertificatePEM: String? = nil, clientKeyPEM: String? = nil) throws {
        // Our own client: a refused connection fails at once (no re-dialling until the request
        // deadline), so failover to the next TSA is immediate; connecting is bounded separately.
        var config = HTTPClient.Configuration()
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout.connect = .seconds(5)
        if let cert = clientCertificatePEM, let key = clientKeyPEM {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            config.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        ownsClient = true
        basicAuthorization = basicCredentials.map { "Basic " + Data("\($0.user):\($0.password)".utf8).base64EncodedString() }
    }

    deinit {
        if ownsClient { try? client.syncShutdown() }
    }

    public func post(url: String, body: [UInt8], contentType: String, timeout: TimeInterval) async throws -> TransportResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "Accept", value: "application/timestamp-reply, application/timestamp-response")
        if let basicAuthorization { request.headers.add(name: "Authorization", value: basicAuthorization) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(clampedTimeoutMilliseconds(timeout)))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return TransportResponse(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
                                     body: Array(bytes.readableBytesView))
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            throw TimestampError(.timeout, "no answer within \(timeout) s", url: url, retryable: true)
        } catch let e as TimestampError {
            throw e
        } catch {
            throw TimestampError(.unreachable, "cannot reach the TSA: \(error)", url: url, retryable: true)
        }
    }
}
