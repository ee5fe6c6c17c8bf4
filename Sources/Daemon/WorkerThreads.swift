import Foundation

/// The threads the spool workers run on.
///
/// A job spends much of its time blocked in the kernel: `fsync` of its files and directories and
/// SQLite commits (each a WAL `fsync`). On Swift's cooperative pool (one thread per core) every
/// such wait leaves a core idle, so a 2-core machine ran two workers at about 1.2 cores however
/// many workers were configured. Worker tasks prefer this executor instead: one thread per
/// worker, so one worker's wait is another worker's CPU time, and concurrent commits find each
/// other (see `GroupCommit`).
///
/// Threads wait on a condition variable when there is nothing to run (an idle daemon uses no CPU)
/// and live as long as the process.
public final class WorkerThreads: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var head = 0
    public let count: Int

    public init(count: Int, name: String = "signd-worker") {
        self.count = max(1, count)
        for index in 0..<self.count {
            let thread = Thread { [self] in self.loop() }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 8 << 20  // as a default pthread: PDF and ASN.1 parsing recurse
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == queue.count { condition.wait() }
            let job = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
