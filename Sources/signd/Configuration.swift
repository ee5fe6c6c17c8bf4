import ArgumentParser
import CertificateAuthority
import CertificateLifecycle
import Daemon
import Foundation
import Jobs
import SCA

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
            do { config = try JSONDecoder().decode(SigndConfiguration.self, from: data) } catch {
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
                throw ConfigurationError("config.invalidValue", "\(variable) '\(v)' is not a number")
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
                    throw ConfigurationError("config.invalidValue", "retention.\(name) is \(value); it must be 0 (keep forever) or a positive number of days")
                }
            }
            policy.doneDays = retention?.doneDays
            policy.archiveDays = retention?.archiveDays
            policy.failedDays = retention?.failedDays
            if let i = retention?.intervalSeconds {
                guard i.isFinite, i >= 1 else {
                    throw ConfigurationError("config.invalidValue", "retention.intervalSeconds is \(i); it must be at least 1 second")
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
            guard t.isFinite, t > 0 else { throw ConfigurationError("config.invalidValue", "spools[\(spool.name)].documentTimeoutSeconds is \(t); it must be positive") }
            pc.documentTimeout = t
        }
        if let t = spool.externalSignatureTimeoutSeconds {
            guard t.isFinite, t > 0 else { throw ConfigurationError("config.invalidValue", "spools[\(spool.name)].externalSignatureTimeoutSeconds is \(t); it must be positive") }
            pc.externalSignatureTimeout = t
        }
        pc.maxFailures = scaConfiguration.maxFailures
        pc.manifestDefaults = try Self.manifestDefaults(spool)
        return pc
    }

    /// The validated defaults of one spool's sign manifests.
    static func manifestDefaults(_ spool: Spool) throws -> ManifestDefaults {
        var level = SignatureLevel.bt
        if let text = spool.level {
            guard let parsed = SignatureLevel(rawValue: text) else {
                throw ConfigurationError("config.invalidValue", "spools[\(spool.name)].level is '\(text)'; use B-B or B-T")
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
                throw ConfigurationError("config.invalidValue", "spools[\(spool.name)].appearance: \(e.message)")
            }
        }
        return ManifestDefaults(level: level, appearance: spool.appearance)
    }

    var scaConfiguration: SCAConfiguration {
        var s = SCAConfiguration()
        if let v = sca?.maxLifetimeSeconds { s.maxLifetime = v }
        if let v = sca?.clockSkewSeconds { s.clockSkew = v }
        if let v = sca?.maxFailures { s.maxFailures = v }
        return s
    }
}

/// An invalid configuration value, printed as `[code] message` (docs/errors.md).
struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    let code: String
    let message: String
    init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    var description: String { "[\(code)] \(message)" }
}

/// `--config FILE`, shared by commands whose behaviour depends on configuration.
struct ConfigOption: ParsableArguments {
    @Option(help: "Configuration file (JSON; default $SIGND_CONFIG, else built-in defaults).") var config: String?
    func load() throws -> SigndConfiguration { try SigndConfiguration.load(path: config) }
}
