import CertificateAuthority
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import SigndHTTP
import StateStore
import Timestamping
import X509

/// The daemon's HTTP endpoints (loopback by default): health, metrics, the embedded TSA, and the
/// embedded CA's chain, CRL and OCSP responder.
enum DaemonHTTP {
    static func application(host: String, port: Int, authority: TimeStampAuthority, ca: EmbeddedCA?, caChain: [Certificate],
                            database: StateDatabase, readiness: ReadinessProbe, registry: PrometheusCollectorRegistry,
                            auditPath: String, auditCredentials: AuditHTTP.Credentials?, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        TSARoutes.add(to: router, authority: authority)
        AuditHTTP.add(to: router, credentials: auditCredentials, auditPath: auditPath)
        router.get("/health/live") { _, _ in "ok\n" }
        router.get("/health/ready") { _, _ -> Response in
            let problems = await readiness.problems()
            let body = problems.isEmpty ? "ready\n" : problems.joined(separator: "\n") + "\n"
            return Response(status: problems.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/metrics") { _, _ -> Response in
            // The pipeline's counters, histograms and gauges (swift-metrics → Prometheus), then
            // series read from the state database at scrape time.
            var lines: [String] = [registry.emitToString().trimmingCharacters(in: .newlines), "# TYPE signd_jobs gauge"]
            for (state, n) in ((try? database.jobCounts()) ?? [:]).sorted(by: { $0.key < $1.key }) {
                lines.append("signd_jobs{state=\"\(state)\"} \(n)")
            }
            let active = ((try? database.certificates()) ?? []).filter { $0.status == .active }
            if let nearest = active.map(\.notAfter).min() {
                lines.append("# TYPE signd_certificate_nearest_expiry_days gauge")
                lines.append("signd_certificate_nearest_expiry_days \(String(format: "%.3f", nearest.timeIntervalSinceNow / 86_400))")
            }
            lines.append("# TYPE signd_renewal_attempts_total counter")
            let attempts = (try? database.renewalAttempts()) ?? []
            lines.append("signd_renewal_attempts_total{outcome=\"renewed\"} \(attempts.filter { $0.outcome == "renewed" }.count)")
            lines.append("signd_renewal_attempts_total{outcome=\"failed\"} \(attempts.filter { $0.outcome == "failed" }.count)")
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
        }
        router.get("/ca/chain.pem") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/x-pem-file"],
                     body: .init(byteBuffer: ByteBuffer(string: (try? PEM.encode(caChain)) ?? "")))
        }
        if let ca {
            router.get("/ca/crl") { _, _ -> Response in
                let der = try ca.currentCRL()
                return Response(status: .ok, headers: [.contentType: "application/pkix-crl"], body: .init(byteBuffer: ByteBuffer(bytes: der)))
            }
            router.post("/ocsp") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 64 * 1024)
                let reply = ca.ocspResponse(requestDER: Array(body.readableBytesView))
                return Response(status: .ok, headers: [.contentType: "application/ocsp-response"], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
            }
        }
        var httpLogger = logger
        httpLogger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "signd"),
                           onServerRunning: { channel in
                               let bound = channel.localAddress?.port ?? port
                               logger.info("http listening", metadata: ["address": .string("\(host):\(bound)"), "port": .stringConvertible(bound)])
                           }, logger: httpLogger)
    }
}
