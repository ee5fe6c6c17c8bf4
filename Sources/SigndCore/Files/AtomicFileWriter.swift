#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failures writing output files, with a stable code.
public struct FileWriteError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }
        /// The file cannot be written.
        public static let write = Code(rawValue: "io.write")
        /// The file system is full or over quota (ENOSPC, EDQUOT): retryable.
        public static let storageFull = Code(rawValue: SystemErrorCodes.storageFull)
    }
    public let message: String
    /// The errno of the failed call, when known.
    public let errorNumber: Int32?
    public init(message: String, errorNumber: Int32? = nil) {
        self.message = message
        self.errorNumber = errorNumber
    }
    public var code: Code { errorNumber == ENOSPC || errorNumber == EDQUOT ? .storageFull : .write }
    public var retryable: Bool { code == .storageFull }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}

/// Writes a file so that readers see either nothing or the complete file: data goes to a
/// temporary file in the same directory, is fsynced, renamed over the target, and the directory
/// is fsynced. An aborted write leaves no partial file under the target name.
public final class AtomicFileWriter {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false

    public init(path: String, mode: mode_t = 0o644) throws {
        self.path = path
        let dir = AtomicFileWriter.directory(of: path)
        let base = String(path.split(separator: "/").last ?? "out")
        var random = UInt64(0)
        withUnsafeMutableBytes(of: &random) { _ = getentropy($0.baseAddress, 8) }
        temporaryPath = dir + "/." + base + ".tmp-" + String(random, radix: 16)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            throw FileWriteError(message: "cannot create \(temporaryPath): \(String(cString: strerror(errno))); check that \(dir) exists and is writable", errorNumber: errno)
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(message: "writing \(temporaryPath) failed: \(String(cString: strerror(errno))); check free disk space", errorNumber: errno)
            }
            done += n
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Makes the file durable and visible under its final name.
    public func commit() throws {
        guard fsync(fd) == 0 else {
            throw FileWriteError(message: "fsync of \(temporaryPath) failed: \(String(cString: strerror(errno)))", errorNumber: errno)
        }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw FileWriteError(message: "cannot rename \(temporaryPath) to \(path): \(String(cString: strerror(errno)))", errorNumber: errno)
        }
        committed = true
        DirectorySync.sync(AtomicFileWriter.directory(of: path))
    }

    /// Like ``commit()``, but the durable temporary file is put in place by `place(temporary,
    /// target)`, which returns the name it chose (e.g. a rename that never replaces an existing
    /// file and picks a numbered name instead). Returns that name.
    public func commit(placingWith place: (_ temporary: String, _ target: String) throws -> String) throws -> String {
        guard fsync(fd) == 0 else {
            throw FileWriteError(message: "fsync of \(temporaryPath) failed: \(String(cString: strerror(errno)))", errorNumber: errno)
        }
        close(fd)
        fd = -1
        let placed = try place(temporaryPath, path)
        committed = true
        DirectorySync.sync(AtomicFileWriter.directory(of: placed))
        return placed
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }
}
