import CSpoolSupport
import Foundation
import SigndCore

/// The directories of one named spool (docs/spool.md).
public struct SpoolLayout: Sendable, Hashable {
    public let name: String
    public let root: String
    public var incoming: String { root + "/incoming" }
    public var work: String { root + "/work" }
    public var pending: String { root + "/pending" }
    public var signatures: String { root + "/signatures" }
    public var done: String { root + "/done" }
    public var failed: String { root + "/failed" }
    public var archive: String { root + "/archive" }

    public init(name: String, spoolRoot: String) {
        self.name = name
        self.root = spoolRoot + "/" + name
    }

    public func ensure() throws {
        for dir in [incoming, work, pending, signatures, done, failed, archive] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
    }
}

/// File operations for the spool that never follow symbolic links and never lose a file.
enum SpoolFiles {
    /// Reads a regular file (not a symlink) of at most `limit` bytes.
    static func readRegular(_ path: String, limit: Int) throws -> Data {
        guard let status = FileStatus(path: path) else { throw SpoolError("spool.io", "cannot stat \(path): \(FileStatus.lastError())") }
        guard status.kind == .regular else {
            throw SpoolError("spool.notRegularFile", "\(path) is not a regular file (symbolic links and special files are never followed)")
        }
        guard status.size <= Int64(limit) else {
            throw SpoolError("spool.tooLarge", "\(path) has \(status.size) bytes; the limit is \(limit)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw SpoolError("spool.io", "cannot read \(path)") }
        return data
    }

    static func isRegularFile(_ path: String) -> Bool { FileStatus(path: path)?.kind == .regular }

    static func size(_ path: String) -> Int64? { FileStatus(path: path)?.size }

    /// Atomic rename that never overwrites: if the target exists a numbered name is chosen. The
    /// no-replace rename (renameat2 RENAME_NOREPLACE) makes "exists?" and "rename" one step, so
    /// two workers moving to the same name cannot replace each other's file. On file systems
    /// without it, a hard link (which also fails on an existing name) and an unlink.
    @discardableResult
    static func move(_ from: String, to target: String) throws -> String {
        var destination = target
        var n = 1
        while true {
            if signd_rename_noreplace(from, destination) == 0 { return destination }
            var error = errno
            if error == EINVAL || error == ENOSYS {
                if link(from, destination) == 0 {
                    unlink(from)
                    return destination
                }
                error = errno
            }
            guard error == EEXIST, n < 10_000 else {
                throw SpoolError("spool.io", "cannot move \(from) to \(destination): \(String(cString: strerror(error)))")
            }
            let ext = (target as NSString).pathExtension
            let base = (target as NSString).deletingPathExtension
            destination = ext.isEmpty ? "\(base).\(n)" : "\(base).\(n).\(ext)"
            n += 1
        }
    }

    static func isSymlink(_ path: String) -> Bool { FileStatus(path: path)?.kind == .symlink }

    /// Shared with concurrent callers of the same directory (DirectorySync).
    static func fsyncDirectory(_ path: String) {
        DirectorySync.sync(path)
    }
}

public struct SpoolError: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String
    public let retryable: Bool
    public init(_ code: String, _ message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }
    public var description: String { "[\(code)] \(message)" }
}
