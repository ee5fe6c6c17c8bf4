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

    /// The files of job `jobId` while it is in progress: `work/<job>.<kind>`.
    public func workFiles(_ jobId: String) -> WorkFiles { WorkFiles(prefix: work + "/" + jobId) }

    /// Job ids that have files in work/ (hidden temporary files left out), sorted. Directories
    /// `work/<job>/` of older versions are flattened first (WorkFiles.flattenLegacyDirectory).
    public func jobsInWork() -> [String] {
        var ids = Set<String>()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
        // Directories first (a job id may itself end like a kind: `work/x.signed.pdf/` is job
        // `x.signed.pdf`, not the signed output of job `x`).
        for name in names where !name.hasPrefix(".") && FileStatus(path: work + "/" + name)?.kind == .directory {
            workFiles(name).flattenLegacyDirectory()
            if workFiles(name).exists { ids.insert(name) }
        }
        for name in names where !name.hasPrefix(".") && FileStatus(path: work + "/" + name)?.kind == .regular {
            if let jobId = WorkFiles.jobId(fromName: name) { ids.insert(jobId) }
        }
        return ids.sorted()
    }

    public func ensure() throws {
        for dir in [incoming, work, pending, signatures, done, failed, archive] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
    }
}

/// The files of one job in work/, side by side with other jobs' (`work/<job>.manifest.json`,
/// `.document.pdf`, `.signed.pdf`, ...). Flat rather than a directory per job: creating and
/// removing a directory per job cost a `mkdir`, an `rmdir`, an `fsync` of its own and, on ext4,
/// an inode allocator that searches past recently freed inodes (docs/performance.md).
/// Job ids never contain `/` and every kind has its own suffix, so a name maps back to one job.
public struct WorkFiles: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case manifest = "manifest.json", document = "document.pdf", signed = "signed.pdf", signature = "signature.json"
        case externalState = "external-state.json", result = "result.json"
    }
    /// `work/<job>`; each file is this plus `.` and its kind.
    public let prefix: String

    public func path(_ kind: Kind) -> String { prefix + "." + kind.rawValue }
    public var manifest: String { path(.manifest) }
    public var document: String { path(.document) }
    public var signed: String { path(.signed) }
    public var signature: String { path(.signature) }
    public var externalState: String { path(.externalState) }
    public var result: String { path(.result) }
    /// The work directory (for its fsync).
    public var directory: String { String(prefix[..<prefix.lastIndex(of: "/")!]) }

    /// True when any of the job's files is in work/.
    public var exists: Bool { Kind.allCases.contains { FileStatus(path: path($0)) != nil } }

    /// Removes the job's files (names of this job only, never a pattern).
    public func removeAll() {
        for kind in Kind.allCases { unlink(path(kind)) }
    }

    /// The job a name in work/ belongs to, if it is one of the kinds above.
    static func jobId(fromName name: String) -> String? {
        for kind in Kind.allCases where name.hasSuffix("." + kind.rawValue) {
            let id = String(name.dropLast(kind.rawValue.count + 1))
            return id.isEmpty ? nil : id
        }
        return nil
    }

    /// A directory `work/<job>/` left by an older version: its files move next to it under the
    /// flat names and the directory goes (when it is empty afterwards).
    func flattenLegacyDirectory() {
        let legacy = prefix
        for kind in Kind.allCases where FileStatus(path: legacy + "/" + kind.rawValue)?.kind == .regular {
            if FileStatus(path: path(kind)) == nil { rename(legacy + "/" + kind.rawValue, path(kind)) }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: legacy)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
            unlink(legacy + "/" + name)
        }
        if rmdir(legacy) == 0 { SpoolFiles.fsyncDirectory(directory) }
    }
}

/// File operations for the spool that never follow symbolic links and never lose a file.
enum SpoolFiles {
    /// Reads a regular file (not a symlink) of at most `limit` bytes. Checked and read through one
    /// descriptor (`O_NOFOLLOW|O_NONBLOCK`): a name swapped for a link or a FIFO between a check
    /// and the read is refused, never followed or waited on.
    static func readRegular(_ path: String, limit: Int) throws -> Data {
        switch readRegularFile(path, limit: limit) {
        case .success(let bytes): return Data(bytes)
        case .failure(.notRegular(let what)):
            throw SpoolError("spool.notRegularFile", "\(path) is \(what), not a regular file (symbolic links and special files are never followed)")
        case .failure(.tooLarge(let size)):
            throw SpoolError(.tooLarge, "\(path) has \(size) bytes; the limit is \(limit)")
        case .failure(.grew):
            throw SpoolError(.io, "\(path) grew while it was read; write it under a temporary name and rename it when it is complete")
        case .failure(.io(let reason)):
            throw SpoolError(.io, "cannot read \(path): \(reason)")
        }
    }

    static func isRegularFile(_ path: String) -> Bool { FileStatus(path: path)?.kind == .regular }

    static func size(_ path: String) -> Int64? { FileStatus(path: path)?.size }

    /// Atomic rename that never overwrites: if the target exists a numbered name is chosen
    /// (`claim` to each candidate name in turn).
    @discardableResult
    static func move(_ from: String, to target: String) throws -> String {
        let ext = (target as NSString).pathExtension
        let base = (target as NSString).deletingPathExtension
        var destination = target
        for n in 1...10_000 {
            if try claim(from, to: destination) { return destination }
            destination = ext.isEmpty ? "\(base).\(n)" : "\(base).\(n).\(ext)"
        }
        throw SpoolError(.io, "cannot move \(from) to \(target): 10,000 numbered names are taken; clear out \((target as NSString).deletingLastPathComponent)")
    }

    /// Rename that never replaces: false when the target exists. The no-replace rename
    /// (renameat2 RENAME_NOREPLACE) makes "exists?" and "rename" one step, so two workers moving
    /// to the same name cannot replace each other's file. On file systems without it, a hard
    /// link (which also fails on an existing name) and an unlink.
    static func claim(_ from: String, to target: String) throws -> Bool {
        if signd_rename_noreplace(from, target) == 0 { return true }
        var error = errno
        if error == EINVAL || error == ENOSYS {
            if link(from, target) == 0 {
                unlink(from)
                return true
            }
            error = errno
        }
        if error == EEXIST { return false }
        throw SpoolError(.io, "cannot move \(from) to \(target): \(String(cString: strerror(error))); check the spool's permissions and free space")
    }

    static func isSymlink(_ path: String) -> Bool { FileStatus(path: path)?.kind == .symlink }

    /// Shared with concurrent callers of the same directory (DirectorySync).
    static func fsyncDirectory(_ path: String) {
        DirectorySync.sync(path)
    }
}

/// The one error type of the spool daemon (intake, jobs, delivery), with stable codes; the codes
/// and what they mean are ``DaemonErrorCodes``.
public struct SpoolError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let io = Code(rawValue: "spool.io")
        public static let notRegularFile = Code(rawValue: "spool.notRegularFile")
        public static let tooLarge = Code(rawValue: "spool.tooLarge")
        public static let watch = Code(rawValue: "spool.watch")
        public static let documentChanged = Code(rawValue: "document.changed")
        public static let certificateNone = Code(rawValue: "certificate.none")
        public static let certificateNotDeviceKey = Code(rawValue: "certificate.notDeviceKey")
        public static let certificateUserMismatch = Code(rawValue: "certificate.userMismatch")
        public static let scaDenied = Code(rawValue: "sca.denied")
        public static let scaUnavailable = Code(rawValue: "sca.unavailable")
        public static let enrollProfileNotAllowed = Code(rawValue: "enroll.profileNotAllowed")
        public static let revokeNothingToRevoke = Code(rawValue: "revoke.nothingToRevoke")
        public static let deviceRevocationIncomplete = Code(rawValue: "device.revocationIncomplete")
        public static let caUnavailable = Code(rawValue: "ca.unavailable")
        public static let tsaNotConfigured = Code(rawValue: "tsa.notConfigured")
        public static let `internal` = Code(rawValue: "internal")
    }
    public let code: Code
    public let message: String
    public let retryable: Bool
    public init(_ code: Code, _ message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }
    public init(_ code: String, _ message: String, retryable: Bool = false) {
        self.init(Code(rawValue: code), message, retryable: retryable)
    }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}
