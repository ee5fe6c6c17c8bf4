#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GRDB
import PDFSyntax
import SigndCore
import StateStore
import XCTest

/// `classify` (Sources/SigndCore/SigndError.swift): one code, message and retry decision per
/// error, so that nothing the daemon knows is reported as `internal`.
final class ClassifyTests: XCTestCase {
    struct Unknown: Error {}

    func testDiskFullIsRetryableStorageFull() {
        for error: any Error in [POSIXError(.ENOSPC), POSIXError(.EDQUOT), NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC)),
                                 CocoaError(.fileWriteOutOfSpace), FileWriteError(message: "writing x failed", errorNumber: ENOSPC)] {
            let c = classify(error)
            XCTAssertEqual(c.code, "storage.full", "\(error)")
            XCTAssertTrue(c.retryable, "\(error)")
        }
    }

    func testOutOfDescriptorsIsRetryable() {
        for error: any Error in [POSIXError(.EMFILE), POSIXError(.ENFILE)] {
            XCTAssertEqual(classify(error).code, "system.descriptorsExhausted")
            XCTAssertTrue(classify(error).retryable)
        }
    }

    func testUnknownErrorIsInternalAndNotRetryable() {
        for error: any Error in [Unknown(), POSIXError(.EACCES), NSError(domain: "other", code: 1)] {
            let c = classify(error)
            XCTAssertEqual(c.code, "internal", "\(error)")
            XCTAssertFalse(c.retryable)
            XCTAssertTrue(c.message.contains("daemon log"))
        }
    }

    func testSigndErrorsGiveTheirOwnFields() {
        let pdf = classify(PDFError(.truncated, "the file ends early", offset: 7))
        XCTAssertEqual(pdf.code, "pdf.truncated")
        XCTAssertFalse(pdf.retryable)
        XCTAssertTrue(pdf.message.contains("offset 7"))
        XCTAssertEqual(classify(FileWriteError(message: "x", errorNumber: EACCES)).code, "io.write")
        XCTAssertEqual(classify(StateStoreError(code: .deviceBusy, message: "busy")).retryable, true)
        XCTAssertEqual(classify(StateStoreError(code: "device.exists", message: "taken")).code, "device.exists")
    }

    func testSQLiteBusyAndLockedAreRetryable() {
        for code in [ResultCode.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_BUSY_SNAPSHOT] {
            let c = classify(DatabaseError(resultCode: code, message: "database is locked"))
            XCTAssertEqual(c.code, "state.busy", "\(code)")
            XCTAssertTrue(c.retryable)
        }
        for code in [ResultCode.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_IOERR_WRITE] {
            XCTAssertEqual(classify(DatabaseError(resultCode: code)).code, "state.unavailable", "\(code)")
            XCTAssertTrue(classify(DatabaseError(resultCode: code)).retryable)
        }
        let other = classify(DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "UNIQUE constraint failed", sql: "INSERT secret"))
        XCTAssertEqual(other.code, "state.error")
        XCTAssertFalse(other.retryable)
        XCTAssertTrue(other.message.contains("daemon log") && other.message.contains("database file"), other.message)
        XCTAssertFalse(other.message.contains("INSERT"), "the SQL is not in the message")
    }

    /// A real SQLITE_BUSY: a second connection writes while the first holds the write lock.
    func testARealBusyDatabaseIsRetryable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("classify-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = Configuration()
        configuration.busyMode = .immediateError
        let first = try DatabaseQueue(path: dir + "/db.sqlite", configuration: configuration)
        let second = try DatabaseQueue(path: dir + "/db.sqlite", configuration: configuration)
        try first.write { try $0.execute(sql: "CREATE TABLE t (x INTEGER)") }
        try first.inDatabase { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            defer { try? db.execute(sql: "ROLLBACK") }
            XCTAssertThrowsError(try second.write { try $0.execute(sql: "INSERT INTO t VALUES (1)") }) { error in
                let c = classify(error)
                XCTAssertEqual(c.code, "state.busy", "\(error)")
                XCTAssertTrue(c.retryable)
            }
        }
    }
}
