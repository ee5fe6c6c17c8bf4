import Foundation
import Logging
import SigndCore

/// A queue of manifest names with de-duplication: a name queued twice is processed once.
actor IntakeQueue {
    private var items: [String] = []
    private var queued: Set<String> = []
    private var waiters: [CheckedContinuation<String?, Never>] = []
    private var closed = false
    /// Reports the depth after each change (the queue-depth gauge).
    private let depthChanged: @Sendable (Int) -> Void

    init(depthChanged: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.depthChanged = depthChanged
    }

    func push(_ name: String) {
        guard !closed, queued.insert(name).inserted else { return }
        if !waiters.isEmpty {
            queued.remove(name)
            waiters.removeFirst().resume(returning: name)
        } else {
            items.append(name)
        }
        depthChanged(items.count - head)
    }

    /// Index of the first unconsumed item: removing from the front of an array is O(n), which
    /// made a queue of 10,000 manifests quadratic.
    private var head = 0

    func next() async -> String? {
        if head < items.count {
            let n = items[head]
            head += 1
            if head > 1024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            queued.remove(n)
            depthChanged(items.count - head)
            return n
        }
        if closed { return nil }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func close() {
        closed = true
        for w in waiters { w.resume(returning: nil) }
        waiters.removeAll()
    }

    var depth: Int { items.count - head }
}

/// Runs one spool: startup recovery and scan, inotify events, a periodic rescan as a safety net
/// (queue overflow, network file systems, PDFs that arrive after their manifest), retries, and
/// N workers. Cancellation stops intake; jobs in progress finish first.
public final class SpoolService: Sendable {
    public let pipeline: JobPipeline
    let layout: SpoolLayout
    let workers: Int
    let rescanInterval: TimeInterval
    let logger: Logger
    let queue: IntakeQueue
    /// Threads the workers run on (nil: Swift's cooperative pool).
    let threads: WorkerThreads?

    public init(pipeline: JobPipeline, layout: SpoolLayout, workers: Int = 2, rescanInterval: TimeInterval = 5,
                threads: WorkerThreads? = nil, logger: Logger) {
        self.threads = threads
        let metrics = pipeline.metrics
        self.queue = IntakeQueue(depthChanged: { metrics.queueDepth($0) })
        self.pipeline = pipeline
        self.layout = layout
        self.workers = max(1, workers)
        self.rescanInterval = rescanInterval
        self.logger = logger
    }

    public func run() async throws {
        try layout.ensure()
        let watcher = try InotifyWatcher()
        try watcher.watch(layout.incoming)
        try watcher.watch(layout.signatures)
        await pipeline.recover()
        await scan()
        logger.info("spool ready", metadata: ["spool": .string(layout.name), "incoming": .string(layout.incoming)])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in watcher.events() {
                    switch event {
                    case .file(let directory, let name):
                        await self.queue.push(directory == self.layout.signatures ? Self.signaturePrefix + name : name)
                    case .overflow: await self.scan()
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: UInt64(clampedTimeoutMilliseconds(self.rescanInterval)) * 1_000_000)
                    if Task.isCancelled { break }
                    // Due retries first, then the scan: a file left for the rescan because its job
                    // was busy (a second signature while the first one's completion is retried)
                    // must not be queued in the same instant the retry takes the job again.
                    for jobId in await self.pipeline.dueRetries() { await self.pipeline.process(jobId: jobId) }
                    await self.scan()
                    await self.pipeline.expireAwaitingSignatures()
                }
            }
            for _ in 0..<workers {
                group.addTask(executorPreference: threads) {
                    while let name = await self.queue.next() {
                        if name.hasPrefix(Self.signaturePrefix) {
                            await self.pipeline.handleSignature(fileName: String(name.dropFirst(Self.signaturePrefix.count)))
                        } else {
                            _ = await self.pipeline.intake(manifestName: name)
                        }
                    }
                }
            }
            await withTaskCancellationHandler {
                while !Task.isCancelled { try? await Task.sleep(nanoseconds: 3_600 * 1_000_000_000) }
            } onCancel: {
                watcher.stop()
            }
            await queue.close()
            group.cancelAll()
        }
        logger.info("spool stopped", metadata: ["spool": .string(layout.name)])
    }

    /// Queue entries for files in signatures/ carry this prefix.
    static let signaturePrefix = "signatures/"

    /// Queues every manifest in incoming/ and every signature file in signatures/.
    func scan() async {
        for name in listing(layout.incoming).sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            await queue.push(name)
        }
        for name in listing(layout.signatures).sorted() where name.hasSuffix(".signature.json") && !name.hasPrefix(".") {
            await queue.push(Self.signaturePrefix + name)
        }
    }

    /// The names in a spool directory; a directory that cannot be read is logged (its files wait
    /// until it can: descriptors exhausted, permissions changed, the mount gone).
    func listing(_ dir: String) -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            logger.error("cannot list a spool directory; its files wait until it can be read", metadata: ["path": .string(dir), "error": .string("\(error)")])
            return []
        }
    }
}
