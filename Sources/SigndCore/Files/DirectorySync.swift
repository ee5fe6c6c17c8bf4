import Foundation

/// `fsync` of directories, shared between concurrent callers ("group commit" for directory
/// entries).
///
/// Making a rename or a new file durable takes an `fsync` of its directory, and on a file system
/// without a journal each one writes the directory's blocks and flushes the disk cache. Workers
/// finishing jobs at the same time all sync `done/`; one sync that *starts after* a caller's
/// change covers that change, so a caller waits for the sync in progress to end, then either
/// finds that a later one ran meanwhile or runs it itself for everyone who waited.
public enum DirectorySync {
    private final class State {
        var started: UInt64 = 0
        var completed: UInt64 = 0
        var running = false
        var lastResult: Int32 = 0
        /// Callers inside `sync` for this path; the entry is dropped when the last one leaves.
        var callers = 0
    }
    nonisolated(unsafe) private static var states: [String: State] = [:]
    private static let condition = NSCondition()

    /// Returns once every change made in `path` before the call is durable. Returns false when
    /// the directory cannot be opened or synced.
    @discardableResult
    public static func sync(_ path: String) -> Bool {
        condition.lock()
        let state: State
        if let existing = states[path] { state = existing } else { state = State(); states[path] = state }
        state.callers += 1
        defer {
            state.callers -= 1
            if state.callers == 0 { states[path] = nil }
            condition.unlock()
        }
        // A sync running now may have started before the caller's change: it needs the next one.
        let needed = state.started + 1
        while state.completed < needed {
            if state.running {
                condition.wait()
                continue
            }
            state.running = true
            state.started += 1
            let generation = state.started
            condition.unlock()
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            var result: Int32 = -1
            if fd >= 0 {
                result = fsync(fd)
                close(fd)
            }
            condition.lock()
            state.running = false
            state.completed = generation
            state.lastResult = result
            condition.broadcast()
        }
        return state.lastResult == 0
    }
}
