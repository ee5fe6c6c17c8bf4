import ArgumentParser
import CertificateAuthority
import CertificateLifecycle
import Daemon
import Foundation
import Jobs
import SCA
import SigndCore

/// The configuration file (JSON, `--config FILE` or `$SIGND_CONFIG`), documented key by key in
/// docs/configuration.md. Every key has a default, so no file is needed. Selected keys can be
/// overridden by `SIGND_...` environment variables; secrets come only from the environment or
/// `*_FILE` paths, never from this file.
struct SigndConfiguration: Codable, Sendable {
    struct Spool: Codable, Sendable {
        var name: String
        /// Default level for sign manifests without `level`: B-B or B-T (default B-T).
        var level: String?
        /// Default appearance texts for sign manifests (the manifest's own fields win).
        var appearance: SignManifest.Appearance?
        var workers: Int?
        /// Workers when `workers` is not set (docs/performance.md: waits for fsync overlap).
        static let defaultWorkers = 16
        var documentTimeoutSeconds: Double?
        var externalSignatureTimeoutSeconds: Double?
        /// The poison-job guard: attempts of one job a crash may interrupt before the job fails
        /// with `job.crashed` (default 2).
        var maxInterruptions: Int?
    }
    struct CA: Codable, Sendable {
        /// `embedded` (default) or `ejbca`.
        var kind: String?
        /// Embedded CA key algorithm at creation: P-256 (default), P-384, RSA-2048/3072/4096.
        var keyAlgorithm: String?
        var profiles: [CertificateProfile]?
        var ejbca: EJBCAConfiguration?
    }
    struct TSA: Codable, Sendable {
        /// RFC 3161 URLs in failover order; empty: the embedded TSA in-process.
        var urls: [String]?
        var trustPath: String?
        var policy: String?
        var timeoutSeconds: Double?
    }
    struct Renewal: Codable, Sendable {
        /// "14d", "36h", "20%" (of lifetime).
        var threshold: String?
        var intervalSeconds: Double?
        var batchSize: Int?
    }
    struct SCA: Codable, Sendable {
        var maxLifetimeSeconds: Double?
        var clockSkewSeconds: Double?
        var maxFailures: Int?
        /// PowerAuth Server, the SCA provider (docs/sca.md). Off when neither this nor
        /// `SIGND_POWERAUTH_URL` gives a URL.
        var powerauth: PowerAuth?
    }
    /// `sca.powerauth`. The integration credentials are never read from the file: only from
    /// `SIGND_POWERAUTH_USER` / `SIGND_POWERAUTH_PASSWORD` or their `*_FILE` forms. A key that
    /// looks like a credential, a URL with user info and any unknown key are refused when the
    /// file is read.
    struct PowerAuth: Codable, Sendable {
        /// Base URL without `/rest/v3` (env `SIGND_POWERAUTH_URL` wins).
        var url: String?
        /// Expected operation data (``OperationDataTemplate``; default its default).
        var operationDataTemplate: String?
        /// Deadline per call, connect included (env `SIGND_POWERAUTH_TIMEOUT` wins; default 10).
        var timeoutSeconds: Double?
        /// PEM trust roots for HTTPS instead of the system store (env `SIGND_POWERAUTH_CA_FILE` wins).
        var caFile: String?
        /// device-signature jobs: verify the statement's signature through PowerAuth
        /// `signature/ecdsa/verify` (activation id = device id) instead of with the registered key.
        var verifyDeviceSignatures: Bool?

        static let defaultTimeoutSeconds: Double = 10

        enum CodingKeys: String, CodingKey, CaseIterable {
            case url, operationDataTemplate, timeoutSeconds, caFile, verifyDeviceSignatures
        }

        private struct AnyKey: CodingKey {
            let stringValue: String
            init?(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        /// Names that hold (or point at) a credential: refused, the environment is the place.
        static func isCredentialKey(_ key: String) -> Bool {
            let k = key.lowercased()
            return ["user", "username", "login", "password", "passwd", "secret", "token", "credential", "auth", "apikey", "key"]
                .contains { k.contains($0) }
        }

        init(url: String? = nil, operationDataTemplate: String? = nil, timeoutSeconds: Double? = nil, caFile: String? = nil,
             verifyDeviceSignatures: Bool? = nil) {
            self.url = url
            self.operationDataTemplate = operationDataTemplate
            self.timeoutSeconds = timeoutSeconds
            self.caFile = caFile
            self.verifyDeviceSignatures = verifyDeviceSignatures
        }

        init(from decoder: any Decoder) throws {
            let all = try decoder.container(keyedBy: AnyKey.self)
            for key in all.allKeys.map(\.stringValue).sorted() where CodingKeys(stringValue: key) == nil {
                if Self.isCredentialKey(key) {
                    throw ConfigurationError(.secretInFile, "sca.powerauth.\(key): PowerAuth credentials are not read from the configuration file; remove it and set SIGND_POWERAUTH_USER and SIGND_POWERAUTH_PASSWORD (or SIGND_POWERAUTH_USER_FILE / SIGND_POWERAUTH_PASSWORD_FILE naming files that hold them) in the environment")
                }
                throw ConfigurationError(.invalidValue, "sca.powerauth.\(key) is not a known key; known: \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            url = try c.decodeIfPresent(String.self, forKey: .url)
            operationDataTemplate = try c.decodeIfPresent(String.self, forKey: .operationDataTemplate)
            timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
            caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
            verifyDeviceSignatures = try c.decodeIfPresent(Bool.self, forKey: .verifyDeviceSignatures)
            if let url, let parts = URLComponents(string: url), parts.user != nil || parts.password != nil {
                // Not echoed: the value holds the credential.
                throw ConfigurationError(.secretInFile, "sca.powerauth.url carries user info (user:password@); PowerAuth credentials are not read from the configuration file; remove them from the URL and set SIGND_POWERAUTH_USER and SIGND_POWERAUTH_PASSWORD (or their *_FILE forms) in the environment")
            }
        }
    }
    struct HTTP: Codable, Sendable {
        var listen: String?
    }
    /// Off unless a limit is set: nil or 0 days keeps that directory's files forever.
    struct Retention: Codable, Sendable {
        var doneDays: Double?
        var archiveDays: Double?
        var failedDays: Double?
        var intervalSeconds: Double?
    }

    var spoolRoot: String?
    var spools: [Spool]?
    var ca: CA?
    var tsa: TSA?
    var renewal: Renewal?
    var sca: SCA?
    var http: HTTP?
    var retention: Retention?

    static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SigndConfiguration {
        var config = SigndConfiguration()
        if let path = path ?? environment["SIGND_CONFIG"] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the configuration file \(path)")
            }
            do { config = try JSONDecoder().decode(SigndConfiguration.self, from: data) } catch let e as ConfigurationError {
                throw ConfigurationError(e.code, "the configuration file \(path): \(e.message)")
            } catch {
                throw ValidationError("the configuration file \(path) is not valid: \(error)")
            }
        }
        if let v = environment["SIGND_SPOOL_ROOT"] { config.spoolRoot = v }
        if let v = environment["SIGND_TSA_URLS"] { config.tsa = config.tsa ?? TSA(); config.tsa?.urls = v.split(separator: ",").map(String.init) }
        if let v = environment["SIGND_CA_KIND"] { config.ca = config.ca ?? CA(); config.ca?.kind = v }
        if let v = environment["SIGND_RENEWAL_THRESHOLD"] { config.renewal = config.renewal ?? Renewal(); config.renewal?.threshold = v }
        if let v = environment["SIGND_HTTP_LISTEN"] { config.http = config.http ?? HTTP(); config.http?.listen = v }
        for (variable, key) in [("SIGND_RETENTION_DONE_DAYS", \Retention.doneDays), ("SIGND_RETENTION_ARCHIVE_DAYS", \Retention.archiveDays),
                                ("SIGND_RETENTION_FAILED_DAYS", \Retention.failedDays), ("SIGND_RETENTION_INTERVAL_SECONDS", \Retention.intervalSeconds)] {
            guard let v = environment[variable] else { continue }
            guard let number = Double(v.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError(.invalidValue, "\(variable) '\(v)' is not a number")
            }
            config.retention = config.retention ?? Retention()
            config.retention?[keyPath: key] = number
        }
        return config
    }

    var profiles: CertificateProfiles {
        get throws { try CertificateProfiles(ca?.profiles ?? []) }
    }

    var renewalConfiguration: RenewalConfiguration {
        get throws {
            var r = RenewalConfiguration()
            if let t = renewal?.threshold {
                guard let parsed = RenewalThreshold(text: t) else { throw ValidationError("renewal.threshold '\(t)' must look like 14d, 36h, 90m or 20%") }
                r.threshold = parsed
            }
            if let i = renewal?.intervalSeconds { r.interval = i }
            if let b = renewal?.batchSize { r.batchSize = b }
            return r
        }
    }

    /// The validated retention settings (docs/configuration.md `retention.*`).
    var retentionPolicy: RetentionPolicy {
        get throws {
            var policy = RetentionPolicy()
            for (name, value) in [("doneDays", retention?.doneDays), ("archiveDays", retention?.archiveDays), ("failedDays", retention?.failedDays)] {
                guard let value else { continue }
                guard value.isFinite, value >= 0 else {
                    throw ConfigurationError(.invalidValue, "retention.\(name) is \(value); it must be 0 (keep forever) or a positive number of days")
                }
            }
            policy.doneDays = retention?.doneDays
            policy.archiveDays = retention?.archiveDays
            policy.failedDays = retention?.failedDays
            if let i = retention?.intervalSeconds {
                guard i.isFinite, i >= 1 else {
                    throw ConfigurationError(.invalidValue, "retention.intervalSeconds is \(i); it must be at least 1 second")
                }
                policy.interval = i
            }
            return policy
        }
    }

    /// The pipeline settings of one spool (applied at start and on SIGHUP).
    func pipelineConfiguration(_ spool: Spool) throws -> PipelineConfiguration {
        var pc = PipelineConfiguration()
        if let t = spool.documentTimeoutSeconds {
            guard t.isFinite, t > 0 else { throw ConfigurationError(.invalidValue, "spools[\(spool.name)].documentTimeoutSeconds is \(t); it must be positive") }
            pc.documentTimeout = t
        }
        if let t = spool.externalSignatureTimeoutSeconds {
            guard t.isFinite, t > 0 else { throw ConfigurationError(.invalidValue, "spools[\(spool.name)].externalSignatureTimeoutSeconds is \(t); it must be positive") }
            pc.externalSignatureTimeout = t
        }
        if let n = spool.maxInterruptions {
            guard n >= 1 else { throw ConfigurationError(.invalidValue, "spools[\(spool.name)].maxInterruptions is \(n); it must be at least 1") }
            pc.maximumInterruptions = n
        }
        pc.maxFailures = try scaConfiguration.maxFailures
        pc.manifestDefaults = try Self.manifestDefaults(spool)
        return pc
    }

    /// The validated defaults of one spool's sign manifests.
    static func manifestDefaults(_ spool: Spool) throws -> ManifestDefaults {
        var level = SignatureLevel.bt
        if let text = spool.level {
            guard let parsed = SignatureLevel(rawValue: text) else {
                throw ConfigurationError(.invalidValue, "spools[\(spool.name)].level is '\(text)'; use B-B or B-T")
            }
            level = parsed
        }
        if let a = spool.appearance {
            do {
                // The same limits as a manifest's own appearance.
                try ManifestValidator.validate(SignManifest(jobId: "defaults", document: .init(file: "d.pdf", sha256: String(repeating: "0", count: 64)),
                                                            signer: .init(userId: "u", deviceId: "d"), mode: .external, level: level,
                                                            appearance: a, authorization: nil))
            } catch let e as ManifestError {
                throw ConfigurationError(.invalidValue, "spools[\(spool.name)].appearance: \(e.message)")
            }
        }
        return ManifestDefaults(level: level, appearance: spool.appearance)
    }

    /// The SCA settings; a bad `sca.powerauth.operationDataTemplate` is an error with the
    /// template's own message.
    var scaConfiguration: SCAConfiguration {
        get throws {
            var s = SCAConfiguration()
            if let v = sca?.maxLifetimeSeconds { s.maxLifetime = v }
            if let v = sca?.clockSkewSeconds { s.clockSkew = v }
            if let v = sca?.maxFailures { s.maxFailures = v }
            if let text = sca?.powerauth?.operationDataTemplate {
                do { s.operationDataTemplate = try OperationDataTemplate(text) } catch let e as SCAError {
                    throw ConfigurationError(e.code.rawValue, "sca.powerauth.operationDataTemplate: \(e.message)")
                }
            }
            if let v = sca?.powerauth?.verifyDeviceSignatures { s.verifyDeviceSignaturesWithPowerAuth = v }
            return s
        }
    }

    /// How `signd run` reaches PowerAuth Server: nil when neither `sca.powerauth.url` nor
    /// `SIGND_POWERAUTH_URL` is set. Each `SIGND_POWERAUTH_*` variable that is set wins over its
    /// key (URL, `TIMEOUT`, `CA_FILE`), so the variables alone work without a `sca.powerauth`
    /// section; the credentials come only from the environment
    /// (``PowerAuthCredentials/fromEnvironment(_:)``: `SIGND_POWERAUTH_USER` /
    /// `SIGND_POWERAUTH_PASSWORD` or their `*_FILE` forms).
    func powerAuthClientConfiguration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PowerAuthClientConfiguration? {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let section = sca?.powerauth
        let envURL = variable("SIGND_POWERAUTH_URL")
        guard let url = envURL ?? section?.url else {
            if section != nil {
                throw ConfigurationError(.invalidValue, "sca.powerauth is set but has no url: set sca.powerauth.url or SIGND_POWERAUTH_URL, or remove the section")
            }
            return nil
        }
        let urlKey = envURL != nil ? "SIGND_POWERAUTH_URL" : "sca.powerauth.url"
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parts.host, !host.isEmpty else {
            throw ConfigurationError(.invalidValue, "\(urlKey) must be an http:// or https:// URL with a host (got \(PowerAuthURL.forLogs(url)))")
        }
        guard parts.user == nil, parts.password == nil else {
            throw ConfigurationError(envURL != nil ? "powerauth.configuration" : "config.secretInFile", "\(urlKey) carries user info (user:password@); give the PowerAuth credentials as SIGND_POWERAUTH_USER and SIGND_POWERAUTH_PASSWORD (or their *_FILE forms) instead")
        }
        guard parts.query == nil, parts.fragment == nil else {
            throw ConfigurationError(.invalidValue, "\(urlKey) must not have a query or fragment: it is the base URL the REST paths are appended to (got \(PowerAuthURL.forLogs(url)))")
        }
        var timeout = section?.timeoutSeconds ?? PowerAuth.defaultTimeoutSeconds
        var timeoutKey = "sca.powerauth.timeoutSeconds"
        if let text = variable("SIGND_POWERAUTH_TIMEOUT") {
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError(.invalidValue, "SIGND_POWERAUTH_TIMEOUT '\(text)' is not a number of seconds")
            }
            timeout = v
            timeoutKey = "SIGND_POWERAUTH_TIMEOUT"
        }
        guard timeout.isFinite, timeout > 0 else {
            throw ConfigurationError(.invalidValue, "\(timeoutKey) is \(timeout); it must be a positive number of seconds")
        }
        let caFile = variable("SIGND_POWERAUTH_CA_FILE") ?? section?.caFile
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigurationError(.invalidValue, "\(variable("SIGND_POWERAUTH_CA_FILE") != nil ? "SIGND_POWERAUTH_CA_FILE" : "sca.powerauth.caFile") \(caFile) cannot be read; it must be a PEM file of the CA certificates that issued PowerAuth's TLS certificate")
        }
        return PowerAuthClientConfiguration(baseURL: url, credentials: try PowerAuthCredentials.fromEnvironment(environment),
                                            requestTimeout: timeout, trustRootsPEMFile: caFile)
    }
}

/// PowerAuth URLs as they may appear in logs, the audit and error messages: scheme, host, port
/// and path only; never user info, query or fragment (configuration refuses those, this is the
/// second line).
enum PowerAuthURL {
    static func forLogs(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.scheme != nil, parts.host != nil else { return "(not a URL)" }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        return parts.string ?? "(not a URL)"
    }

    /// 127.0.0.0/8, ::1 or localhost: plain http stays on this host.
    static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// An invalid configuration value, printed as `[code] message` (docs/errors.md).
struct ConfigurationError: SigndError, CustomStringConvertible {
    struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        let rawValue: String
        init(rawValue: String) { self.rawValue = rawValue }
        init(stringLiteral value: String) { self.rawValue = value }
        var description: String { rawValue }
        static let invalidValue = Code(rawValue: "config.invalidValue")
        static let secretInFile = Code(rawValue: "config.secretInFile")
        /// The audit HTTP endpoint's credentials are incomplete or unreadable.
        static let auditHTTP = Code(rawValue: "config.auditHTTP")
    }
    let code: Code
    let message: String
    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    init(_ code: String, _ message: String) {
        self.init(Code(rawValue: code), message)
    }
    var retryable: Bool { false }
    var operatorMessage: String { message }
    var description: String { "[\(code)] \(message)" }
}

/// `--config FILE`, shared by commands whose behaviour depends on configuration.
struct ConfigOption: ParsableArguments {
    @Option(help: "Configuration file (JSON; default $SIGND_CONFIG, else built-in defaults).") var config: String?
    func load() throws -> SigndConfiguration { try SigndConfiguration.load(path: config) }
}
