import Audit
import Foundation
import TestSupport
import XCTest

/// The audit database after a few jobs, tampered with the sqlite3 shell (each change on a fresh
/// copy): `signd audit verify` must exit 1 and name the first bad event.
final class AuditTamperTests: DaemonTestCase {
    /// Runs two jobs, stops the daemon; the number of events.
    func makeAuditTrail() throws -> Int {
        let f = fixture!
        let daemon = try f.startDaemon()
        for level in ["B-B", "B-T"] {
            let job = try f.submit(level: level)
            XCTAssertEqual(try f.waitForOutcome(of: job), .done, f.logs)
        }
        XCTAssertEqual(f.stop(daemon), 0)
        let events = try f.auditEvents()
        XCTAssertGreaterThanOrEqual(events.count, 10, "\(events.map(\.type))")
        XCTAssertEqual(events.map(\.seq), Array(1...Int64(events.count)))
        return events.count
    }

    /// A fresh data directory holding a copy of the audit database (and its WAL), tampered with `sql`.
    func tamperedCopy(_ name: String, _ sql: String?) throws -> String {
        let f = fixture!
        let dir = f.root + "/tamper-" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for suffix in ["", "-wal"] where f.exists(f.dataDir + "/audit.sqlite" + suffix) {
            try FileManager.default.copyItem(atPath: f.dataDir + "/audit.sqlite" + suffix, toPath: dir + "/audit.sqlite" + suffix)
        }
        if let sql {
            let out = try f.sqlite(dir + "/audit.sqlite", sql)
            XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "sqlite3 \(sql)"))
        }
        return dir
    }

    func auditVerify(_ dir: String) throws -> ProcessOutput {
        try fixture.signd(["audit", "verify", "--data-dir", dir])
    }

    func assertBroken(_ dir: String, at seq: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try auditVerify(dir)
        XCTAssertEqual(out.status, 1, "\(what): " + ProcessRunner.describe(out, "audit verify"), file: file, line: line)
        XCTAssertTrue(out.stdout.contains("BROKEN at event \(seq):"), "\(what): should name event \(seq): \(out.stdout)", file: file, line: line)
    }

    func testAuditVerifyDetectsEditedDeletedReorderedAndInsertedRows() throws {
        let count = try makeAuditTrail()

        // Untouched copy: intact.
        let clean = try auditVerify(try tamperedCopy("clean", nil))
        XCTAssertEqual(clean.status, 0, ProcessRunner.describe(clean))

        // The append-only triggers refuse edits made without dropping them.
        let refused = try fixture.sqlite(try tamperedCopy("trigger", nil) + "/audit.sqlite", "UPDATE event SET userId='mallory' WHERE seq=3;")
        XCTAssertNotEqual(refused.status, 0, "UPDATE must be refused by the trigger: \(ProcessRunner.describe(refused))")
        XCTAssertTrue(refused.stderr.contains("append-only"), refused.stderr)

        // (a) Edited row.
        try assertBroken(try tamperedCopy("edit", "DROP TRIGGER event_no_update; UPDATE event SET userId='mallory' WHERE seq=3;"), at: 3, "edited row 3")
        // (b) Deleted row: the next row is the first that no longer fits.
        try assertBroken(try tamperedCopy("delete", "DROP TRIGGER event_no_delete; DELETE FROM event WHERE seq=4;"), at: 5, "deleted row 4")
        // (c) Two rows swapped (3 <-> 4).
        try assertBroken(try tamperedCopy("reorder", """
            DROP TRIGGER event_no_update;
            UPDATE event SET seq = -1 WHERE seq = 3; UPDATE event SET seq = 3 WHERE seq = 4; UPDATE event SET seq = 4 WHERE seq = -1;
            """), at: 3, "rows 3 and 4 swapped")
        // (d) Inserted row: a forged event appended at the end with made-up hashes.
        try assertBroken(try tamperedCopy("insert", """
            INSERT INTO event (seq, at, type, jobId, userId, outcome, details, prevHash, hash)
              VALUES (\(count + 1), '2030-01-01T00:00:00.000Z', 'job.signed', 'forged', 'mallory', 'success', '{}',
                      (SELECT hash FROM event WHERE seq = \(count)), '\(String(repeating: "ab", count: 32))');
            """), at: count + 1, "inserted row")
        // (e) A middle row deleted and the later rows renumbered to hide the gap.
        try assertBroken(try tamperedCopy("renumber", """
            DROP TRIGGER event_no_update; DROP TRIGGER event_no_delete;
            DELETE FROM event WHERE seq = 4; UPDATE event SET seq = seq - 1 WHERE seq > 4;
            """), at: 4, "row 4 deleted and the rest renumbered")
    }

    /// Deleting the newest event (truncating the chain) is a deleted row too.
    func testAuditVerifyDetectsDeletedLastRow() throws {
        let count = try makeAuditTrail()
        let out = try auditVerify(try tamperedCopy("truncate", "DROP TRIGGER event_no_delete; DELETE FROM event WHERE seq = \(count);"))
        XCTAssertEqual(out.status, 1, "deleting the last event (\(count)) goes unnoticed: " + ProcessRunner.describe(out, "audit verify"))
    }
}
