import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// A long-running part of the daemon (spools, renewal, retention, anchoring, reload) as a
/// swift-service-lifecycle `Service`. The body keeps its own shutdown contract: it stops when its
/// task is cancelled (a spool stops intake and lets jobs in progress finish). A graceful shutdown
/// of the group cancels the body; a body that ends by cancellation has finished, not failed.
struct DaemonTask: Service {
    let name: String
    let body: @Sendable () async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.body = body
    }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown(body)
        } catch is CancellationError {
            // Stopped as asked.
        }
    }
}

extension DaemonTask: CustomStringConvertible {
    var description: String { name }
}

/// SIGTERM/SIGINT: logs and returns, and the group (successTerminationBehavior
/// `.gracefullyShutdownGroup`) shuts the services down in reverse order. The signals are trapped
/// by `UnixSignalsSequence` first thing in `run`, before the object graph is built, so a signal
/// during start-up still means a clean stop (the group's own `gracefulShutdownSignals` would only
/// be installed once the group runs).
struct ShutdownSignalService: Service, CustomStringConvertible {
    let signals: UnixSignalsSequence
    let logger: Logger
    var description: String { "shutdown-signals" }

    func run() async throws {
        let signals = self.signals
        let logger = self.logger
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                logger.info("signal received: stopping intake, finishing jobs in progress")
                return
            }
        }
    }
}

/// The signals the daemon handles, trapped from the moment this is made (first thing in `run`).
enum DaemonSignals {
    /// SIGTERM and SIGINT stop the daemon; SIGHUP reloads the configuration and must never stop
    /// it (its default action), so all three are ignored as process signals and delivered only
    /// through the dispatch sources behind `UnixSignalsSequence`.
    static func trap() async -> (shutdown: UnixSignalsSequence, reload: UnixSignalsSequence) {
        for s in [SIGTERM, SIGINT, SIGHUP] { signal(s, SIG_IGN) }
        return (await UnixSignalsSequence(trapping: .sigterm, .sigint), await UnixSignalsSequence(trapping: .sighup))
    }
}
