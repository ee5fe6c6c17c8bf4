import Foundation

/// `fsync` of directories, shared between concurrent callers ("group commit" for directory
/// entries).
///
/// Making a rename or a new file durable takes an `fsync` of its directory, and on a file system
/// without a journal each one writes the directory's blocks and flushes the disk cache. Workers
/// finishing jobs at the same time all sync `done/`; one sync that *starts after* a caller's
/// change covers that change. So a caller that finds a sync of its directory running waits for
/// the next one, which one of the waiters runs for all of them; each waiter is woken once.
public enum DirectorySync {
    private final class Waiter {
        /// The first sync generation that covers this caller's change.
        let needed: UInt64
        let wake = DispatchSemaphore(value: 0)
        /// Set before `wake` is signalled: the result, or the generation to run for everyone.
        var result: Int32?
        var leadGeneration: UInt64?
        init(needed: UInt64) { self.needed = needed }
    }
    private final class State {
        var started: UInt64 = 0
        var running = false
        var waiters: [Waiter] = []
    }
    nonisolated(unsafe) private static var states: [String: State] = [:]
    private static let lock = NSLock()

    /// Returns once every change made in `path` before the call is durable. Returns false when
    /// the directory cannot be opened or synced.
    @discardableResult
    public static func sync(_ path: String) -> Bool {
        lock.lock()
        let state: State
        if let existing = states[path] { state = existing } else { state = State(); states[path] = state }
        if !state.running {
            state.running = true
            state.started += 1
            let generation = state.started
            lock.unlock()
            return run(path, state, generation) == 0
        }
        // The running sync may have started before this caller's change: it needs the next one.
        let waiter = Waiter(needed: state.started + 1)
        state.waiters.append(waiter)
        lock.unlock()
        waiter.wake.wait()
        if let generation = waiter.leadGeneration {
            return run(path, state, generation) == 0
        }
        return waiter.result == 0
    }

    /// Runs sync `generation`, wakes the callers it covers and hands the next one (if anybody
    /// needs it) to the first remaining waiter.
    private static func run(_ path: String, _ state: State, _ generation: UInt64) -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        var result: Int32 = -1
        if fd >= 0 {
            result = fsync(fd)
            close(fd)
        }
        lock.lock()
        var covered: [Waiter] = []
        var remaining: [Waiter] = []
        for w in state.waiters { if w.needed <= generation { covered.append(w) } else { remaining.append(w) } }
        for w in covered { w.result = result }
        var leader: Waiter?
        if let first = remaining.first {
            state.started += 1
            first.leadGeneration = state.started
            leader = first
            state.waiters = Array(remaining.dropFirst())
        } else {
            state.waiters = []
            state.running = false
            states[path] = nil
        }
        lock.unlock()
        for w in covered { w.wake.signal() }
        leader?.wake.signal()
        return result
    }
}
