import Foundation

/// HTTP Basic integration credentials (PowerAuth's clientToken / clientSecret).
public struct PowerAuthCredentials: Sendable, Hashable {
    public var user: String
    public var password: String
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// From `SIGND_POWERAUTH_USER` / `SIGND_POWERAUTH_PASSWORD`, or the files named by
    /// `SIGND_POWERAUTH_USER_FILE` / `SIGND_POWERAUTH_PASSWORD_FILE` (one trailing newline is
    /// ignored). Nil when none is set; `powerauth.configuration` when only one half is set or a
    /// file cannot be read.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PowerAuthCredentials? {
        let user = try value("SIGND_POWERAUTH_USER", environment)
        let password = try value("SIGND_POWERAUTH_PASSWORD", environment)
        switch (user, password) {
        case (nil, nil): return nil
        case let (u?, p?): return PowerAuthCredentials(user: u, password: p)
        default:
            throw SCAError(code: .powerauthConfiguration, message: "set both SIGND_POWERAUTH_USER and SIGND_POWERAUTH_PASSWORD (or their *_FILE variants), or neither")
        }
    }

    static func value(_ name: String, _ environment: [String: String]) throws -> String? {
        if let v = environment[name], !v.isEmpty { return v }
        guard let path = environment[name + "_FILE"], !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SCAError(code: .powerauthConfiguration, message: "cannot read \(name)_FILE \(path); check the path and that signd may read it")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast(1) } else if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else {
            throw SCAError(code: .powerauthConfiguration, message: "\(name)_FILE \(path) is empty")
        }
        return text
    }

    var authorizationHeader: String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}

/// Where and how to reach PowerAuth Server.
public struct PowerAuthClientConfiguration: Sendable, Hashable {
    /// The server's base URL without `/rest/v3`, e.g. `https://pa.bank.example/powerauth-java-server`
    /// (a trailing `/` or `/rest` is removed).
    public var baseURL: String
    public var credentials: PowerAuthCredentials?
    /// Deadline for one call, connect included (default 10 s).
    public var requestTimeout: TimeInterval
    /// Connect timeout (default: AsyncHTTPClient's 10 s, bounded by `requestTimeout`).
    public var connectTimeout: TimeInterval?
    /// PEM trust roots for TLS instead of the system store.
    public var trustRootsPEMFile: String?

    public init(baseURL: String, credentials: PowerAuthCredentials? = nil, requestTimeout: TimeInterval = 10,
                connectTimeout: TimeInterval? = nil, trustRootsPEMFile: String? = nil) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        if url.hasSuffix("/rest") { url.removeLast(5) }
        self.baseURL = url
        self.credentials = credentials
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.trustRootsPEMFile = trustRootsPEMFile
    }

    /// `SIGND_POWERAUTH_URL` (nil when unset), credentials as in
    /// ``PowerAuthCredentials/fromEnvironment(_:)``, `SIGND_POWERAUTH_TIMEOUT` (seconds),
    /// `SIGND_POWERAUTH_CA_FILE` (PEM trust roots).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PowerAuthClientConfiguration? {
        guard let url = environment["SIGND_POWERAUTH_URL"], !url.isEmpty else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw SCAError(code: .powerauthConfiguration, message: "SIGND_POWERAUTH_URL must start with http:// or https:// (got \(url))")
        }
        var timeout: TimeInterval = 10
        if let t = environment["SIGND_POWERAUTH_TIMEOUT"], !t.isEmpty {
            guard let v = TimeInterval(t), v > 0 else {
                throw SCAError(code: .powerauthConfiguration, message: "SIGND_POWERAUTH_TIMEOUT must be a positive number of seconds (got \(t))")
            }
            timeout = v
        }
        let ca = environment["SIGND_POWERAUTH_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        return PowerAuthClientConfiguration(baseURL: url, credentials: try PowerAuthCredentials.fromEnvironment(environment),
                                            requestTimeout: timeout, trustRootsPEMFile: ca)
    }
}

/// PowerAuth Server's REST API (v3): `POST <base>/rest/v3/<path>` with
/// `{"requestObject": {...}}`; the answer is `{"status":"OK","responseObject":{...}}` or
/// `{"status":"ERROR","responseObject":{"code","message"}}`.
public struct PowerAuthClient: PowerAuthService {
    public let configuration: PowerAuthClientConfiguration
    let transport: any PowerAuthTransport

    public init(configuration: PowerAuthClientConfiguration, transport: any PowerAuthTransport) {
        self.configuration = configuration
        self.transport = transport
    }

    /// With the HTTP transport built from the configuration.
    public init(configuration: PowerAuthClientConfiguration) throws {
        self.configuration = configuration
        self.transport = try HTTPPowerAuthTransport(connectTimeout: configuration.connectTimeout, trustRootsPEMFile: configuration.trustRootsPEMFile)
    }

    public func verifyECDSASignature(activationId: String, data: [UInt8], signature: [UInt8], format: ECDSASignatureFormat) async throws -> Bool {
        let url = configuration.baseURL + "/rest/v3/signature/ecdsa/verify"
        let object = try await call(url: url, request: [
            "activationId": activationId,
            "data": Data(data).base64EncodedString(),
            "signature": Data(signature).base64EncodedString(),
            "signatureFormat": format.rawValue,
        ])
        guard let valid = object["signatureValid"] as? Bool else {
            throw PowerAuthError(.badResponse, "the response has no boolean signatureValid", url: url)
        }
        return valid
    }

    public func operationDetail(operationId: String, userId: String?) async throws -> PowerAuthOperation {
        let url = configuration.baseURL + "/rest/v3/operation/detail"
        var request: [String: Any] = ["operationId": operationId]
        if let userId { request["userId"] = userId }
        let object = try await call(url: url, request: request)
        guard let id = object["id"] as? String, let status = object["status"] as? String else {
            throw PowerAuthError(.badResponse, "the operation detail has no id or status", url: url)
        }
        func date(_ key: String) throws -> Date? {
            guard let raw = object[key], !(raw is NSNull) else { return nil }
            guard let d = PowerAuthDate.parse(raw) else {
                throw PowerAuthError(.badResponse, "\(key) is neither epoch milliseconds nor an ISO 8601 date: \(raw)", url: url)
            }
            return d
        }
        return PowerAuthOperation(
            id: id, userId: object["userId"] as? String, activationId: object["activationId"] as? String,
            data: object["data"] as? String, status: status,
            operationType: object["operationType"] as? String, externalId: object["externalId"] as? String,
            timestampCreated: try date("timestampCreated"), timestampExpires: try date("timestampExpires"),
            timestampFinalized: try date("timestampFinalized"))
    }

    /// One call: envelope out, envelope in; the OK `responseObject`, or a ``PowerAuthError``.
    func call(url: String, request: [String: Any]) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: ["requestObject": request], options: [.sortedKeys])
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let credentials = configuration.credentials { headers.append(("Authorization", credentials.authorizationHeader)) }
        let response = try await transport.post(url: url, headers: headers, body: Array(body), timeout: configuration.requestTimeout)

        let envelope = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        if let envelope, let status = envelope["status"] as? String {
            let object = envelope["responseObject"] as? [String: Any]
            switch status {
            case "OK":
                guard (200..<300).contains(response.status), let object else {
                    throw PowerAuthError(.badResponse, code: "HTTP_\(response.status)", "status OK with HTTP \(response.status) or without a responseObject", url: url)
                }
                return object
            case "ERROR":
                let code = object?["code"] as? String ?? "HTTP_\(response.status)"
                let message = object?["message"] as? String ?? "(no message)"
                throw PowerAuthError(.errorResponse, code: code, message, url: url)
            default:
                throw PowerAuthError(.badResponse, "unknown envelope status \"\(status)\"", url: url)
            }
        }
        switch response.status {
        case 500...599:
            throw PowerAuthError(.unavailable, code: "HTTP_\(response.status)", "HTTP \(response.status) without a PowerAuth envelope", url: url)
        case 401, 403:
            throw PowerAuthError(.errorResponse, code: "HTTP_\(response.status)", "the integration credentials were refused (HTTP \(response.status)); check SIGND_POWERAUTH_USER / SIGND_POWERAUTH_PASSWORD", url: url)
        default:
            throw PowerAuthError(.badResponse, code: "HTTP_\(response.status)", "HTTP \(response.status) without a PowerAuth envelope", url: url)
        }
    }
}

/// PowerAuth serialises `Date` as epoch milliseconds or ISO 8601 (Jackson's
/// `2024-01-31T12:00:00.000+00:00`), depending on its configuration; both are read.
enum PowerAuthDate {
    static func parse(_ raw: Any) -> Date? {
        if raw is Bool { return nil }
        if let n = raw as? Int64 { return Date(timeIntervalSince1970: Double(n) / 1000) }
        if let n = raw as? Int { return Date(timeIntervalSince1970: Double(n) / 1000) }
        if let n = raw as? Double { return Date(timeIntervalSince1970: n / 1000) }
        if let n = raw as? NSNumber { return Date(timeIntervalSince1970: n.doubleValue / 1000) }
        guard var text = raw as? String else { return nil }
        // "+0000" → "+00:00"
        if text.count > 5 {
            let tail = text.suffix(5)
            if let sign = tail.first, sign == "+" || sign == "-", tail.dropFirst().allSatisfy(\.isNumber) {
                text.insert(":", at: text.index(text.endIndex, offsetBy: -2))
            }
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = formatter.date(from: text) { return d }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
