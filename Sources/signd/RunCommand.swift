import ArgumentParser
import Audit
import CertificateAuthority
import CertificateLifecycle
import Daemon
import Foundation
import Hummingbird
import Jobs
import Logging
import SCA
import SigndCore
import SigndHTTP
import StateStore
import Timestamping
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
        let logger: Logger = {
            var l = Logger(label: "signd")
            l.logLevel = .info
            return l
        }()
        let dir = try data.ensureExists()
        let configuration = try config.load()
        let root = spoolRoot ?? configuration.spoolRoot ?? "./spool"
        do {
            let kek = try Composition.kek(dir)
            let tsaIdentity = try TSAIdentity.loadOrCreate(dataDirectory: dir, kek: kek)
            let authority = tsaIdentity.authority(dataDirectory: dir)
            let ca = try Composition.certificateAuthority(dataDirectory: dir, configuration: configuration)
            let database = try Composition.database(dir)
            let audit = try Composition.audit(dir)
            try audit.append(AuditEntry(type: .configurationLoaded, outcome: "info",
                                        details: ["dataDirectory": dir, "spoolRoot": root, "ca": configuration.ca?.kind ?? "embedded",
                                                  "tsa": (configuration.tsa?.urls ?? []).joined(separator: ",")]))
            let enrollment = EnrollmentService(database: database, ca: ca, kek: kek)
            let authorizer = CompositeAuthorizer(database: database, configuration: configuration.scaConfiguration)
            let timestamper = try makeTimestamper(configuration: configuration, authority: authority, root: tsaIdentity.root)
            let caChain = try await ca.caChain()

            let spoolConfigs = configuration.spools ?? [SigndConfiguration.Spool(name: "default")]
            var services: [SpoolService] = []
            for s in spoolConfigs {
                let layout = SpoolLayout(name: s.name, spoolRoot: root)
                var pc = PipelineConfiguration()
                if let t = s.documentTimeoutSeconds { pc.documentTimeout = t }
                let deps = PipelineDependencies(database: database, audit: audit, authorizer: authorizer, enrollment: enrollment,
                                                caChain: caChain, timestamper: timestamper, clock: { Date() }, logger: logger)
                let pipeline = JobPipeline(layout: layout, configuration: pc, dependencies: deps)
                services.append(SpoolService(pipeline: pipeline, layout: layout, workers: s.workers ?? 2, logger: logger))
            }
            let renewal = RenewalScheduler(enrollment: enrollment, configuration: try configuration.renewalConfiguration)
            let listenAddress = listen ?? configuration.http?.listen ?? "127.0.0.1:8750"
            let embeddedCA = ca as? EmbeddedCA

            try await withThrowingTaskGroup(of: Void.self) { group in
                for service in services { group.addTask { try await service.run() } }
                group.addTask {
                    try await renewal.run(clock: { Date() }, sleep: { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }) { report in
                        try? RenewalAudit.record(report, audit: audit, database: database)
                        if let head = try? audit.head(), let client = Optional(timestamper),
                           let token = try? await client.timestamp(data: Array(head.hash.utf8)) {
                            try? audit.storeAnchor(seq: head.seq, hash: head.hash, token: token.token)
                        }
                    }
                }
                if listenAddress != "off" {
                    let parts = listenAddress.split(separator: ":")
                    guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--listen must be HOST:PORT or off") }
                    let host = String(parts[0])
                    group.addTask {
                        let app = DaemonHTTP.application(host: host, port: port, authority: authority, ca: embeddedCA,
                                                         caChain: caChain, database: database, spoolRoot: root, logger: logger)
                        try await app.run()
                    }
                }
                group.addTask {
                    await SignalWaiter.wait(for: [SIGTERM, SIGINT])
                    logger.info("signal received: stopping intake, finishing jobs in progress")
                    throw CancellationError()
                }
                do { try await group.next() } catch is CancellationError {}
                group.cancelAll()
            }
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

/// Waits for one of the given signals (SIGTERM, SIGINT), without busy polling.
enum SignalWaiter {
    static func wait(for signals: [Int32]) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            var sources: [any DispatchSourceSignal] = []
            for s in signals {
                signal(s, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
                source.setEventHandler {
                    if once.set() { continuation.resume() }
                }
                source.resume()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }
}

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func set() -> Bool { lock.withLock { defer { done = true }; return !done } }
}

enum SignalSources {
    nonisolated(unsafe) static var retained: [any DispatchSourceSignal] = []
    static func keep(_ s: [any DispatchSourceSignal]) { retained += s }
}
