import GRDB
import SigndCore

/// The one error type of the state database's rules (devices, certificates, leases), with
/// stable codes. SQLite failures stay GRDB ``DatabaseError``s, classified below.
public struct StateStoreError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let deviceExists = Code(rawValue: "device.exists")
        public static let deviceUnknown = Code(rawValue: "device.unknown")
        public static let deviceRemoved = Code(rawValue: "device.removed")
        public static let deviceBusy = Code(rawValue: "device.busy")
        public static let enrollExists = Code(rawValue: "enroll.exists")
        public static let certificateUnknown = Code(rawValue: "certificate.unknown")
        public static let certificateIssuedTwice = Code(rawValue: "certificate.issuedTwice")
        public static let renewalSuperseded = Code(rawValue: "renewal.superseded")
        public static let `internal` = Code(rawValue: "internal")
    }
    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public init(code: String, message: String) {
        self.init(code: Code(rawValue: code), message: message)
    }
    /// A busy device is worth another try; the other rules are final.
    public var retryable: Bool { code == .deviceBusy }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}

/// SQLite failures (GRDB's ``DatabaseError``) of the state and audit databases, as signd reports
/// them: busy or locked → `state.busy`, disk full or I/O error → `state.unavailable` (both
/// retryable), anything else → `state.error`. The SQL and its arguments are never in the message.
extension DatabaseError: SigndError {
    public struct SigndCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        public static let busy = SigndCode(rawValue: "state.busy")
        public static let unavailable = SigndCode(rawValue: "state.unavailable")
        public static let error = SigndCode(rawValue: "state.error")
    }

    public var code: SigndCode {
        switch resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .busy
        case .SQLITE_FULL, .SQLITE_IOERR: return .unavailable
        default: return .error
        }
    }

    public var retryable: Bool { code != .error }

    public var operatorMessage: String {
        let sqlite = "SQLite \(extendedResultCode)" + (message.map { ": \($0)" } ?? "")
        switch code {
        case .busy:
            return "the database is busy (\(sqlite)); another process holds a lock on it; the work is retried"
        case .unavailable:
            return "the database cannot be written (\(sqlite)); check free space and the disk holding the data directory; the work is retried"
        default:
            return "the database refused the operation (\(sqlite)); check the daemon log and the database file (`sqlite3 <file> 'PRAGMA integrity_check'`)"
        }
    }
}

/// StateStore's documented codes (device, enroll and renewal rules are listed with the
/// administrative jobs, Daemon).
public enum StateStoreErrorCodes {
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(DatabaseError.SigndCode.busy.rawValue, .state, retryable: true,
                      meaning: "the state (or audit) database is locked by another connection or process (SQLITE_BUSY, SQLITE_LOCKED) beyond the busy timeout",
                      action: "nothing if it passes; otherwise look for a process holding the database (`fuser`), e.g. a long `sqlite3` session"),
        ErrorCodeInfo(DatabaseError.SigndCode.unavailable.rawValue, .state, retryable: true,
                      meaning: "the database cannot be written: disk full or I/O error (SQLITE_FULL, SQLITE_IOERR)",
                      action: "free space on the data directory's file system and check the disk (`dmesg`)"),
        ErrorCodeInfo(DatabaseError.SigndCode.error.rawValue, .state,
                      meaning: "any other SQLite failure (constraint, corrupt file, read-only, schema)",
                      action: "check the daemon log and the database file (`sqlite3 <file> 'PRAGMA integrity_check'`)"),
        ErrorCodeInfo(StateStoreError.Code.certificateUnknown.rawValue, .state,
                      meaning: "no certificate with that serial in the state database",
                      action: "check `signd certificates`"),
    ]
}
