import ArgumentParser
import Audit
import CertificateAuthority
import CertificateLifecycle
import Daemon
import Foundation
import Hummingbird
import Jobs
import Logging
import Metrics
import Prometheus
import SCA
import ServiceLifecycle
import SigndCore
import SigndHTTP
import StateStore
import Timestamping
import UnixSignals
import X509

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: watch the spools, sign jobs, renew certificates, serve TSA/CA/health endpoints.",
        discussion: "With no configuration there is one spool named 'default' at <spool-root>/default, the embedded CA and TSA, and level B-T by default. `signd init` is implicit. SIGTERM/SIGINT stop intake and let jobs in progress finish.")
    @OptionGroup var data: DataDirectoryOption
    @OptionGroup var config: ConfigOption
    @Option(help: "Spool root directory (default $SIGND_SPOOL_ROOT or ./spool).") var spoolRoot: String?
    @Option(help: "HTTP listen address for health, metrics, TSA, CA (default 127.0.0.1:8750; 'off' disables).") var listen: String?

    func run() async throws {
        // JSON lines on stdout for every logger made from here on (swift-log allows one bootstrap).
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        // Metrics for /metrics (one bootstrap per process, like logging).
        let registry = PrometheusCollectorRegistry()
        var metricsFactory = PrometheusMetricsFactory(registry: registry)
        metricsFactory.durationHistogramBuckets["signd_stage_duration_seconds"] = PipelineMetrics.durationBuckets.map { .nanoseconds(Int64($0 * 1e9)) }
        MetricsSystem.bootstrap(metricsFactory)
        let signals = await DaemonSignals.trap()
        let logger: Logger = {
            var l = Logger(label: "signd")
            l.logLevel = .info
            return l
        }()
        let dir = try data.ensureExists()
        let configuration: SigndConfiguration
        do { configuration = try config.load() } catch let e as ConfigurationError {
            CLIErrors.report(e)
            throw ExitCode(2)
        }
        let configPath = config.config
        let root = spoolRoot ?? configuration.spoolRoot ?? "./spool"
        do {
            let kek = try Composition.kek(dir)
            let tsaIdentity = try Composition.tsaIdentity(dataDirectory: dir, configuration: configuration)
            let authority = tsaIdentity.authority(dataDirectory: dir)
            let ca = try Composition.certificateAuthority(dataDirectory: dir, configuration: configuration)
            let database = try Composition.database(dir)
            let audit = try Composition.audit(dir)
            // Whether job steps can write their audit records: shared by every pipeline and the readiness probe.
            let auditHealth = AuditHealth()
            let auditCredentials = try AuditHTTP.Credentials.fromEnvironment()
            // SCA: PowerAuth when configured (sca.powerauth or SIGND_POWERAUTH_*), for
            // powerauth-operation jobs and, if asked, device-signature verification.
            let (authorizer, scaConfiguration, powerAuthConfiguration) = try Composition.authorizer(database: database, configuration: configuration)
            let powerAuthURL = powerAuthConfiguration.map { PowerAuthURL.forLogs($0.baseURL) }
            if let powerAuthConfiguration, let powerAuthURL {
                logger.info("PowerAuth configured", metadata: [
                    "url": .string(powerAuthURL), "credentials": .string(powerAuthConfiguration.credentials == nil ? "none" : "environment"),
                    "timeoutSeconds": .stringConvertible(powerAuthConfiguration.requestTimeout),
                    "verifyDeviceSignatures": .stringConvertible(scaConfiguration.verifyDeviceSignaturesWithPowerAuth)])
                if powerAuthConfiguration.credentials == nil {
                    logger.warning("PowerAuth integration credentials are not set (SIGND_POWERAUTH_USER / SIGND_POWERAUTH_PASSWORD); PowerAuth Server normally refuses calls without them")
                } else if powerAuthURL.lowercased().hasPrefix("http://"), !PowerAuthURL.isLoopback(powerAuthConfiguration.baseURL) {
                    logger.warning("PowerAuth is reached over plain http: the integration credentials cross the network unencrypted; use https", metadata: ["url": .string(powerAuthURL)])
                }
            }
            try audit.append(AuditEntry(type: .configurationLoaded, outcome: "info",
                                        details: ["dataDirectory": dir, "spoolRoot": root, "ca": configuration.ca?.kind ?? "embedded",
                                                  "tsa": (configuration.tsa?.urls ?? []).joined(separator: ","),
                                                  "powerauth": powerAuthURL ?? "off"]))
            let enrollment = EnrollmentService(database: database, ca: ca, kek: kek)
            let timestamper = try makeTimestamper(configuration: configuration, authority: authority, root: tsaIdentity.root)
            let caChain = try await ca.caChain()

            let spoolConfigs = configuration.spools ?? [SigndConfiguration.Spool(name: "default")]
            var services: [SpoolService] = []
            var pipelines: [String: JobPipeline] = [:]
            // One thread per worker, all spools together (WorkerThreads: blocking waits off the cooperative pool).
            let threads = WorkerThreads(count: spoolConfigs.reduce(0) { $0 + max(1, $1.workers ?? SigndConfiguration.Spool.defaultWorkers) })
            for s in spoolConfigs {
                let layout = SpoolLayout(name: s.name, spoolRoot: root)
                let pc = try configuration.pipelineConfiguration(s)
                let deps = PipelineDependencies(database: database, audit: audit, authorizer: authorizer, enrollment: enrollment,
                                                caChain: caChain, timestamper: timestamper, clock: { Date() }, auditHealth: auditHealth, logger: logger)
                let pipeline = JobPipeline(layout: layout, configuration: pc, dependencies: deps)
                pipelines[s.name] = pipeline
                services.append(SpoolService(pipeline: pipeline, layout: layout, workers: s.workers ?? SigndConfiguration.Spool.defaultWorkers,
                                              threads: threads, logger: logger))
            }
            let pipelinesByName = pipelines
            let renewal = RenewalScheduler(enrollment: enrollment, configuration: try configuration.renewalConfiguration)
            // Retention (off unless configured): purges finished jobs' files per spool, at start and every interval.
            let retentionPolicy = try configuration.retentionPolicy
            let retention = retentionPolicy.isEnabled ? RetentionScheduler(
                purgers: spoolConfigs.map { RetentionPurger(layout: SpoolLayout(name: $0.name, spoolRoot: root), policy: retentionPolicy,
                                                             database: database, audit: audit, clock: { Date() }, logger: logger) },
                interval: retentionPolicy.interval, logger: logger) : nil
            let listenAddress = listen ?? configuration.http?.listen ?? "127.0.0.1:8750"
            let embeddedCA = ca as? EmbeddedCA
            let remoteTSAs = (configuration.tsa?.urls ?? []).filter { $0.hasPrefix("http://") || $0.hasPrefix("https://") }
            let readiness = ReadinessProbe(
                database: database, databasePaths: [Composition.statePath(dir), Composition.auditPath(dir)],
                spoolDirectories: spoolConfigs.flatMap { s -> [String] in
                    let l = SpoolLayout(name: s.name, spoolRoot: root)
                    return [l.incoming, l.work, l.pending, l.signatures, l.done, l.failed, l.archive]
                },
                ca: configuration.ca?.kind == "ejbca" ? configuration.ca?.ejbca.map { ReadinessProbe.Endpoint(role: "CA", url: $0.baseURL) } : nil,
                tsas: remoteTSAs.map { ReadinessProbe.Endpoint(role: "TSA", url: $0) },
                powerAuth: powerAuthConfiguration.map { ReadinessProbe.Endpoint(role: "PowerAuth", url: $0.baseURL) },
                auditHealth: auditHealth)

            // The long-running services, in start order; a graceful shutdown (SIGTERM/SIGINT) stops
            // them in reverse: signals, reload, spools (intake stops, jobs in progress finish),
            // renewal, retention, audit anchoring, HTTP last.
            var daemonServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if listenAddress != "off" {
                let parts = listenAddress.split(separator: ":")
                guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--listen must be HOST:PORT or off") }
                let host = String(parts[0])
                let app = DaemonHTTP.application(host: host, port: port, authority: authority, ca: embeddedCA,
                                                 caChain: caChain, database: database, readiness: readiness, registry: registry,
                                                 auditPath: Composition.auditPath(dir), auditCredentials: auditCredentials, logger: logger)
                daemonServices.append(.init(service: app))
            }
            daemonServices.append(.init(service: DaemonTask("audit-anchoring") {
                // Anchor the audit chain head with the TSA every minute when it moved.
                while !Task.isCancelled {
                    await AuditAnchoring.anchor(audit: audit, timestamper: timestamper, logger: logger)
                    try await Task.sleep(nanoseconds: 60_000_000_000)
                }
            }))
            if let retention {
                // Never returns before shutdown (a service that returns stops the daemon).
                daemonServices.append(.init(service: DaemonTask("retention") { await retention.run(); try Task.checkCancellation() }))
            }
            daemonServices.append(.init(service: DaemonTask("renewal") {
                try await renewal.run(clock: { Date() }, sleep: { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }) { report in
                    do { try RenewalAudit.record(report, audit: audit, database: database) } catch {
                        logger.error("recording a renewal in the audit trail failed", metadata: ["error": .string("\(error)")])
                    }
                }
            }))
            // One service for all spools, so that a shutdown stops intake on every spool at once.
            let spools = services
            daemonServices.append(.init(service: DaemonTask("spools") {
                try await withThrowingDiscardingTaskGroup { group in
                    for spool in spools { group.addTask { try await spool.run() } }
                }
            }))
            let reloads = signals.reload
            daemonServices.append(.init(service: DaemonTask("configuration-reload") {
                // SIGHUP: re-read and validate the configuration file and record it; never stops the daemon.
                for await _ in reloads {
                    do {
                        let reloaded = try SigndConfiguration.load(path: configPath)
                        _ = try reloaded.renewalConfiguration
                        _ = try reloaded.profiles
                        _ = try reloaded.retentionPolicy
                        _ = try reloaded.scaConfiguration
                        _ = try reloaded.powerAuthClientConfiguration()
                        // Per-spool settings apply now; the rest needs a restart (docs/operations.md).
                        let reloadedSpools = reloaded.spools ?? [SigndConfiguration.Spool(name: "default")]
                        let settings = try reloadedSpools.map { ($0.name, try reloaded.pipelineConfiguration($0)) }
                        var applied: [String] = []
                        for (name, pc) in settings {
                            if let pipeline = pipelinesByName[name] {
                                pipeline.reconfigure(pc)
                                applied.append(name)
                            }
                        }
                        let added = Set(reloadedSpools.map(\.name)).subtracting(pipelinesByName.keys).sorted()
                        let removed = Set(pipelinesByName.keys).subtracting(reloadedSpools.map(\.name)).sorted()
                        if !added.isEmpty || !removed.isEmpty {
                            logger.warning("spools added or removed take effect at the next restart",
                                           metadata: ["added": .string(added.joined(separator: ",")), "removed": .string(removed.joined(separator: ","))])
                        }
                        try audit.append(AuditEntry(type: .configurationLoaded, outcome: "info",
                                                    details: ["reason": "SIGHUP", "ca": reloaded.ca?.kind ?? "embedded",
                                                              "tsa": (reloaded.tsa?.urls ?? []).joined(separator: ","),
                                                              "spools": reloadedSpools.map(\.name).joined(separator: ","),
                                                              "appliedSpools": applied.sorted().joined(separator: ",")]))
                        logger.info("configuration reloaded", metadata: ["reason": "SIGHUP"])
                    } catch {
                        logger.error("configuration reload failed; keeping the running configuration",
                                     metadata: ["reason": "SIGHUP", "error": .string("\(error)")])
                    }
                }
            }))
            daemonServices.append(.init(service: ShutdownSignalService(signals: signals.shutdown, logger: logger),
                                        successTerminationBehavior: .gracefullyShutdownGroup))
            var groupLogger = logger
            groupLogger.logLevel = .warning
            try await ServiceGroup(configuration: ServiceGroupConfiguration(services: daemonServices, logger: groupLogger)).run()
            // A last anchor, so rows cannot be removed from the end of the chain unnoticed.
            await AuditAnchoring.anchor(audit: audit, timestamper: timestamper, logger: logger)
        } catch let e as ValidationError {
            throw e
        } catch {
            CLIErrors.report(error)
            throw ExitCode(2)
        }
    }

    func makeTimestamper(configuration: SigndConfiguration, authority: TimeStampAuthority, root: X509.Certificate) throws -> TimestampClient {
        let urls = configuration.tsa?.urls ?? []
        var anchors = [root]
        if let trust = configuration.tsa?.trustPath { anchors = try KeyFiles.certificates(path: trust) }
        var client = TimestampClientConfiguration(urls: urls.isEmpty ? ["embedded"] : urls, validator: TimestampTokenValidator(trustAnchors: anchors))
        if let t = configuration.tsa?.timeoutSeconds { client.requestTimeout = t }
        let transport: any TimestampTransport = urls.isEmpty ? InProcessTransport(authority: authority) : try HTTPTimestampTransport()
        return TimestampClient(configuration: client, transport: transport)
    }
}

enum AuditAnchoring {
    static func anchor(audit: AuditLog, timestamper: TimestampClient, logger: Logger) async {
        guard (try? audit.headIsAnchored()) == false, let head = try? audit.head() else { return }
        do {
            let token = try await timestamper.timestamp(data: Array(head.hash.utf8))
            try audit.storeAnchor(seq: head.seq, hash: head.hash, token: token.token)
        } catch {
            logger.warning("audit anchor failed; will retry", metadata: ["error": .string("\(error)")])
        }
    }
}
