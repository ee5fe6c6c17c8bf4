import Foundation
import GRDB

// MARK: - Devices

extension StateDatabase {
    /// Registers a device for a user (creating the user if new). A device id is registered once.
    @discardableResult
    public func registerDevice(id: String, userId: String, publicKeyDER: [UInt8]?, now: Date) throws -> DeviceRecord {
        try write { db in
            if try DeviceRecord.fetchOne(db, key: id) != nil {
                throw StateStoreError(code: "device.exists", message: "device \(id) is already registered; use another device id or remove the old one first")
            }
            if try UserRecord.fetchOne(db, key: userId) == nil {
                try UserRecord(id: userId, createdAt: now).insert(db)
            }
            let device = DeviceRecord(id: id, userId: userId, publicKeyDER: publicKeyDER.map { Data($0) }, status: .active,
                                      failedAttempts: 0, createdAt: now, updatedAt: now)
            try device.insert(db)
            return device
        }
    }

    public func device(_ id: String) throws -> DeviceRecord? {
        // Cached statement: looked up for every job's authorization.
        try writer.read { try DeviceRecord.fetchOne($0.cachedStatement(sql: "SELECT * FROM device WHERE id = ?"), arguments: [id]) }
    }

    public func devices() throws -> [DeviceRecord] {
        try writer.read { try DeviceRecord.order(Column("id")).fetchAll($0) }
    }

    /// Sets a device's status (block, unblock, remove). Unblocking resets the failure count.
    /// A removed device stays removed.
    @discardableResult
    public func setDeviceStatus(_ id: String, to status: DeviceStatus, now: Date) throws -> DeviceRecord {
        try write { db in
            guard var device = try DeviceRecord.fetchOne(db, key: id) else {
                throw StateStoreError(code: "device.unknown", message: "no device \(id) is registered")
            }
            if device.status == .removed && status != .removed {
                throw StateStoreError(code: "device.removed", message: "device \(id) was removed and cannot be reactivated; register a new device")
            }
            device.status = status
            if status == .active { device.failedAttempts = 0 }
            device.updatedAt = now
            try device.update(db)
            return device
        }
    }

    /// Counts a failed authorization of an ACTIVE device; the `maxFailures`th consecutive failure
    /// blocks it. Read, count and block are one conditional UPDATE in one transaction, so
    /// concurrent failures never count past the block: a device that is not (or no longer)
    /// ACTIVE is not counted. Returns the updated device when this call counted (its status is
    /// BLOCKED exactly when this call blocked it), nil when nothing was counted.
    ///
    /// `burning`: the single-use reference of the refused approval (e.g. `device:<id>:<nonce>`).
    /// It is recorded as used until `referenceExpiresAt` in the same transaction, and when it was
    /// already used (or already counted) nothing is counted: one approval counts at most once, so
    /// copies of one signed statement cannot block the device. (Recorded without a job id, so
    /// ``authorizationConsumed(byJob:)`` never takes a refused approval for a used-up one.)
    @discardableResult
    public func recordFailedAuthorization(deviceId: String, maxFailures: Int, now: Date, burning reference: String? = nil,
                                          referenceExpiresAt: Date? = nil) throws -> DeviceRecord? {
        try write { db in
            if let reference {
                if try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM usedNonce WHERE nonce = ? AND expiresAt >= ?"),
                                    arguments: [reference, now]) != nil {
                    return nil
                }
            }
            try db.cachedStatement(sql: """
                UPDATE device SET failedAttempts = failedAttempts + 1,
                                  status = CASE WHEN failedAttempts + 1 >= ? THEN 'BLOCKED' ELSE status END,
                                  updatedAt = ?
                 WHERE id = ? AND status = 'ACTIVE'
                """).execute(arguments: [max(1, maxFailures), now, deviceId])
            guard db.changesCount == 1 else { return nil }
            if let reference {
                try db.cachedStatement(sql: "DELETE FROM usedNonce WHERE nonce = ?").execute(arguments: [reference])
                try db.cachedStatement(sql: "INSERT INTO usedNonce (nonce, deviceId, expiresAt, jobId) VALUES (?, ?, ?, NULL)")
                    .execute(arguments: [reference, deviceId, referenceExpiresAt ?? now])
            }
            return try DeviceRecord.fetchOne(db, key: deviceId)
        }
    }

    public func recordSuccessfulAuthorization(deviceId: String, now: Date) throws {
        try write { db in
            guard var device = try DeviceRecord.fetchOne(db, key: deviceId), device.failedAttempts != 0 else { return }
            device.failedAttempts = 0
            device.updatedAt = now
            try device.update(db)
        }
    }

    /// Records a nonce as used until it expires, with the job that used it. Returns false when it
    /// was already used (replay).
    /// `resetFailures`: a successful authorization also resets the device's count of consecutive
    /// failures, in the same transaction (one commit per authorization instead of two).
    public func consumeNonce(_ nonce: String, deviceId: String, jobId: String? = nil, expiresAt: Date, now: Date,
                             resetFailures: Bool = false) throws -> Bool {
        try write { db in
            try db.cachedStatement(sql: "DELETE FROM usedNonce WHERE expiresAt < ?").execute(arguments: [now])
            if try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM usedNonce WHERE nonce = ?"), arguments: [nonce]) != nil { return false }
            try db.cachedStatement(sql: "INSERT INTO usedNonce (nonce, deviceId, expiresAt, jobId) VALUES (?, ?, ?, ?)")
                .execute(arguments: [nonce, deviceId, expiresAt, jobId])
            if resetFailures {
                try db.cachedStatement(sql: "UPDATE device SET failedAttempts = 0, updatedAt = ? WHERE id = ? AND failedAttempts != 0")
                    .execute(arguments: [now, deviceId])
            }
            return true
        }
    }

    public func isNonceUsed(_ nonce: String, now: Date) throws -> Bool {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT 1 FROM usedNonce WHERE nonce = ? AND expiresAt >= ?", arguments: [nonce, now]) != nil
        }
    }

    /// Whether an authorization was verified and used up for this job: a job resumed after a crash
    /// between that and recording its `authorized` state continues instead of failing as a replay.
    public func authorizationConsumed(byJob jobId: String) throws -> Bool {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT 1 FROM usedNonce WHERE jobId = ?", arguments: [jobId]) != nil
        }
    }
}

// MARK: - CSRs, certificates, keys

/// What a newly issued certificate replaces (``StateDatabase/storeIssuedCertificate(_:replacing:sealedCloudKey:)``).
public enum CertificateReplacement: Sendable, Hashable {
    /// Nothing: the device must not have a certificate active now (`enroll.exists`).
    case none
    /// Whatever is active (re-enrollment with renew).
    case anyActive
    /// This certificate, which must still be active (`renewal.superseded`).
    case renewal(of: String)
}

extension StateDatabase {
    public func storeCSR(deviceId: String, der: [UInt8], origin: String, now: Date) throws -> CSRRecord {
        try write { db in
            var record = CSRRecord(id: nil, deviceId: deviceId, der: Data(der), origin: origin, createdAt: now)
            try record.insert(db)
            return record
        }
    }

    public func csr(id: Int64) throws -> CSRRecord? {
        try writer.read { try CSRRecord.fetchOne($0, key: id) }
    }

    /// Stores a newly issued certificate as the device's active one, in one transaction with
    /// what it replaces: the device's active certificates become `superseded` by it (kept for
    /// validating earlier signatures), and `replacing` is checked in that same transaction:
    ///
    /// - `.none`: a certificate of the device that is active at `record.createdAt` refuses the
    ///   store with `enroll.exists` (an enrollment without renew).
    /// - `.anyActive`: re-enrollment.
    /// - `.renewal(of:)`: the renewed certificate must still be active (else `renewal.superseded`:
    ///   re-enrolled, revoked or expired meanwhile); the `renewed` attempt is recorded too.
    ///
    /// A REMOVED device gets none (`device.removed`).
    /// `sealedCloudKey`: cloud mode's new sealed key, stored with its certificate (never one
    /// without the other). The schema backs this up: a second active certificate of the device
    /// and profile is `enroll.exists`, a second certificate of one `issuedByJob` is
    /// `certificate.issuedTwice`. Returns the serials superseded.
    @discardableResult
    public func storeIssuedCertificate(_ record: CertificateRecord, replacing: CertificateReplacement = .anyActive,
                                       sealedCloudKey: String? = nil) throws -> [String] {
        let at = record.createdAt
        do {
            return try write { db in
                // A removed device gets no new certificate: `remove` marks it REMOVED before it
                // lists what to revoke, so a certificate stored before that is revoked with the
                // others, and none can be stored after.
                if try DeviceRecord.fetchOne(db, key: record.deviceId)?.status == .removed {
                    throw StateStoreError(code: .deviceRemoved, message: "device \(record.deviceId) was removed; certificate \(record.serial) was not stored")
                }
                let active = try CertificateRecord
                    .filter(Column("deviceId") == record.deviceId && Column("status") == CertificateStatus.active.rawValue)
                    .order(Column("createdAt"), Column("serial"))
                    .fetchAll(db)
                switch replacing {
                case .none:
                    if let current = active.last(where: { $0.notBefore <= at && $0.notAfter > at }) {
                        throw StateStoreError(code: .enrollExists, message: "device \(record.deviceId) already has an active certificate (serial \(current.serial)); re-enroll with renew (spool: \"renew\": true, CLI: --renew)")
                    }
                case .anyActive:
                    break
                case .renewal(let old):
                    guard active.contains(where: { $0.serial == old.lowercased() }) else {
                        throw StateStoreError(code: .renewalSuperseded, message: "certificate \(old) of device \(record.deviceId) is no longer active (re-enrolled, revoked or expired since the renewal began); the renewed certificate \(record.serial) was not stored")
                    }
                }
                try db.execute(sql: "UPDATE certificate SET status = 'superseded', supersededBy = ? WHERE deviceId = ? AND status = 'active'",
                               arguments: [record.serial, record.deviceId])
                try record.insert(db)
                if case .renewal(let old) = replacing {
                    var attempt = RenewalAttemptRecord(id: nil, serial: old.lowercased(), at: at, outcome: "renewed", newSerial: record.serial, message: nil)
                    try attempt.insert(db)
                }
                if let sealedCloudKey {
                    try CloudKeyRecord(deviceId: record.deviceId, sealedKey: sealedCloudKey, createdAt: at).save(db)
                }
                return active.map(\.serial)
            }
        } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            let message = e.message ?? ""
            if message.contains("certificate.issuedByJob") {
                throw StateStoreError(code: .certificateIssuedTwice, message: "\(record.issuedByJob ?? "this operation") already stored a certificate; certificate \(record.serial) was not stored")
            }
            if message.contains("certificate.deviceId") {
                throw StateStoreError(code: .enrollExists, message: "device \(record.deviceId) already has an active certificate of profile \(record.profile); certificate \(record.serial) was not stored")
            }
            throw e
        }
    }

    /// The certificate the job (or command operation) stored, whatever its status since.
    public func certificate(issuedByJob jobId: String) throws -> CertificateRecord? {
        try writer.read { try CertificateRecord.filter(Column("issuedByJob") == jobId).fetchOne($0) }
    }

    /// The certificates the job (or command operation) marked revoked.
    public func certificates(revokedByJob jobId: String) throws -> [CertificateRecord] {
        try writer.read { try CertificateRecord.filter(Column("revokedByJob") == jobId).order(Column("createdAt"), Column("serial")).fetchAll($0) }
    }

    public func certificate(serial: String) throws -> CertificateRecord? {
        try writer.read { try CertificateRecord.fetchOne($0, key: serial.lowercased()) }
    }

    public func certificates(deviceId: String? = nil) throws -> [CertificateRecord] {
        try writer.read { db in
            var request = CertificateRecord.order(Column("createdAt"), Column("serial"))
            if let deviceId { request = request.filter(Column("deviceId") == deviceId) }
            return try request.fetchAll(db)
        }
    }

    /// The device's certificate usable at `date`: active, not revoked, within validity.
    public func activeCertificate(deviceId: String, at date: Date) throws -> CertificateRecord? {
        // Looked up per signed job. `+status` keeps SQLite on the deviceId index: with the
        // (status, notAfter) index it walked every active certificate of every device.
        try writer.read { db in
            try CertificateRecord.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM certificate WHERE deviceId = ? AND +status = ? AND notBefore <= ? AND notAfter > ?
                ORDER BY notAfter DESC LIMIT 1
                """), arguments: [deviceId, CertificateStatus.active.rawValue, date, date])
        }
    }

    /// Marks the certificate revoked by `job` (the job id or command operation id). One that is
    /// already marked revoked keeps its first revocation (date, reason, job): the CA too refuses
    /// a second one.
    public func markRevoked(serial: String, reason: String, at date: Date, byJob job: String? = nil) throws {
        try write { db in
            guard var cert = try CertificateRecord.fetchOne(db, key: serial.lowercased()) else {
                throw StateStoreError(code: "certificate.unknown", message: "no certificate with serial \(serial)")
            }
            guard cert.status != .revoked else { return }
            cert.status = .revoked
            cert.revokedAt = date
            cert.revocationReason = reason
            cert.revokedByJob = job
            try cert.update(db)
        }
    }

    /// Marks active certificates past their notAfter as expired; returns how many.
    @discardableResult
    public func expireCertificates(now: Date) throws -> Int {
        try write { db in
            try db.execute(sql: "UPDATE certificate SET status = 'expired' WHERE status = 'active' AND notAfter <= ?", arguments: [now])
            return db.changesCount
        }
    }

    /// Active certificates that expire within their threshold and are due for an attempt, oldest
    /// expiry first. `threshold` gives, per certificate, the time before notAfter at which
    /// renewal starts.
    public func certificatesDueForRenewal(now: Date, limit: Int, threshold: (CertificateRecord) -> TimeInterval) throws -> [CertificateRecord] {
        let candidates = try writer.read { db in
            try CertificateRecord
                .filter(Column("status") == CertificateStatus.active.rawValue && Column("notAfter") > now)
                .order(Column("notAfter"))
                .fetchAll(db)
        }
        return Array(candidates.filter { cert in
            cert.notAfter.timeIntervalSince(now) <= threshold(cert) && (cert.nextRenewalAttempt.map { $0 <= now } ?? true)
        }.prefix(limit))
    }

    public func recordRenewalFailure(serial: String, message: String, retryAt: Date, now: Date) throws {
        try write { db in
            guard var cert = try CertificateRecord.fetchOne(db, key: serial) else { return }
            cert.renewalFailures += 1
            cert.nextRenewalAttempt = retryAt
            try cert.update(db)
            var attempt = RenewalAttemptRecord(id: nil, serial: serial, at: now, outcome: "failed", newSerial: nil, message: message)
            try attempt.insert(db)
        }
    }

    public func renewalAttempts(serial: String? = nil) throws -> [RenewalAttemptRecord] {
        try writer.read { db in
            var request = RenewalAttemptRecord.order(Column("id"))
            if let serial { request = request.filter(Column("serial") == serial) }
            return try request.fetchAll(db)
        }
    }

    public func storeCloudKey(deviceId: String, sealedKeyJSON: String, now: Date) throws {
        try write { db in
            try CloudKeyRecord(deviceId: deviceId, sealedKey: sealedKeyJSON, createdAt: now).save(db)
        }
    }

    public func cloudKey(deviceId: String) throws -> CloudKeyRecord? {
        try writer.read { try CloudKeyRecord.fetchOne($0.cachedStatement(sql: "SELECT * FROM cloudKey WHERE deviceId = ?"), arguments: [deviceId]) }
    }
}

extension StateDatabase {
    /// Replaces every cloud key's sealed form in one transaction (KEK rotation).
    public func resealCloudKeys(_ transform: (String) throws -> String) throws -> Int {
        try write { db in
            var count = 0
            for var record in try CloudKeyRecord.fetchAll(db) {
                let resealed = try transform(record.sealedKey)
                if resealed != record.sealedKey {
                    record.sealedKey = resealed
                    try record.update(db)
                    count += 1
                }
            }
            return count
        }
    }
}
