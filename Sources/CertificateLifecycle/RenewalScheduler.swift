import CertificateAuthority
import Foundation
import SigndCore
import StateStore
import X509

/// When renewal of a certificate starts.
public enum RenewalThreshold: Sendable, Hashable {
    /// A fixed time before notAfter (the reference product uses 14 days).
    case before(TimeInterval)
    /// A fraction of the certificate's lifetime before notAfter (0.2 = the last 20 %).
    case fractionOfLifetime(Double)

    public func interval(for cert: CertificateRecord) -> TimeInterval {
        switch self {
        case .before(let t): return t
        case .fractionOfLifetime(let f): return cert.notAfter.timeIntervalSince(cert.notBefore) * f
        }
    }

    /// Parses "14d", "36h", "90m", "30s" or "20%".
    public init?(text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%"), let v = Double(t.dropLast()), v > 0, v < 100 { self = .fractionOfLifetime(v / 100); return }
        let units: [Character: Double] = ["d": 86_400, "h": 3600, "m": 60, "s": 1]
        guard let unit = t.last, let factor = units[unit], let v = Double(t.dropLast()), v >= 0 else { return nil }
        self = .before(v * factor)
    }
}

public struct RenewalConfiguration: Sendable {
    public var threshold: RenewalThreshold = .before(14 * 86_400)
    /// Time between passes (default 15 minutes).
    public var interval: TimeInterval = 15 * 60
    /// Certificates renewed per pass at most.
    public var batchSize: Int = 25
    /// Backoff after a failed attempt: base * 2^(failures-1), capped.
    public var backoffBase: TimeInterval = 60
    public var backoffMax: TimeInterval = 6 * 3600
    public init() {}
}

/// What one renewal pass did (for logs, audit and metrics).
public struct RenewalPassReport: Sendable {
    public var renewed: [(old: String, new: String)] = []
    public var failed: [(serial: String, code: String, retryable: Bool)] = []
    /// Active certificates within the threshold after the pass.
    public var expiring: Int = 0
    /// Certificates marked expired in this pass.
    public var expired: Int = 0
}

/// Renews certificates before they expire by re-submitting the stored CSR to the CA. One pass
/// (`runOnce`) is what `signd renew --once` and every tick of the scheduler run. Time is injected.
public struct RenewalScheduler: Sendable {
    public let enrollment: EnrollmentService
    public let configuration: RenewalConfiguration

    public init(enrollment: EnrollmentService, configuration: RenewalConfiguration) {
        self.enrollment = enrollment
        self.configuration = configuration
    }

    public func runOnce(now: Date) async throws -> RenewalPassReport {
        let db = enrollment.database
        var report = RenewalPassReport()
        report.expired = try db.expireCertificates(now: now)
        let due = try db.certificatesDueForRenewal(now: now, limit: configuration.batchSize) { configuration.threshold.interval(for: $0) }
        for cert in due {
            do {
                let issued = try await enrollment.renew(cert)
                // The `renewed` attempt is recorded with the new certificate (EnrollmentService.renew).
                let newSerial = Hex.encodeSerial(issued.certificate.serialNumber.bytes)
                report.renewed.append((cert.serial, newSerial))
            } catch {
                let code: String
                let retryable: Bool
                switch error {
                case let e as CertificateAuthorityError: code = e.code.rawValue; retryable = e.retryable
                case let e as LifecycleError: code = e.code.rawValue; retryable = false
                case let e as StateStoreError: code = e.code.rawValue; retryable = false
                default: code = "internal"; retryable = true
                }
                let delay = min(configuration.backoffMax, configuration.backoffBase * pow(2, Double(cert.renewalFailures)))
                try db.recordRenewalFailure(serial: cert.serial, message: "\(code): \(error)", retryAt: now.addingTimeInterval(delay), now: now)
                report.failed.append((cert.serial, code, retryable))
            }
        }
        report.expiring = try db.certificatesDueForRenewal(now: now, limit: Int.max) { configuration.threshold.interval(for: $0) }.count
        return report
    }

    /// Runs passes every `interval` until cancelled. `sleep` is injected so tests need no real time.
    public func run(clock: @Sendable () -> Date, sleep: @Sendable (TimeInterval) async throws -> Void,
                    onPass: @Sendable (RenewalPassReport) async -> Void = { _ in }) async throws {
        while !Task.isCancelled {
            let report = try await runOnce(now: clock())
            await onPass(report)
            try await sleep(configuration.interval)
        }
    }
}

extension Hex {
    static func encodeSerial(_ bytes: ArraySlice<UInt8>) -> String { encode(bytes) }
}
