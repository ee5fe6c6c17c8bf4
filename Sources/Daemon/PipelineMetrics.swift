import Foundation
import Metrics
import SigndCore

/// The pipeline's metrics, recorded through swift-metrics; `signd run` bootstraps the Prometheus
/// backend and serves them on /metrics (docs/operations.md lists every series). Without a
/// bootstrapped backend (tests of the library, `signd sign`) they cost next to nothing.
///
/// Every series keeps one fixed set of labels (Prometheus requires it): `spool` everywhere, plus
/// `outcome`, `code` or `stage` as named below. Codes are the stable error codes of
/// docs/errors.md, so the label has bounded cardinality.
public struct PipelineMetrics: Sendable {
    public let spool: String

    public init(spool: String) { self.spool = spool }

    /// The stages a job's time is split into (label `stage` of signd_stage_duration_seconds).
    public enum Stage: String, Sendable, CaseIterable {
        /// Manifest read and checked, PDF hashed, files claimed into work/.
        case intake
        /// SCA authorization verified and consumed.
        case authorize
        /// Signature made and embedded, including the RFC 3161 timestamp for B-T.
        case sign
        /// Our own verifier over the output.
        case selfCheck
        /// Output published, inputs archived, result written.
        case deliver
        /// The whole job, from the claim to the delivered result (or the failure report).
        case job
    }

    /// Jobs that ended: outcome `delivered`, `failed` (claimed, then failed) or `rejected`
    /// (refused before a claim: bad manifest, duplicate, missing PDF).
    public func jobEnded(outcome: String, code: String? = nil) {
        Counter(label: "signd_jobs_total", dimensions: [("spool", spool), ("outcome", outcome)]).increment()
        if let code {
            Counter(label: "signd_job_errors_total", dimensions: [("spool", spool), ("code", code)]).increment()
        }
    }

    /// An SCA approval refused, by its precise code (`sca.documentMismatch`,
    /// `sca.appearanceMismatch`, ...; the job's public code is `sca.denied`).
    /// An audit record that could not be written (the step waits and is retried).
    public func auditFailed() {
        Counter(label: "signd_audit_write_failures_total", dimensions: [("spool", spool)]).increment()
    }

    public func scaDenied(code: String) {
        Counter(label: "signd_sca_denials_total", dimensions: [("spool", spool), ("code", code)]).increment()
    }

    /// An attempt of a job that a crash interrupted, found at start (the poison-job guard).
    public func attemptInterrupted() {
        Counter(label: "signd_job_interruptions_total", dimensions: [("spool", spool)]).increment()
    }

    /// A retryable failure scheduled for another attempt.
    public func retryScheduled(code: String) {
        Counter(label: "signd_job_retries_total", dimensions: [("spool", spool), ("code", code)]).increment()
    }

    public func record(_ stage: Stage, seconds: Double) {
        Metrics.Timer(label: "signd_stage_duration_seconds", dimensions: [("spool", spool), ("stage", stage.rawValue)])
            .recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    /// Times `body` as `stage` (also when it throws).
    public func measure<T>(isolation: isolated (any Actor)? = #isolation, _ stage: Stage, _ body: () async throws -> T) async rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { record(stage, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        return try await body()
    }

    /// Manifests queued for intake and not yet taken by a worker.
    public func queueDepth(_ depth: Int) {
        Gauge(label: "signd_queue_depth", dimensions: [("spool", spool)]).record(depth)
    }

    /// Jobs a worker is processing now.
    public func inFlight(_ count: Int) {
        Gauge(label: "signd_jobs_in_flight", dimensions: [("spool", spool)]).record(count)
    }

    /// The histogram buckets used for stage durations (seconds): from 1 ms (a small B-B job's
    /// stages) to 60 s (a multi-GiB PDF or a slow TSA).
    public static let durationBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
}

/// What the workers of one pipeline share: when a waiting manifest was first seen (for
/// `document.missing`) and which jobs are being processed (a rescan or retry must never start a
/// second run of a job a worker has in hand).
final class PipelineBookkeeping: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String: Date] = [:]
    private var inFlight: Set<String> = []
    private let inFlightChanged: @Sendable (Int) -> Void

    init(inFlightChanged: @escaping @Sendable (Int) -> Void) { self.inFlightChanged = inFlightChanged }

    /// When `key` was first seen (now, if this is the first time).
    func firstSeen(_ key: String, now: Date) -> Date {
        lock.withLock {
            if let at = seen[key] { return at }
            seen[key] = now
            return now
        }
    }

    func forget(_ key: String) {
        lock.withLock {
            _ = seen.removeValue(forKey: key)
            _ = hashed.removeValue(forKey: key)
        }
    }

    /// The last digest computed for a job's PDF, with the identity of the file hashed: a PDF
    /// that does not (yet) match its manifest is hashed again only when it changed.
    private var hashed: [String: (identity: FileIdentity, digest: String)] = [:]

    func cachedDigest(_ key: String, identity: FileIdentity) -> String? {
        lock.withLock { hashed[key].flatMap { $0.identity == identity ? $0.digest : nil } }
    }

    func rememberDigest(_ key: String, identity: FileIdentity, digest: String) {
        lock.withLock { hashed[key] = (identity, digest) }
    }

    /// Marks `jobId` in flight; false when it already is. Keys with a `intake-` prefix guard
    /// intake and do not count as jobs in flight.
    func begin(_ jobId: String) -> Bool {
        let (inserted, count) = lock.withLock { (inFlight.insert(jobId).inserted, jobsInFlight) }
        if inserted && !jobId.hasPrefix("intake-") { inFlightChanged(count) }
        return inserted
    }

    func end(_ jobId: String) {
        let count = lock.withLock { inFlight.remove(jobId); return jobsInFlight }
        if !jobId.hasPrefix("intake-") { inFlightChanged(count) }
    }

    private var jobsInFlight: Int { inFlight.count { !$0.hasPrefix("intake-") } }

    func isInFlight(_ jobId: String) -> Bool { lock.withLock { inFlight.contains(jobId) } }
}

/// What says a file is still the one that was looked at: device, inode, size, modification time
/// and link count (a change of any of them means "look again").
struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Double
    let links: Int

    init(_ status: FileStatus) {
        device = status.device
        inode = status.inode
        size = status.size
        modified = status.modified
        links = status.linkCount
    }
}

/// A spool's pipeline settings, replaceable while workers read them.
final class PipelineSettings: @unchecked Sendable {
    private let lock = NSLock()
    private var current: PipelineConfiguration

    init(_ configuration: PipelineConfiguration) { current = configuration }

    var value: PipelineConfiguration {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}
