import CertificateAuthority
import CertificateLifecycle
import Foundation
import JobEngine
import GRDB
@testable import StateStore
import SigndCore
import X509
import XCTest

/// The invariants the state database holds itself (migration v8-invariants, docs/architecture.md
/// "Invariants in the state database"): one active certificate per device and profile, one
/// certificate per issuing job, one unfinished administrative job or command per device, and
/// the job ids on certificate rows that crash recovery reads.
final class InvariantTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func certificate(_ serial: String, device: String = "d1", profile: String = "default", status: CertificateStatus = .active,
                     createdAt: Date? = nil, issuedByJob: String? = nil) -> CertificateRecord {
        CertificateRecord(serial: serial, deviceId: device, csrId: nil, userId: "u1", der: Data([0x30, 0x00]), subject: "CN=x", issuer: "CN=ca",
                          profile: profile, notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400), status: status,
                          createdAt: createdAt ?? now, issuedByJob: issuedByJob)
    }

    func makeDatabase(devices: [String] = ["d1"]) throws -> StateDatabase {
        let db = try StateDatabase()
        for d in devices { try db.registerDevice(id: d, userId: "u1", publicKeyDER: nil, now: now) }
        return db
    }

    /// A job row as a claim inserts it (raw SQL: only the columns every version has).
    func insertJob(_ db: StateDatabase, _ jobId: String, device: String = "d1") throws {
        try db.writer.write { db in
            try db.execute(sql: """
                INSERT INTO job (jobId, spool, state, documentSha256, userId, deviceId, createdAt, updatedAt)
                VALUES (?, 'default', 'claimed', ?, 'u1', ?, ?, ?)
                """, arguments: [jobId, String(repeating: "0", count: 64), device, now, now])
        }
    }

    func setJobState(_ db: StateDatabase, _ jobId: String, _ state: String) throws {
        try db.writer.write { try $0.execute(sql: "UPDATE job SET state = ? WHERE jobId = ?", arguments: [state, jobId]) }
    }

    /// A unique index or primary key refused the write.
    func assertUniqueViolation(_ body: @autoclosure () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) {
            let code = ($0 as? DatabaseError)?.extendedResultCode
            XCTAssertTrue(code == .SQLITE_CONSTRAINT_UNIQUE || code == .SQLITE_CONSTRAINT_PRIMARYKEY, "\($0)", file: file, line: line)
        }
    }

    // MARK: - One active certificate per device and profile

    func testSchemaRefusesASecondActiveCertificateForTheSameDeviceAndProfile() throws {
        let db = try makeDatabase(devices: ["d1", "d2"])
        try db.storeIssuedCertificate(certificate("0a"))
        // A direct insert, past every check in the code: the partial unique index refuses it.
        assertUniqueViolation(try db.writer.write { try self.certificate("0b").insert($0) })
        XCTAssertEqual(try db.certificates(deviceId: "d1").map(\.serial), ["0a"])
        // Not active, another profile, another device: allowed.
        try db.writer.write { db in
            try self.certificate("0c", status: .superseded).insert(db)
            try self.certificate("0d", status: .revoked).insert(db)
            try self.certificate("0e", profile: "qes").insert(db)
            try self.certificate("0f", device: "d2").insert(db)
        }
        // Nor can an update make a second one active.
        assertUniqueViolation(try db.writer.write { try $0.execute(sql: "UPDATE certificate SET status = 'active' WHERE serial = '0c'") })
    }

    func testStoringAReplacementSupersedesInTheSameTransaction() throws {
        let db = try makeDatabase()
        try db.storeIssuedCertificate(certificate("0a"))
        let superseded = try db.storeIssuedCertificate(certificate("0b", createdAt: now.addingTimeInterval(1)), replacing: .anyActive)
        XCTAssertEqual(superseded, ["0a"])
        XCTAssertEqual(try db.certificate(serial: "0a")?.status, .superseded)
        XCTAssertEqual(try db.certificate(serial: "0a")?.supersededBy, "0b")
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .active)
    }

    /// enroll.exists is decided where the certificate is stored, not by a check before the CA call.
    func testEnrollmentWithoutRenewIsRefusedInTheStoringTransaction() throws {
        let db = try makeDatabase()
        try db.storeIssuedCertificate(certificate("0a"), replacing: .none)
        XCTAssertThrowsError(try db.storeIssuedCertificate(certificate("0b"), replacing: .none, sealedCloudKey: "{}")) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "enroll.exists")
        }
        XCTAssertEqual(try db.certificates(deviceId: "d1").map(\.serial), ["0a"])
        XCTAssertEqual(try db.certificate(serial: "0a")?.status, .active)
        XCTAssertNil(try db.cloudKey(deviceId: "d1"), "the key of a refused enrollment is not stored")
    }

    func testRenewalOfACertificateNoLongerActiveIsNotStored() throws {
        let db = try makeDatabase()
        try db.storeIssuedCertificate(certificate("0a"))
        try db.storeIssuedCertificate(certificate("0b"))  // re-enrolled meanwhile: 0a superseded
        XCTAssertThrowsError(try db.storeIssuedCertificate(certificate("0c", issuedByJob: "renewal:0a"), replacing: .renewal(of: "0a"))) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "renewal.superseded")
        }
        XCTAssertEqual(try db.certificate(serial: "0b")?.status, .active, "the re-enrolled certificate stays active")
        XCTAssertNil(try db.certificate(serial: "0c"))
        try db.storeIssuedCertificate(certificate("0d", issuedByJob: "renewal:0b"), replacing: .renewal(of: "0b"))
        XCTAssertEqual(try db.renewalAttempts().map { "\($0.serial)>\($0.newSerial ?? "")" }, ["0b>0d"], "recorded with the renewal")
    }

    func testARemovedDeviceGetsNoNewCertificate() throws {
        let db = try makeDatabase()
        try db.storeIssuedCertificate(certificate("0a"))
        try db.setDeviceStatus("d1", to: .removed, now: now)
        XCTAssertThrowsError(try db.storeIssuedCertificate(certificate("0b", issuedByJob: "renewal:0a"), replacing: .renewal(of: "0a"))) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "device.removed")
        }
        XCTAssertEqual(try db.certificates(deviceId: "d1").map(\.serial), ["0a"])
    }

    /// A database of an older version with two active certificates of one device and profile
    /// is repaired by the migration: the newest stays active.
    func testMigrationKeepsTheNewestActiveCertificateAndSupersedesTheOthers() throws {
        let queue = try DatabaseQueue()
        let all = StateDatabase.migrator
        let v8 = try XCTUnwrap(all.migrations.firstIndex(of: "v8-invariants"))
        try all.migrate(queue, upTo: all.migrations[v8 - 1])
        try queue.write { db in
            try db.execute(sql: "INSERT INTO user (id, createdAt) VALUES ('u1', ?)", arguments: [now])
            try db.execute(sql: "INSERT INTO device (id, userId, status, createdAt, updatedAt) VALUES ('d1', 'u1', 'ACTIVE', ?, ?)", arguments: [now, now])
            for (serial, age, profile) in [("01", 300.0, "default"), ("02", 100.0, "default"), ("03", 200.0, "default"), ("04", 50.0, "qes")] {
                try db.execute(sql: """
                    INSERT INTO certificate (serial, deviceId, userId, der, subject, issuer, profile, notBefore, notAfter, status, createdAt)
                    VALUES (?, 'd1', 'u1', x'3000', 'CN=x', 'CN=ca', ?, ?, ?, 'active', ?)
                    """, arguments: [serial, profile, now, now.addingTimeInterval(86_400), now.addingTimeInterval(-age)])
            }
        }
        try all.migrate(queue)
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT serial, status, supersededBy FROM certificate ORDER BY serial") }
        XCTAssertEqual(rows.map { "\($0["serial"] as String):\($0["status"] as String):\(($0["supersededBy"] as String?) ?? "-")" },
                       ["01:superseded:02", "02:active:-", "03:superseded:02", "04:active:-"])
    }

    // MARK: - One certificate per issuing job; crash recovery by job id

    func testResumedEnrollFindsItsCertificateByIssuedByJob() async throws {
        let db = try StateDatabase()
        let ca = try FakeCertificateAuthority(validity: 86_400, now: { Date(timeIntervalSince1970: 1_800_000_000) })
        let kek = try KeyEncryptionKey(rawKey: [UInt8](repeating: 7, count: 32), origin: "test")
        let enrollment = EnrollmentService(database: db, ca: ca, kek: kek, clock: { Date(timeIntervalSince1970: 1_800_000_000) })
        let subject = try DistinguishedName { CommonName("D") }
        // The job issued one before the crash; the CLI re-enrolled the device after it, in the
        // same second: audit windows could not tell them apart, the job id does.
        let mine = try await enrollment.enrollCloud(userId: "u1", deviceId: "d1", subject: subject, profile: "default", operation: "enroll-1", replacing: .none)
        let theirs = try await enrollment.enrollCloud(userId: "u1", deviceId: "d1", subject: subject, profile: "default", operation: "cli-enroll:x")
        let found = try XCTUnwrap(try db.certificate(issuedByJob: "enroll-1"))
        XCTAssertEqual(found.serial, Hex.encode(mine.certificate.serialNumber.bytes))
        XCTAssertEqual(found.status, .superseded, "found whatever happened to it since")
        XCTAssertEqual(try db.certificate(issuedByJob: "cli-enroll:x")?.serial, Hex.encode(theirs.certificate.serialNumber.bytes))
        XCTAssertNil(try db.certificate(issuedByJob: "enroll-2"), "a job that issued nothing finds nothing")
        // One certificate per operation: the schema refuses a second.
        XCTAssertThrowsError(try db.storeIssuedCertificate(certificate("0c", issuedByJob: "enroll-1"))) {
            XCTAssertEqual(($0 as? StateStoreError)?.code, "certificate.issuedTwice")
        }
    }

    /// A certificate the CA issued that the state database refuses (enroll.exists by the time it
    /// is stored) is revoked at the CA again, and the device keeps its certificate and key.
    func testRefusedEnrollmentIsRevokedAtTheCAAndKeepsTheOldKey() async throws {
        let db = try StateDatabase()
        let ca = try FakeCertificateAuthority(validity: 86_400, now: { Date(timeIntervalSince1970: 1_800_000_000) })
        let kek = try KeyEncryptionKey(rawKey: [UInt8](repeating: 7, count: 32), origin: "test")
        let enrollment = EnrollmentService(database: db, ca: ca, kek: kek, clock: { Date(timeIntervalSince1970: 1_800_000_000) })
        let subject = try DistinguishedName { CommonName("D") }
        _ = try await enrollment.enrollCloud(userId: "u1", deviceId: "d1", subject: subject, profile: "default", operation: "enroll-1", replacing: .none)
        let key = try XCTUnwrap(try db.cloudKey(deviceId: "d1")).sealedKey
        do {
            _ = try await enrollment.enrollCloud(userId: "u1", deviceId: "d1", subject: subject, profile: "default", operation: "enroll-2", replacing: .none)
            XCTFail("a second enrollment without renew was stored")
        } catch let e as StateStoreError {
            XCTAssertEqual(e.code, "enroll.exists")
        }
        let revocations = await ca.revocations
        XCTAssertEqual(revocations.count, 1, "the orphan is revoked at the CA")
        XCTAssertEqual(try db.certificates(deviceId: "d1").count, 1)
        XCTAssertEqual(try db.cloudKey(deviceId: "d1")?.sealedKey, key)
    }

    func testRevokedByJobIsRecordedOnceAndFoundByJob() throws {
        let db = try makeDatabase()
        try db.storeIssuedCertificate(certificate("0a"))
        try db.markRevoked(serial: "0a", reason: "keyCompromise", at: now, byJob: "revoke-1")
        try db.markRevoked(serial: "0a", reason: "superseded", at: now.addingTimeInterval(5), byJob: "cli-ca-revoke:x")
        XCTAssertEqual(try db.certificates(revokedByJob: "revoke-1").map(\.serial), ["0a"])
        XCTAssertEqual(try db.certificates(revokedByJob: "cli-ca-revoke:x"), [])
        XCTAssertEqual(try db.certificate(serial: "0a")?.revocationReason, "keyCompromise", "the first revocation stays")
    }

    // MARK: - One unfinished administrative job or command per device

    func testDeviceLeaseRefusesASecondJobUntilTheFirstEnds() throws {
        let db = try makeDatabase()
        try insertJob(db, "job-a")
        try insertJob(db, "job-b")
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-a"), now: now), .acquired)
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-b"), now: now), .busy(holder: "job-a"))
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .command("cli-enroll:x", expiresAt: now.addingTimeInterval(60)), now: now),
                       .busy(holder: "job-a"), "the CLI waits too")
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-a"), now: now), .acquired, "the holder resumed after a crash keeps it")
        XCTAssertEqual(try db.acquireDeviceLease("d2", for: .job("job-b"), now: now), .acquired, "another device is independent")
        // A direct insert of a second lease for the device: the primary key refuses it.
        assertUniqueViolation(try db.writer.write { db in
            try DeviceLeaseRecord(deviceId: "d1", holder: "job-c", kind: .job, acquiredAt: self.now, expiresAt: nil).insert(db)
        })
        // Retrying (any state but delivered and failed) keeps the lease; the final state ends it
        // in the same transaction (trigger).
        try setJobState(db, "job-a", "authorized")
        XCTAssertEqual(try db.deviceLeaseHolder("d1", now: now), "job-a")
        try setJobState(db, "job-a", "delivered")
        XCTAssertEqual(try db.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM deviceLease WHERE holder = 'job-a'") }, 0)
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-b"), now: now), .acquired)
        try setJobState(db, "job-b", "failed")
        XCTAssertNil(try db.deviceLeaseHolder("d1", now: now))
    }

    func testDeviceLeaseIsGrantedOnlyToAnUnfinishedJob() throws {
        let db = try makeDatabase()
        XCTAssertThrowsError(try db.acquireDeviceLease("d1", for: .job("ghost"), now: now))
        try insertJob(db, "done-job")
        try setJobState(db, "done-job", "delivered")
        XCTAssertThrowsError(try db.acquireDeviceLease("d1", for: .job("done-job"), now: now))
    }

    func testCommandLeaseIsReleasedOrLapses() throws {
        let db = try makeDatabase()
        try insertJob(db, "job-a")
        let cli = DeviceLeaseHolder.command("cli-enroll:x", expiresAt: now.addingTimeInterval(900))
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: cli, now: now), .acquired)
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-a"), now: now), .busy(holder: "cli-enroll:x"))
        try db.releaseDeviceLease("d1", holder: "someone-else")
        XCTAssertEqual(try db.deviceLeaseHolder("d1", now: now), "cli-enroll:x", "only the holder releases")
        try db.releaseDeviceLease("d1", holder: "cli-enroll:x")
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-a"), now: now), .acquired)
        try setJobState(db, "job-a", "failed")
        // A command killed before it released its lease: it lapses at expiresAt.
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: cli, now: now), .acquired)
        try insertJob(db, "job-b")
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-b"), now: now.addingTimeInterval(899)), .busy(holder: "cli-enroll:x"))
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-b"), now: now.addingTimeInterval(900)), .acquired)
    }

    func testWaitingForTheLeaseTakesItWhenTheHolderEnds() async throws {
        let db = try makeDatabase()
        try insertJob(db, "job-a")
        try insertJob(db, "job-b")
        XCTAssertEqual(try db.acquireDeviceLease("d1", for: .job("job-a"), now: now), .acquired)
        var polls = 0
        let outcome = try await db.waitForDeviceLease("d1", for: .job("job-b"), attempts: 5, pollInterval: 0.02, now: { self.now }, sleep: { _ in
            polls += 1
            if polls == 2 { try self.setJobState(db, "job-a", "delivered") }
        })
        XCTAssertEqual(outcome, .acquired)
        XCTAssertEqual(polls, 2)
        try insertJob(db, "job-c")
        let busy = try await db.waitForDeviceLease("d1", for: .job("job-c"), attempts: 3, pollInterval: 0.02, now: { self.now }, sleep: { _ in })
        XCTAssertEqual(busy, .busy(holder: "job-b"))
    }
}
