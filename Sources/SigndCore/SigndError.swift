import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every module's error type tells the boundary (the job pipeline, the CLI): a stable code,
/// whether the same work may succeed later, and a message for the operator (what happened, where,
/// what to do). The pipeline reads errors only through ``classify(_:)``.
///
/// Each module has one error type with a typed `Code` (a `RawRepresentable` string struct with
/// static constants) and publishes its documented codes as `<Module>ErrorCodes.all`
/// (``ErrorCodeInfo``); `signd errors --markdown` renders them into docs/errors.md, and a test
/// fails when a code thrown in Sources/ is not in that registry.
///
/// Format modules that cannot depend on SigndCore (PDFSyntax, PDFSignatures, CMSStructures,
/// PAdES, Jobs) get their conformance in the first module that links both (SigndCore, Daemon).
public protocol SigndError: Error, Sendable {
    associatedtype Code: RawRepresentable & Sendable where Code.RawValue == String
    /// The stable code (`pdf.truncated`, `spool.io`): tests, reports and metrics key on it.
    var code: Code { get }
    /// The same job may succeed when tried again later (network, disk space, a busy database).
    var retryable: Bool { get }
    /// What happened and what to do, for `failed/<job>.error.json` and standard error.
    var operatorMessage: String { get }
}

extension SigndError {
    /// ``code`` as its string.
    public var codeString: String { code.rawValue }
}

/// One documented error code: what docs/errors.md says about it.
public struct ErrorCodeInfo: Sendable, Hashable {
    /// The code, e.g. `pdf.truncated`. A row whose code contains `*` or `<` is a cross-reference
    /// (`pdf.*`: "as above"), not a code of its own.
    public var code: String
    /// The docs/errors.md section it is listed in (``ErrorCatalogSection``).
    public var section: ErrorCatalogSection.ID
    /// Whether failures with this code are normally retried.
    public var retryable: Bool
    /// Replaces yes/no in the retryable column when it depends (`5xx yes, else no`).
    public var retryNote: String?
    /// What it means.
    public var meaning: String
    /// What the operator should do (sections with a third column).
    public var action: String?

    public init(_ code: String, _ section: ErrorCatalogSection.ID, retryable: Bool = false, retryNote: String? = nil,
                meaning: String, action: String? = nil) {
        self.code = code
        self.section = section
        self.retryable = retryable
        self.retryNote = retryNote
        self.meaning = meaning
        self.action = action
    }

    /// Several codes with one explanation (rendered as one row).
    public static func group(_ codes: [String], _ section: ErrorCatalogSection.ID, retryable: Bool = false,
                             meaning: String, action: String? = nil) -> [ErrorCodeInfo] {
        codes.map { ErrorCodeInfo($0, section, retryable: retryable, meaning: meaning, action: action) }
    }

    /// A cross-reference row (`pdf.*`), not a code.
    public var isReference: Bool { code.contains("*") || code.contains("<") }
}

/// How ``classify(_:)`` reads errors that are not ``SigndError``s of signd's modules.
public enum SystemErrorCodes {
    /// Anything unknown. Not retryable; the caller logs the error itself.
    public static let `internal` = "internal"
    /// ENOSPC / EDQUOT: the file system (spool, data directory) is full or over quota.
    public static let storageFull = "storage.full"
    /// EMFILE / ENFILE: the process or the system ran out of file descriptors.
    public static let descriptorsExhausted = "system.descriptorsExhausted"

    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(storageFull, .system, retryable: true,
                      meaning: "a file could not be written: the file system holding the spool or the data directory is full, or a disk quota is reached (ENOSPC, EDQUOT); the job is retried with backoff",
                      action: "free space (or raise the quota) on that file system; `df -h` on the spool and data directory"),
        ErrorCodeInfo(descriptorsExhausted, .system, retryable: true,
                      meaning: "the daemon or the system ran out of file descriptors (EMFILE, ENFILE); the job is retried with backoff",
                      action: "raise `LimitNOFILE` of the service (or `ulimit -n`), or lower the number of workers"),
        ErrorCodeInfo(`internal`, .system,
                      meaning: "unexpected error; the job was not signed (see the daemon log)",
                      action: "report it with the daemon log lines of the job"),
    ]
}

/// The code, operator message and retryability of any error, classified once at the boundary:
/// a ``SigndError`` gives its own fields; a POSIX or Foundation error for a full disk
/// (`storage.full`) or exhausted descriptors (`system.descriptorsExhausted`) is retryable;
/// anything else is `internal`, not retryable, with a message that points to the daemon log (the
/// caller logs `error` itself). Other modules extend this by conforming their error types,
/// including foreign ones (StateStore makes GRDB's `DatabaseError` a ``SigndError``).
public func classify(_ error: any Error) -> (code: String, message: String, retryable: Bool) {
    if let known = error as? any SigndError {
        return (known.codeString, known.operatorMessage, known.retryable)
    }
    if let number = posixErrorNumber(error) {
        switch number {
        case ENOSPC, EDQUOT:
            return (SystemErrorCodes.storageFull,
                    "no space left on the file system (\(String(cString: strerror(number)))): \(error.localizedDescription); free space on the spool and data directory file systems; the job is retried",
                    true)
        case EMFILE, ENFILE:
            return (SystemErrorCodes.descriptorsExhausted,
                    "out of file descriptors (\(String(cString: strerror(number)))); raise LimitNOFILE of the service or lower the number of workers; the job is retried",
                    true)
        default: break
        }
    }
    return (SystemErrorCodes.internal, "an internal error occurred (see the daemon log)", false)
}

/// The errno behind a `POSIXError`, an `NSError` in the POSIX domain (directly or as its
/// underlying error), or Foundation's out-of-space file error.
func posixErrorNumber(_ error: any Error) -> Int32? {
    if let posix = error as? POSIXError { return posix.code.rawValue }
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
    if ns.domain == NSCocoaErrorDomain {
        if ns.code == CocoaError.fileWriteOutOfSpace.rawValue { return ENOSPC }
        if let cocoa = error as? CocoaError, let underlying = cocoa.underlying { return posixErrorNumber(underlying) }
    }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying !== ns {
        return posixErrorNumber(underlying)
    }
    return nil
}
