import Foundation
import GRDB
import PKIStructures

/// The embedded CA's own registry of issued certificates and CRL state: a GRDB SQLite file
/// (`<data>/ca/ca.sqlite`, WAL, mode 0600) with forward-only named migrations. It is separate
/// from the state database because it belongs to the CA: with EJBCA in production it is not
/// used at all.
///
/// Tables: `issuedCertificate` (``IssuedCertificateRecord``) and `crlState`, one row holding
/// the last CRL number, a revocation generation counter (bumped by every revocation change)
/// and the last CRL issued, so an unchanged CRL is served again instead of minting numbers.
final class CARegistry: Sendable {
    let writer: any DatabaseWriter

    init(path: String) throws {
        do {
            if !FileManager.default.fileExists(atPath: path) {
                // Created 0600 before SQLite opens it, so the -wal/-shm files inherit the mode.
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            var config = Configuration()
            config.busyMode = .timeout(10)
            let pool = try DatabasePool(path: path, configuration: config)
            chmod(path, 0o600)
            // Issued and revoked certificates must survive a power loss (GRDB's WAL default is NORMAL).
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
            writer = pool
        } catch {
            throw CertificateAuthorityError(.storage, "cannot open the CA registry \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-issued-certificates") { db in
            try db.create(table: "issuedCertificate") { t in
                t.primaryKey("serial", .text).check { length($0) > 0 }
                t.column("der", .blob).notNull()
                t.column("subject", .text).notNull()
                t.column("profile", .text).notNull()
                t.column("userId", .text).notNull()
                t.column("deviceId", .text).notNull()
                t.column("notBefore", .datetime).notNull()
                t.column("notAfter", .datetime).notNull()
                t.column("issuedAt", .datetime).notNull()
                t.column("revokedAt", .datetime)
                t.column("revocationReason", .text).check { $0 == nil || RevocationReason.allCases.map(\.rawValue).contains($0) }
                t.check(sql: "(revokedAt IS NULL) = (revocationReason IS NULL)")
            }
            try db.create(index: "issuedCertificate_on_revokedAt", on: "issuedCertificate", columns: ["revokedAt"])
            try db.create(index: "issuedCertificate_on_deviceId", on: "issuedCertificate", columns: ["deviceId"])
            try db.create(table: "crlState") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("crlNumber", .integer).notNull().defaults(to: 0)
                t.column("revocationGeneration", .integer).notNull().defaults(to: 0)
                t.column("lastCRL", .blob)
                t.column("lastThisUpdate", .datetime)
                t.column("lastGeneration", .integer)
            }
            try db.execute(sql: "INSERT INTO crlState (id) VALUES (1)")
        }
        return m
    }

    private func storage<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as CertificateAuthorityError {
            throw e
        } catch {
            throw CertificateAuthorityError(.storage, "the CA registry failed to \(what): \(error)")
        }
    }

    /// Stores a new certificate; false when the serial exists already (the caller draws another).
    func insert(_ record: IssuedCertificateRecord) throws -> Bool {
        try storage("record an issued certificate") {
            try writer.write { db in
                if try IssuedCertificateRecord.exists(db, key: record.serial) { return false }
                try record.insert(db)
                return true
            }
        }
    }

    func record(serial: String) throws -> IssuedCertificateRecord? {
        try storage("read a certificate") { try writer.read { try IssuedCertificateRecord.fetchOne($0, key: serial) } }
    }

    func all() throws -> [IssuedCertificateRecord] {
        try storage("list certificates") {
            try writer.read { try IssuedCertificateRecord.order(Column("issuedAt"), Column("serial")).fetchAll($0) }
        }
    }

    /// Applies a revocation change (see ``EmbeddedCA/revoke(serialHex:reason:at:)`` for the
    /// rules) and bumps the revocation generation.
    func revoke(serial: String, reason: RevocationReason, at date: Date) throws {
        try storage("record a revocation") {
            try writer.write { db in
                guard var record = try IssuedCertificateRecord.fetchOne(db, key: serial) else {
                    throw CertificateAuthorityError(.unknownCertificate, "the embedded CA never issued a certificate with serial \(serial)")
                }
                switch (record.revocationReason, reason) {
                case (.certificateHold?, .removeFromCRL):
                    record.revokedAt = nil
                    record.revocationReason = nil
                case (_, .removeFromCRL):
                    throw CertificateAuthorityError(.invalidRevocation, "removeFromCRL releases a certificateHold only; certificate \(serial) is not on hold (RFC 5280 5.3.1)")
                case (.certificateHold?, .certificateHold):
                    throw CertificateAuthorityError(.alreadyRevoked, "certificate \(serial) is already on hold")
                case (.certificateHold?, _):
                    // A hold made permanent keeps the time the certificate stopped being usable.
                    record.revocationReason = reason
                case (let current?, _):
                    throw CertificateAuthorityError(.alreadyRevoked, "certificate \(serial) was already revoked (\(current.rawValue)); a revocation is final unless it is a certificateHold")
                case (nil, _):
                    record.revokedAt = date
                    record.revocationReason = reason
                }
                try record.update(db)
                try db.execute(sql: "UPDATE crlState SET revocationGeneration = revocationGeneration + 1 WHERE id = 1")
            }
        }
    }

    /// The current CRL: the stored one when no revocation changed since and it is younger than
    /// `reuseFor`, else a new one made by `make(number, revoked)` with the next CRL number
    /// (RFC 5280 5.2.3: monotonically increasing), stored before it is returned.
    func currentCRL(now: Date, reuseFor: TimeInterval,
                    make: (Int64, [IssuedCertificateRecord]) throws -> [UInt8]) throws -> [UInt8] {
        try storage("produce a CRL") {
            try writer.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM crlState WHERE id = 1") else {
                    throw CertificateAuthorityError(.storage, "the CA registry has no crlState row")
                }
                let generation: Int64 = row["revocationGeneration"]
                if let last: Data = row["lastCRL"], let lastThisUpdate: Date = row["lastThisUpdate"],
                   let lastGeneration: Int64 = row["lastGeneration"], lastGeneration == generation,
                   now >= lastThisUpdate, now.timeIntervalSince(lastThisUpdate) < reuseFor {
                    return Array(last)
                }
                let number: Int64 = row["crlNumber"] + 1
                let revoked = try IssuedCertificateRecord.filter(Column("revokedAt") != nil).order(Column("revokedAt"), Column("serial")).fetchAll(db)
                let der = try make(number, revoked)
                try db.execute(sql: "UPDATE crlState SET crlNumber = ?, lastCRL = ?, lastThisUpdate = ?, lastGeneration = ? WHERE id = 1",
                               arguments: [number, Data(der), now, generation])
                return der
            }
        }
    }
}
