import Foundation
import Hummingbird
import Logging
import NIOCore
import Timestamping

/// HTTP endpoints of the embedded TSA: `POST /tsa` (and `POST /`) with
/// `application/timestamp-query`, answered with `application/timestamp-reply`.
public enum TSARoutes {
    public static let maximumRequestSize = 64 * 1024

    public static func add<Context: RequestContext>(to router: Router<Context>, authority: TimeStampAuthority, path: String = "/tsa") {
        let handler: @Sendable (Request, Context) async throws -> Response = { request, _ in
            let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard type == "application/timestamp-query" else {
                return Response(status: .unsupportedMediaType, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "send an RFC 3161 request with Content-Type application/timestamp-query\n")))
            }
            let body = try await request.body.collect(upTo: maximumRequestSize)
            let reply = await authority.respond(to: Array(body.readableBytesView))
            return Response(status: .ok, headers: [.contentType: "application/timestamp-reply"], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
        }
        router.post(RouterPath(path), use: handler)
        if path != "/" { router.post("/", use: handler) }
    }

    /// An application serving only the TSA, e.g. for `signd tsa serve`.
    public static func application(authority: TimeStampAuthority, host: String, port: Int,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        add(to: router, authority: authority)
        router.get("/health") { _, _ in "ok\n" }
        var logger = Logger(label: "signd.tsa")
        logger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "signd-tsa"),
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                           logger: logger)
    }
}
