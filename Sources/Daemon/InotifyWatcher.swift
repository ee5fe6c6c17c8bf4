#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SigndCore

/// Watches directories with the kernel's inotify API for files that were closed after writing
/// or moved in (IN_CLOSE_WRITE | IN_MOVED_TO), delivering file names as an AsyncStream. The
/// reading thread blocks in `poll`, so an idle daemon uses no CPU. Queue overflow
/// (IN_Q_OVERFLOW) is reported as `.overflow` so the caller rescans.
public final class InotifyWatcher: @unchecked Sendable {
    public enum Event: Sendable, Equatable {
        /// A file appeared or was completed: directory path and file name.
        case file(directory: String, name: String)
        /// Events were lost; rescan everything.
        case overflow
    }

    private let fd: Int32
    private var directories: [Int32: String] = [:]
    private let lock = NSLock()
    private var stopPipe: [Int32] = [-1, -1]
    private var thread: Thread?

    public init() throws {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else {
            throw WatcherError(message: "inotify_init1 failed: \(String(cString: strerror(errno))); raise fs.inotify.max_user_instances")
        }
        guard pipe(&stopPipe) == 0 else {
            close(fd)
            throw WatcherError(message: "pipe failed: \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        stop()
        close(fd)
        if stopPipe[0] >= 0 { close(stopPipe[0]) }
        if stopPipe[1] >= 0 { close(stopPipe[1]) }
    }

    /// Adds a directory (not followed if it is a symbolic link).
    public func watch(_ directory: String) throws {
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_DONT_FOLLOW) | UInt32(IN_ONLYDIR)
        let wd = inotify_add_watch(fd, directory, mask)
        guard wd >= 0 else {
            throw WatcherError(message: "cannot watch \(directory): \(String(cString: strerror(errno))); check that it exists and raise fs.inotify.max_user_watches if needed")
        }
        lock.withLock { directories[wd] = directory }
    }

    /// Starts the reader thread; events arrive on the returned stream until `stop()`.
    public func events() -> AsyncStream<Event> {
        AsyncStream { continuation in
            let t = Thread { [weak self] in self?.readLoop(continuation) }
            t.name = "signd-inotify"
            self.thread = t
            t.start()
        }
    }

    public func stop() {
        if stopPipe[1] >= 0 {
            var b: UInt8 = 1
            _ = write(stopPipe[1], &b, 1)
        }
    }

    private func readLoop(_ continuation: AsyncStream<Event>.Continuation) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopPipe[0], events: Int16(POLLIN), revents: 0)]
        while true {
            let r = poll(&fds, 2, -1)
            if r < 0 { if errno == EINTR { continue }; break }
            if fds[1].revents != 0 { break }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { continue }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let (wd, mask, len) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                    let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (e.wd, e.mask, Int(e.len))
                }
                let nameStart = offset + MemoryLayout<inotify_event>.size
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    continuation.yield(.overflow)
                } else if len > 0, let dir = lock.withLock({ directories[wd] }) {
                    let nameBytes = buffer[nameStart..<(nameStart + len)].prefix { $0 != 0 }
                    continuation.yield(.file(directory: dir, name: String(decoding: nameBytes, as: UTF8.self)))
                }
                offset = nameStart + len
            }
        }
        continuation.finish()
    }
}

public struct WatcherError: SigndError, CustomStringConvertible {
    public let message: String
    public var code: SpoolError.Code { .watch }
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}
