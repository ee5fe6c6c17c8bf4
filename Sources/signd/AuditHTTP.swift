import Audit
import Foundation
import Hummingbird
import NIOCore
import SigndCore

/// `GET /audit/events`: the filters of `signd audit query` (job, user, device, type, since,
/// until) as query parameters, a JSON array as the answer. Protected by HTTP Basic credentials
/// from the environment; without them the route does not exist (404). The audit database is
/// opened read-only.
enum AuditHTTP {
    struct Credentials: Sendable {
        var user: String
        var password: String

        /// `SIGND_AUDIT_HTTP_USER` and `SIGND_AUDIT_HTTP_PASSWORD` (or `SIGND_AUDIT_HTTP_PASSWORD_FILE`);
        /// nil when not configured (the endpoint is then disabled).
        static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Credentials? {
            guard let user = environment["SIGND_AUDIT_HTTP_USER"], !user.isEmpty else { return nil }
            var password = environment["SIGND_AUDIT_HTTP_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            if password == nil, let path = environment["SIGND_AUDIT_HTTP_PASSWORD_FILE"], !path.isEmpty {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw AuditHTTPConfigurationError(message: "cannot read SIGND_AUDIT_HTTP_PASSWORD_FILE \(path)")
                }
                password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            }
            guard let password, !password.isEmpty else {
                throw AuditHTTPConfigurationError(message: "SIGND_AUDIT_HTTP_USER is set but neither SIGND_AUDIT_HTTP_PASSWORD nor SIGND_AUDIT_HTTP_PASSWORD_FILE gives a password")
            }
            return Credentials(user: user, password: password)
        }

        /// Whether an `Authorization` header carries these credentials (constant-time compare).
        func accepts(authorization header: String?) -> Bool {
            guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return false }
            guard let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)) else { return false }
            let expected = Array("\(user):\(password)".utf8)
            return Self.constantTimeEqual(Array(decoded), expected)
        }

        static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
            for i in 0..<max(a.count, b.count) {
                difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
            }
            return difference == 0
        }
    }

    static func add(to router: Router<BasicRequestContext>, credentials: Credentials?, auditPath: String) {
        guard let credentials else { return }  // disabled: the router answers 404
        router.get("/audit/events") { request, _ -> Response in
            guard credentials.accepts(authorization: request.headers[.authorization]) else {
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"signd audit\"", .contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "unauthorized\n")))
            }
            let p = request.uri.queryParameters
            var q = AuditLog.Query()
            q.jobId = p.get("job"); q.userId = p.get("user"); q.deviceId = p.get("device"); q.type = p.get("type")
            let f = ISO8601DateFormatter()
            for (name, value) in [("since", p.get("since")), ("until", p.get("until"))] {
                guard let value else { continue }
                guard let date = f.date(from: value) else {
                    return Response(status: .badRequest, headers: [.contentType: "text/plain"],
                                    body: .init(byteBuffer: ByteBuffer(string: "\(name) must be ISO 8601, e.g. 2026-01-31T12:00:00Z\n")))
                }
                if name == "since" { q.since = date } else { q.until = date }
            }
            let rows: [AuditEventRecord]
            do { rows = try AuditLog(readOnlyPath: auditPath).query(q) } catch {
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "audit database not readable\n")))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: try JSONOutput.encode(rows) + "\n")))
        }
    }
}

struct AuditHTTPConfigurationError: SigndError, CustomStringConvertible {
    let message: String
    var code: ConfigurationError.Code { .auditHTTP }
    var retryable: Bool { false }
    var operatorMessage: String { message }
    var description: String { "[\(code)] \(message)" }
}
