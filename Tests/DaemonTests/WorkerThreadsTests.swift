import Daemon
import Foundation
import XCTest

/// The spool workers' executor: blocking waits (fsync, commits) must not hold the cores'
/// threads, so as many workers as configured can be blocked at once.
final class WorkerThreadsTests: XCTestCase {
    /// Eight tasks that each block their thread until all eight are blocked: on Swift's
    /// cooperative pool (one thread per core) that never happens on a 2-core machine; on
    /// WorkerThreads(count: 8) it must.
    func testAsManyTasksCanBlockAtOnceAsThereAreThreads() async throws {
        let threads = WorkerThreads(count: 8, name: "test-worker")
        let barrier = Barrier(parties: 8)
        let names = NameSet()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask(executorPreference: threads) {
                    names.insert(currentThreadID())
                    barrier.arriveAndWait(timeout: 20)
                }
            }
        }
        XCTAssertEqual(barrier.timedOut, 0, "not all eight tasks could block at the same time")
        XCTAssertEqual(names.values.count, 8, "each blocked task needs its own thread: \(names.values)")
    }

    /// Work enqueued while all threads are busy runs when one frees up (nothing is lost).
    func testMoreTasksThanThreadsAllRun() async {
        let threads = WorkerThreads(count: 2, name: "test-small")
        let names = NameSet()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask(executorPreference: threads) {
                    usleep(1000)
                    names.insert("job-\(i)")
                }
            }
        }
        XCTAssertEqual(names.values.count, 50)
    }
}

private final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let parties: Int
    private var arrived = 0
    private(set) var timedOut = 0
    init(parties: Int) { self.parties = parties }

    func arriveAndWait(timeout: TimeInterval) {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while arrived < parties {
            if !condition.wait(until: deadline) {
                timedOut += 1
                return
            }
        }
    }
}

private final class NameSet: @unchecked Sendable {
    private let lock = NSLock()
    private var set = Set<String>()
    func insert(_ name: String) { lock.withLock { _ = set.insert(name) } }
    var values: Set<String> { lock.withLock { set } }
}

/// The calling thread's identity (pthread_self).
private func currentThreadID() -> String {
    String(describing: pthread_self())
}
