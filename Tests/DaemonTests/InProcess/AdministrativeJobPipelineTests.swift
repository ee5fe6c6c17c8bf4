import Audit
import CertificateAuthority
import CertificateLifecycle
import Crypto
import Daemon
import DeviceSimulation
import Foundation
import GRDB
import JobEngine
import Jobs
import SCA
import SigndCore
import StateStore
import SwiftASN1
import TestSupport
import X509
import XCTest

/// Administrative jobs through the spool (issue 6) in-process (was AdministrativeJobTests
/// through the daemon): `device` (register, block, unblock, remove), `enroll` and `revoke`, with
/// their effect checked through sign jobs, the device registry, the certificate records, the
/// CA's CRL (openssl) and the audit database; and their crash windows. Process-level still:
/// the happy path with CSR enrollment and openssl, the EJBCA outage, the device leases (the
/// lease wait sleeps for real, AdministrativeRunner.applyStep) and the CLI commands.
final class AdministrativeJobPipelineTests: PipelineTestCase {

    // MARK: - Helpers

    /// Drops an administrative manifest (version 1 added) as incoming/<jobId>.json and looks at it.
    @discardableResult
    func runAdmin(_ fields: [String: Any]) async throws -> IntakeResult {
        let name = "\(fields["jobId"] as? String ?? "x").json"
        try dropAdmin(fields)
        return await h.intake(name)
    }

    func dropAdmin(_ fields: [String: Any]) throws {
        var m = fields
        m["version"] = 1
        try h.drop(object: m, as: "\(m["jobId"] as? String ?? "x").json")
    }

    /// work/<job>.manifest.json (version 1 added), as the claim left it.
    func placeInWork(_ fields: [String: Any]) throws {
        var m = fields
        m["version"] = 1
        try JSONSerialization.data(withJSONObject: m).write(to: URL(fileURLWithPath: h.layout.workFiles(m["jobId"] as? String ?? "x").manifest))
    }

    /// The job row as the claim wrote it, a minute before what the test then does by hand.
    func claimedJobRow(_ job: String, device: String) throws {
        try h.insertJob(job, state: .claimed, documentSha256: String(repeating: "0", count: 64)) { $0.deviceId = device }
        h.clock.advance(by: 60)
    }

    func sql(_ statement: String) throws {
        try h.database.writer.write { try $0.execute(sql: statement) }
    }

    func deviceStatus(_ id: String) throws -> DeviceStatus? { try h.database.device(id)?.status }

    func certificates(_ device: String) throws -> [CertificateRecord] { try h.database.certificates(deviceId: device) }

    /// The embedded CA's current CRL through `openssl crl -text`.
    func crlText() throws -> String {
        let path = h.root + "/crl-\(UUID().uuidString).pem"
        try Data(try h.ca.currentCRLPEM(now: h.clock.now).utf8).write(to: URL(fileURLWithPath: path))
        let out = try ProcessRunner.run("openssl", ["crl", "-in", path, "-noout", "-text"], timeout: 30)
        guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "openssl crl")) }
        return out.stdout
    }

    func deniedCode(_ job: String) throws -> String? { try h.auditCodes(job: job, type: "job.denied").first }

    /// job.received, the service event and job.delivered exactly once each, no job.failed, all
    /// with the job's user and device (and serial for certificate events).
    func assertAudited(_ job: String, service: String, user: String, device: String, serial: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let events = try h.auditEvents(job: job)
        let types = events.map(\.type)
        for step in ["job.received", service, "job.delivered"] {
            XCTAssertEqual(types.filter { $0 == step }.count, 1, "\(job): \(step) once in \(types)", file: file, line: line)
        }
        let order = ["job.received", service, "job.delivered"].compactMap { types.firstIndex(of: $0) }
        XCTAssertEqual(order, order.sorted(), "\(job): steps out of order: \(types)", file: file, line: line)
        XCTAssertFalse(types.contains("job.failed"), "\(job): \(types)", file: file, line: line)
        for e in events {
            XCTAssertEqual(e.userId, user, "\(job) \(e.type)", file: file, line: line)
            XCTAssertEqual(e.deviceId, device, "\(job) \(e.type)", file: file, line: line)
        }
        if let serial {
            XCTAssertEqual(events.first { $0.type == service }?.certificateSerial, serial, "\(job)", file: file, line: line)
        }
    }

    // MARK: - Happy paths

    /// A sign job of `phone` (not the harness's device) dropped and looked at; cloud mode is
    /// approved by the phone, external mode waits for its signature.
    func submit(_ job: String, phone: DeviceSimulator, user: String, device: String, mode: SigningMode) async throws {
        let pdf = try h.samplePDFCopy(named: "\(job).pdf")
        let manifest = try phone.manifest(pdfPath: pdf, jobId: job, userId: user, deviceId: device, level: .bb, mode: mode, now: h.clock.now)
        try h.drop(file: pdf, as: "\(job).pdf")
        try h.drop(manifest: manifest, as: "\(job).json")
        let intake = await h.intake("\(job).json")
        XCTAssertEqual(intake, .processed(jobId: job))
    }

    func openssl(_ args: [String]) throws -> String {
        let out = try ProcessRunner.run("openssl", args, timeout: 30)
        guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "openssl")) }
        return out.stdout
    }

    /// A new phone: registered by a device job with a fresh key, enrolled from its own CSR (an
    /// external-mode sign job then succeeds with the phone's key), re-enrolled with a cloud key
    /// (a cloud-mode sign job then succeeds).
    func testRegisterEnrollWithCSRAndCloudKeyThenSign() async throws {
        let phone = DeviceSimulator()
        let device = "bob-phone"

        // Register.
        try await runAdmin(["type": "device", "jobId": "reg-bob", "action": "register", "userId": "bob", "deviceId": device,
                            "publicKey": phone.publicKeyPEM])
        XCTAssertEqual(h.outcome(of: "reg-bob"), .done, h.spoolListing())
        let registered = try h.resultJSON(of: "reg-bob")
        XCTAssertEqual(registered["status"] as? String, "registered")
        XCTAssertEqual(registered["jobId"] as? String, "reg-bob")
        XCTAssertEqual(registered["deviceId"] as? String, device)
        let listed = try XCTUnwrap(try h.database.device(device))
        XCTAssertEqual(listed.status, .active)
        XCTAssertEqual(listed.userId, "bob")
        let phoneKeySha256 = Hex.encode(Array(SHA256.hash(data: phone.publicKey.derRepresentation)))
        XCTAssertEqual(listed.publicKeyDER.map { Hex.encode(Array(SHA256.hash(data: $0))) }, phoneKeySha256, "the registered key is the phone's key")
        XCTAssertEqual(registered["publicKeySha256"] as? String, phoneKeySha256)
        XCTAssertTrue(h.exists(h.archive + "/reg-bob.json"), "the manifest is archived: \(h.entries(h.archive))")

        // Enroll from the phone's CSR.
        try await runAdmin(["type": "enroll", "jobId": "enroll-csr", "userId": "bob", "deviceId": device, "key": "csr",
                            "csr": try phone.csrPEM(subject: "CN=Bob,serialNumber=\(device),C=CZ")])
        XCTAssertEqual(h.outcome(of: "enroll-csr"), .done, h.spoolListing())
        let enrolled = try h.resultJSON(of: "enroll-csr")
        XCTAssertEqual(enrolled["status"] as? String, "enrolled")
        let csrSerial = try XCTUnwrap(enrolled["certificateSerial"] as? String)
        let certPath = h.root + "/enroll-csr.pem"
        try Data((enrolled["certificatePEM"] as? String ?? "").utf8).write(to: URL(fileURLWithPath: certPath))
        let chainPath = h.root + "/enroll-csr-chain.pem"
        try Data((enrolled["chainPEM"] as? String ?? "").utf8).write(to: URL(fileURLWithPath: chainPath))
        let rootPath = h.root + "/ca-root.pem"
        try Data(try XCTUnwrap(h.caChain.last).serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: rootPath))
        let phoneKeyPath = h.root + "/bob-phone-public.pem"
        try Data(phone.publicKeyPEM.utf8).write(to: URL(fileURLWithPath: phoneKeyPath))
        // openssl: the certificate chains to the CA root, carries the phone's key and the announced serial.
        _ = try openssl(["verify", "-CAfile", rootPath, "-untrusted", chainPath, certPath])
        XCTAssertEqual(try openssl(["x509", "-in", certPath, "-noout", "-pubkey"]), try openssl(["pkey", "-pubin", "-in", phoneKeyPath]),
                       "the certificate certifies the phone's own key")
        XCTAssertEqual(try openssl(["x509", "-in", certPath, "-noout", "-serial"]).trimmingCharacters(in: .whitespacesAndNewlines).lowercased(),
                       "serial=" + csrSerial)
        XCTAssertNotNil((enrolled["notAfter"] as? String).flatMap(ISO8601DateFormatter().date(from:)), "\(enrolled)")
        XCTAssertEqual(try certificates(device).map(\.serial), [csrSerial])

        // External-mode sign job with the phone's key.
        try await submit("sign-external", phone: phone, user: "bob", device: device, mode: .external)
        XCTAssertEqual(h.pendingPaths, ["sign-external.dtbs.json"], h.spoolListing())
        try await h.deliverSignature(try h.signPending("sign-external", by: phone), job: "sign-external")
        XCTAssertEqual(h.outcome(of: "sign-external"), .done, h.spoolListing())
        try await h.assertVerifies(h.done + "/sign-external.pdf", level: "B-B")

        // Re-enroll with a cloud key (renew): the CSR certificate is superseded.
        try await runAdmin(["type": "enroll", "jobId": "enroll-cloud", "userId": "bob", "deviceId": device, "key": "cloud",
                            "subject": "CN=Bob,serialNumber=\(device),C=CZ", "renew": true])
        XCTAssertEqual(h.outcome(of: "enroll-cloud"), .done, h.spoolListing())
        let cloud = try h.resultJSON(of: "enroll-cloud")
        let cloudSerial = try XCTUnwrap(cloud["certificateSerial"] as? String)
        XCTAssertNotEqual(cloudSerial, csrSerial)
        XCTAssertEqual(cloud["supersededSerial"] as? String, csrSerial)
        let statuses = Dictionary(uniqueKeysWithValues: try certificates(device).map { ($0.serial, $0.status) })
        XCTAssertEqual(statuses, [csrSerial: .superseded, cloudSerial: .active])

        // Cloud-mode sign job, authorized by the phone, signed with the cloud key.
        try await submit("sign-cloud", phone: phone, user: "bob", device: device, mode: .cloud)
        XCTAssertEqual(h.outcome(of: "sign-cloud"), .done, h.spoolListing())
        try await h.assertVerifies(h.done + "/sign-cloud.pdf", level: "B-B")
        XCTAssertEqual(try h.auditEvents(job: "sign-cloud", type: "job.signed").first?.certificateSerial, cloudSerial)

        try assertAudited("reg-bob", service: "device.registered", user: "bob", device: device)
        try assertAudited("enroll-csr", service: "certificate.enrolled", user: "bob", device: device, serial: csrSerial)
        try assertAudited("enroll-cloud", service: "certificate.enrolled", user: "bob", device: device, serial: cloudSerial)
        XCTAssertEqual(h.entries(h.work), [])
        XCTAssertEqual(h.entries(h.incoming), [])
        XCTAssertEqual(h.entries(h.failed), [])
        XCTAssertNil(try h.audit.verify().firstBad.map { "\($0.seq): \($0.reason)" }, "the audit chain is intact")
    }

    /// The device's lease lives in the state database: a job waits for a command (or another
    /// spool's job) that holds it (polling for 10 s of the pipeline's clock, then a retry with
    /// `device.busy` that uses up no retry), and runs once it is released; its own lease ends
    /// with its final state. (Ported from the process-level test, which waited 10 s of wall time.)
    func testJobWaitsForTheDeviceLeaseOfACommand() async throws {
        try sql("""
            INSERT INTO deviceLease (deviceId, holder, kind, acquiredAt, expiresAt)
            VALUES ('\(h.deviceId)', 'cli-enroll:held', 'command', '\(h.clock.now.formatted(.iso8601))', '\(h.clock.now.addingTimeInterval(86_400).formatted(.iso8601))')
            """)
        try await runAdmin(["type": "device", "jobId": "busy-block", "action": "block", "userId": h.user, "deviceId": h.deviceId])
        var row = try h.job("busy-block")
        XCTAssertEqual(row.errorCode, "device.busy", h.spoolListing())
        XCTAssertEqual(row.attempts, 0, "waiting for a busy device uses up no retry")
        XCTAssertNil(h.outcome(of: "busy-block"), "not applied while the command holds the device")
        XCTAssertEqual(try deviceStatus(h.deviceId), .active)
        // Still held at the retry: waits again, still without using up a retry.
        h.clock.advance(by: 60)
        for id in h.pipeline.dueRetries() { await h.pipeline.process(jobId: id) }
        row = try h.job("busy-block")
        XCTAssertEqual(row.attempts, 0)
        XCTAssertNil(h.outcome(of: "busy-block"))

        try sql("DELETE FROM deviceLease WHERE holder = 'cli-enroll:held'")
        h.clock.advance(by: 60)
        for id in h.pipeline.dueRetries() { await h.pipeline.process(jobId: id) }
        XCTAssertEqual(h.outcome(of: "busy-block"), .done, h.spoolListing())
        XCTAssertEqual(try deviceStatus(h.deviceId), .blocked)
        let leases = try await h.database.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM deviceLease") }
        XCTAssertEqual(leases, 0, "the delivered job's lease ended with it")
    }

    /// block → sign refused (sca.deviceBlocked in the audit log); unblock → sign works; remove →
    /// the certificate is on the CA's CRL, the device is REMOVED and sign is refused.
    func testBlockUnblockAndRemoveDevice() async throws {
        let serial = try XCTUnwrap(try certificates(h.deviceId).first?.serial)

        try await runAdmin(["type": "device", "jobId": "block-1", "action": "block", "userId": h.user, "deviceId": h.deviceId])
        XCTAssertEqual(h.outcome(of: "block-1"), .done, h.spoolListing())
        XCTAssertEqual(try h.resultJSON(of: "block-1")["status"] as? String, "blocked")
        XCTAssertEqual(try deviceStatus(h.deviceId), .blocked)
        try await h.submit("sign-blocked")
        XCTAssertEqual(h.outcome(of: "sign-blocked"), .failed(code: "sca.denied"))
        XCTAssertEqual(try deniedCode("sign-blocked"), "sca.deviceBlocked")

        try await runAdmin(["type": "device", "jobId": "unblock-1", "action": "unblock", "userId": h.user, "deviceId": h.deviceId])
        XCTAssertEqual(h.outcome(of: "unblock-1"), .done, h.spoolListing())
        XCTAssertEqual(try h.resultJSON(of: "unblock-1")["status"] as? String, "unblocked")
        try await h.submit("sign-unblocked")
        XCTAssertEqual(h.outcome(of: "sign-unblocked"), .done, h.spoolListing())

        try await runAdmin(["type": "device", "jobId": "remove-1", "action": "remove", "userId": h.user, "deviceId": h.deviceId])
        XCTAssertEqual(h.outcome(of: "remove-1"), .done, h.spoolListing())
        let removed = try h.resultJSON(of: "remove-1")
        XCTAssertEqual(removed["status"] as? String, "removed")
        XCTAssertEqual(removed["revokedSerials"] as? [String], [serial])
        XCTAssertEqual(try deviceStatus(h.deviceId), .removed)
        XCTAssertEqual(try certificates(h.deviceId).first?.status, .revoked)
        let crl = try crlText()
        XCTAssertTrue(crl.contains(serial.uppercased()), "the CRL lists \(serial):\n\(crl)")
        XCTAssertTrue(crl.contains("Cessation Of Operation"), crl)
        try await h.submit("sign-removed")
        XCTAssertEqual(h.outcome(of: "sign-removed"), .failed(code: "sca.denied"))
        XCTAssertEqual(try deniedCode("sign-removed"), "sca.deviceRemoved")

        try assertAudited("block-1", service: "device.blocked", user: h.user, device: h.deviceId)
        try assertAudited("unblock-1", service: "device.unblocked", user: h.user, device: h.deviceId)
        try assertAudited("remove-1", service: "device.removed", user: h.user, device: h.deviceId)
        XCTAssertEqual(try h.auditEvents(job: "remove-1", type: "certificate.revoked").map(\.certificateSerial), [serial])
    }

    /// Revoke by serial: the certificate records and the CRL show it, sign jobs fail; revoking
    /// it again is ca.alreadyRevoked; a device with nothing left to revoke is revoke.nothingToRevoke.
    func testRevokeBySerialThenSigningFails() async throws {
        let serial = try XCTUnwrap(try certificates(h.deviceId).first?.serial)
        try await h.submit("sign-before")
        XCTAssertEqual(h.outcome(of: "sign-before"), .done, h.spoolListing())

        // Serial as operators copy it from openssl: upper case with colons.
        let pretty = stride(from: 0, to: serial.count, by: 2).map { i -> String in
            let start = serial.index(serial.startIndex, offsetBy: i)
            return String(serial[start..<serial.index(start, offsetBy: min(2, serial.count - i))]).uppercased()
        }.joined(separator: ":")
        try await runAdmin(["type": "revoke", "jobId": "revoke-1", "serial": pretty, "reason": "keyCompromise"])
        XCTAssertEqual(h.outcome(of: "revoke-1"), .done, h.spoolListing())
        let result = try h.resultJSON(of: "revoke-1")
        XCTAssertEqual(result["status"] as? String, "revoked")
        XCTAssertEqual(result["serial"] as? String, serial)
        XCTAssertEqual(result["reason"] as? String, "keyCompromise")
        XCTAssertEqual(try certificates(h.deviceId).first?.status, .revoked)
        let crl = try crlText()
        XCTAssertTrue(crl.contains(serial.uppercased()), "the CRL lists \(serial):\n\(crl)")
        XCTAssertTrue(crl.contains("Key Compromise"), crl)

        try await h.submit("sign-after")
        XCTAssertEqual(h.outcome(of: "sign-after"), .failed(code: "certificate.none"))

        try await runAdmin(["type": "revoke", "jobId": "revoke-again", "serial": serial, "reason": "superseded"])
        XCTAssertEqual(h.outcome(of: "revoke-again"), .failed(code: "ca.alreadyRevoked"))
        try await runAdmin(["type": "revoke", "jobId": "revoke-device", "deviceId": h.deviceId, "reason": "superseded"])
        XCTAssertEqual(h.outcome(of: "revoke-device"), .failed(code: "revoke.nothingToRevoke"))

        try assertAudited("revoke-1", service: "certificate.revoked", user: h.user, device: h.deviceId, serial: serial)
        XCTAssertEqual(try h.auditEvents(job: "revoke-again", type: "certificate.revoked").count, 0)
        XCTAssertTrue(try h.auditEvents(job: "revoke-again").contains { $0.type == "job.failed" })
    }

    /// Revoke by device id: every unrevoked certificate of the device, with the given reason.
    func testRevokeByDeviceRevokesItsCertificates() async throws {
        let serial = try XCTUnwrap(try certificates(h.deviceId).first?.serial)
        try await runAdmin(["type": "revoke", "jobId": "revoke-dev", "deviceId": h.deviceId, "userId": h.user, "reason": "affiliationChanged"])
        XCTAssertEqual(h.outcome(of: "revoke-dev"), .done, h.spoolListing())
        XCTAssertEqual(try h.resultJSON(of: "revoke-dev")["revokedSerials"] as? [String], [serial])
        XCTAssertTrue(try crlText().contains("Affiliation Changed"))
        XCTAssertEqual(try deviceStatus(h.deviceId), .active, "revoking certificates does not remove the device")
    }

    // MARK: - Error paths

    /// Every refusal of an administrative job lands in failed/ with its code: the manifest
    /// beside an error report, a job.failed audit event and no service event.
    func testAdministrativeJobErrorsLandInFailedWithTheirCodes() async throws {
        let other = DeviceSimulator()
        let ownCSR = try h.device.csrPEM(subject: "CN=Alice,serialNumber=\(h.deviceId),C=CZ")
        // A blocked device of the user (device.notActive on enroll).
        try h.registerDevice("blocked-phone", publicKey: other.publicKey)
        _ = try DeviceRegistry(database: h.database).block(deviceId: "blocked-phone", now: h.clock.now)
        // A P-384 key (devices are P-256).
        let p384 = P384.Signing.PrivateKey().publicKey.pemRepresentation + "\n"

        var cases: [(job: String, code: String)] = []
        func job(_ id: String, _ code: String, _ fields: [String: Any]) throws {
            var m = fields
            m["jobId"] = id
            try dropAdmin(m)
            cases.append((id, code))
        }
        try job("block-ghost", "device.unknown", ["type": "device", "action": "block", "userId": h.user, "deviceId": "ghost"])
        try job("enroll-ghost", "device.unknown", ["type": "enroll", "userId": h.user, "deviceId": "ghost", "key": "cloud", "subject": "CN=Ghost"])
        try job("block-wronguser", "device.userMismatch", ["type": "device", "action": "block", "userId": "mallory", "deviceId": h.deviceId])
        try job("register-exists", "device.exists", ["type": "device", "action": "register", "userId": h.user, "deviceId": h.deviceId,
                                                     "publicKey": other.publicKeyPEM])
        try job("register-p384", "device.invalidKey", ["type": "device", "action": "register", "userId": h.user, "deviceId": "p384-phone",
                                                       "publicKey": p384])
        try job("enroll-exists", "enroll.exists", ["type": "enroll", "userId": h.user, "deviceId": h.deviceId, "key": "csr", "csr": ownCSR])
        try job("enroll-badcsr", "csr.malformed", ["type": "enroll", "userId": h.user, "deviceId": h.deviceId, "key": "csr", "renew": true,
                                                   "csr": "-----BEGIN CERTIFICATE REQUEST-----\nTm90IGEgQ1NSIGF0IGFsbA==\n-----END CERTIFICATE REQUEST-----\n"])
        try job("enroll-badsig", "csr.badSignature", ["type": "enroll", "userId": h.user, "deviceId": h.deviceId, "key": "csr", "renew": true,
                                                      "csr": try Self.tamperedSignature(ownCSR)])
        try job("enroll-otherkey", "csr.keyMismatch", ["type": "enroll", "userId": h.user, "deviceId": h.deviceId, "key": "csr", "renew": true,
                                                       "csr": try other.csrPEM(subject: "CN=Alice,serialNumber=\(h.deviceId),C=CZ")])
        try job("enroll-blocked", "device.notActive", ["type": "enroll", "userId": h.user, "deviceId": "blocked-phone", "key": "cloud",
                                                       "subject": "CN=Alice,C=CZ"])
        try job("enroll-noprofile", "ca.unknownProfile", ["type": "enroll", "userId": h.user, "deviceId": h.deviceId, "key": "cloud",
                                                          "subject": "CN=Alice,C=CZ", "profile": "gold", "renew": true])
        try job("enroll-tsaprofile", "enroll.profileNotAllowed", ["type": "enroll", "userId": h.user, "deviceId": h.deviceId, "key": "cloud",
                                                                  "subject": "CN=Alice", "profile": "tsa", "renew": true])
        try job("enroll-badsubject", "subject.invalid", ["type": "enroll", "userId": h.user, "deviceId": h.deviceId, "key": "cloud",
                                                         "subject": "no equals sign", "renew": true])
        try job("revoke-unknown", "ca.unknownCertificate", ["type": "revoke", "serial": "0123456789abcdef", "reason": "keyCompromise"])
        try job("revoke-ghost", "device.unknown", ["type": "revoke", "deviceId": "ghost", "reason": "keyCompromise"])
        try job("revoke-wronguser", "certificate.userMismatch", ["type": "revoke", "deviceId": h.deviceId, "userId": "mallory", "reason": "keyCompromise"])

        await h.scan()
        XCTAssertEqual(cases.filter { h.outcome(of: $0.job) == nil }.map(\.job), [], "no outcome\n\(h.spoolListing())")
        // The refused enrollments (bad CSRs, unknown profile, ...) left the device signing as before.
        try await h.submit("sign-after-errors")
        XCTAssertEqual(h.outcome(of: "sign-after-errors"), .done, h.spoolListing())

        let failedEvents = try h.auditEvents(type: "job.failed")
        for c in cases {
            XCTAssertEqual(h.outcome(of: c.job), .failed(code: c.code), c.job)
            guard let report = try? h.errorReport(of: c.job) else { continue }
            XCTAssertEqual(report["jobId"] as? String, c.job)
            XCTAssertEqual(report["retryable"] as? Bool, false, "\(c.job): \(report)")
            XCTAssertFalse((report["message"] as? String ?? "").isEmpty)
            XCTAssertNotNil((report["at"] as? String).flatMap(ISO8601DateFormatter().date(from:)), "\(c.job): \(report)")
            XCTAssertTrue(h.exists(h.failed + "/\(c.job).json"), "\(c.job): the manifest is beside its report: \(h.entries(h.failed))")
            let events = try h.auditEvents(job: c.job).map(\.type)
            XCTAssertEqual(events.filter { $0 == "job.received" }.count, 1, "\(c.job): \(events)")
            XCTAssertTrue(failedEvents.contains { $0.jobId == c.job && PipelineHarness.details($0)["code"] == c.code }, "\(c.job): \(events)")
            XCTAssertFalse(events.contains { $0.hasPrefix("certificate.") || $0.hasPrefix("device.") || $0 == "job.delivered" },
                           "\(c.job): a refused job changes nothing: \(events)")
        }
        // Nothing was changed by the refused jobs.
        XCTAssertEqual(try certificates(h.deviceId).count, 1, "no certificate was issued or revoked")
        XCTAssertEqual(try certificates(h.deviceId).first?.status, .active)
        XCTAssertEqual(try deviceStatus(h.deviceId), .active)
        XCTAssertNil(try h.database.device("p384-phone"))
        XCTAssertEqual(h.entries(h.done), ["sign-after-errors.pdf", "sign-after-errors.result.json"])
        XCTAssertEqual(h.entries(h.work), [])
    }

    /// Malformed administrative manifests are refused at intake with the manifest codes, before
    /// a job exists (report named after the file, jobId null), and change nothing.
    func testMalformedAdministrativeManifestsGiveTheirCodes() async throws {
        let valid: [String: Any] = ["version": 1, "type": "device", "action": "block", "userId": h.user, "deviceId": h.deviceId]
        var cases: [(name: String, code: String)] = []
        func bad(_ name: String, _ code: String, _ mutate: (inout [String: Any]) -> Void) throws {
            var m = valid
            m["jobId"] = name
            mutate(&m)
            try h.drop(object: m, as: "\(name).json")
            cases.append((name, code))
        }
        try bad("m-nouser", "manifest.missingField") { $0["userId"] = nil }
        try bad("m-action", "manifest.invalidValue") { $0["action"] = "wipe" }
        try bad("m-wrongtype", "manifest.wrongType") { $0["deviceId"] = 42 }
        try bad("m-badid", "manifest.invalidValue") { $0["deviceId"] = "../etc" }
        try bad("m-version", "manifest.unsupportedVersion") { $0["version"] = 2 }
        try bad("m-type", "manifest.unsupportedType") { $0["type"] = "wipe" }
        try bad("m-keyonblock", "manifest.invalidValue") { $0["publicKey"] = "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n" }
        try bad("m-register-nokey", "manifest.missingField") { $0["action"] = "register" }
        try bad("m-enroll-nocsr", "manifest.missingField") { $0 = ["version": 1, "type": "enroll", "jobId": "m-enroll-nocsr", "userId": "u", "deviceId": "d", "key": "csr"] }
        try bad("m-enroll-key", "manifest.invalidValue") { $0 = ["version": 1, "type": "enroll", "jobId": "m-enroll-key", "userId": "u", "deviceId": "d", "key": "hsm"] }
        try bad("m-enroll-nosubject", "manifest.missingField") { $0 = ["version": 1, "type": "enroll", "jobId": "m-enroll-nosubject", "userId": "u", "deviceId": "d", "key": "cloud"] }
        try bad("m-revoke-both", "manifest.invalidValue") {
            $0 = ["version": 1, "type": "revoke", "jobId": "m-revoke-both", "serial": "ab", "deviceId": "d", "reason": "keyCompromise"]
        }
        try bad("m-revoke-neither", "manifest.missingField") { $0 = ["version": 1, "type": "revoke", "jobId": "m-revoke-neither", "reason": "keyCompromise"] }
        try bad("m-revoke-reason", "manifest.invalidValue") { $0 = ["version": 1, "type": "revoke", "jobId": "m-revoke-reason", "serial": "ab", "reason": "because"] }
        try bad("m-revoke-noreason", "manifest.missingField") { $0 = ["version": 1, "type": "revoke", "jobId": "m-revoke-noreason", "serial": "ab"] }
        try bad("m-revoke-serial", "manifest.invalidValue") { $0 = ["version": 1, "type": "revoke", "jobId": "m-revoke-serial", "serial": "xyz", "reason": "keyCompromise"] }
        try bad("m-large", "manifest.tooLarge") { $0["padding"] = String(repeating: "x", count: 70 * 1024) }
        try h.drop(Data(#"{"version": 1, "type": "device", "jobId": "#.utf8), as: "m-json.json")
        cases.append(("m-json", "manifest.invalidJSON"))

        await h.scan()
        for c in cases {
            guard let report = try? h.errorReport(of: c.name) else {
                XCTFail("\(c.name): no report\n\(h.spoolListing())")
                continue
            }
            XCTAssertEqual(report["code"] as? String, c.code, "\(c.name): \(report)")
            XCTAssertNil(report["jobId"] as? String, "\(c.name): rejected before a job existed")
            XCTAssertTrue(h.exists(h.failed + "/\(c.name).json"), "\(c.name): the manifest is beside its report")
        }
        XCTAssertEqual(try deviceStatus(h.deviceId), .active, "no malformed block job was applied")
        XCTAssertEqual(h.entries(h.incoming), [])
        XCTAssertEqual(h.entries(h.work), [])
        XCTAssertEqual(h.entries(h.done), [])
    }

    /// A job id is processed once: the same id again (any type) is job.duplicate and is not applied.
    func testDuplicateJobIdIsRefusedAndNotApplied() async throws {
        try await runAdmin(["type": "device", "jobId": "dup-1", "action": "block", "userId": h.user, "deviceId": h.deviceId])
        XCTAssertEqual(h.outcome(of: "dup-1"), .done, h.spoolListing())
        _ = try DeviceRegistry(database: h.database).unblock(deviceId: h.deviceId, now: h.clock.now)  // `signd device unblock`

        // Same id again: refused, so the device stays ACTIVE.
        let again = try await runAdmin(["type": "device", "jobId": "dup-1", "action": "block", "userId": h.user, "deviceId": h.deviceId])
        XCTAssertEqual(again, .rejected(code: "job.duplicate"))
        let report = try h.jsonObject(h.failed + "/dup-1.duplicate.error.json")
        XCTAssertEqual(report["code"] as? String, "job.duplicate")
        XCTAssertEqual(report["jobId"] as? String, "dup-1")
        XCTAssertTrue((report["message"] as? String ?? "").contains("done/dup-1.result.json"), "names the first result: \(report)")
        XCTAssertTrue(h.exists(h.failed + "/dup-1.duplicate.json"))
        XCTAssertEqual(try deviceStatus(h.deviceId), .active, "a duplicate is not applied")

        // A sign job may not reuse an administrative job's id either.
        try await h.submit("dup-1")
        XCTAssertEqual(try h.jsonObject(h.failed + "/dup-1.duplicate.1.error.json")["code"] as? String, "job.duplicate", h.spoolListing())
        XCTAssertEqual(h.entries(h.done), ["dup-1.result.json"], "the first result is untouched and nothing was signed")
        XCTAssertEqual(try h.auditEvents(job: "dup-1", type: "device.blocked").count, 1, "applied once")
        let types = try h.auditTypes(job: "dup-1")
        XCTAssertFalse(types.contains("job.failed"), "the delivered job's trail is not marked failed by duplicates: \(types)")
        XCTAssertEqual(types.filter { $0 == "input.rejected" }.count, 2, "each duplicate is audited as a rejected input: \(types)")
    }

    // MARK: - Crash windows

    /// A crash between the claim's rename and its database row: the manifest found in work/ at
    /// start is claimed and applied once.
    func testAdministrativeJobLeftInWorkIsRecoveredAtStart() async throws {
        try placeInWork(["type": "device", "jobId": "crash-block", "action": "block", "userId": h.user, "deviceId": h.deviceId])
        try await h.restart()
        XCTAssertEqual(h.outcome(of: "crash-block"), .done, h.spoolListing())
        XCTAssertEqual(try deviceStatus(h.deviceId), .blocked)
        XCTAssertEqual(h.entries(h.work), [])
        XCTAssertTrue(h.exists(h.archive + "/crash-block.json"))
        let received = try h.auditEvents(job: "crash-block", type: "job.received")
        XCTAssertEqual(received.count, 1)
        XCTAssertEqual(received.first.map { PipelineHarness.details($0)["recovered"] }, "true")
        try assertAudited("crash-block", service: "device.blocked", user: h.user, device: h.deviceId)
        XCTAssertEqual(try h.job("crash-block").state, .delivered)
    }

    /// Killed after `device remove` revoked and marked the certificate, before its
    /// `certificate.revoked` event: the resumed job records it and reports it.
    func testDeviceRemoveKilledBeforeRevocationEventRecordsItOnResume() async throws {
        let serial = try XCTUnwrap(try certificates(h.deviceId).first?.serial)
        try claimedJobRow("remove-crash", device: h.deviceId)
        // The removal's effect without any audit event (DeviceRemoval records none itself).
        _ = try await DeviceRemoval(database: h.database, certificateAuthority: h.ca).remove(deviceId: h.deviceId, now: h.clock.now)
        XCTAssertEqual(try certificates(h.deviceId).first?.status, .revoked)
        try sql("UPDATE certificate SET revokedByJob = 'remove-crash' WHERE serial = '\(serial)'")  // as the job marks it
        try placeInWork(["type": "device", "jobId": "remove-crash", "action": "remove", "userId": h.user, "deviceId": h.deviceId])

        try await h.restart()
        XCTAssertEqual(h.outcome(of: "remove-crash"), .done, h.spoolListing())
        XCTAssertEqual(try h.resultJSON(of: "remove-crash")["revokedSerials"] as? [String], [serial])
        XCTAssertEqual(try h.auditEvents(job: "remove-crash", type: "certificate.revoked").map(\.certificateSerial), [serial])
        try assertAudited("remove-crash", service: "device.removed", user: h.user, device: h.deviceId)
    }

    /// Killed after a revoke by serial recorded its event, before the job was delivered: the
    /// resumed job does not record `certificate.revoked` a second time.
    func testRevokeBySerialResumedAfterItsEventRecordsItOnce() async throws {
        let serial = try XCTUnwrap(try certificates(h.deviceId).first?.serial)
        try await runAdmin(["type": "revoke", "jobId": "revoke-twice", "serial": serial, "reason": "keyCompromise"])
        XCTAssertEqual(h.outcome(of: "revoke-twice"), .done, h.spoolListing())
        // Roll back to: applied and recorded, manifest still in work/, state claimed.
        try FileManager.default.removeItem(atPath: h.done + "/revoke-twice.result.json")
        try FileManager.default.moveItem(atPath: h.archive + "/revoke-twice.json", toPath: h.layout.workFiles("revoke-twice").manifest)
        try sql("UPDATE job SET state = 'claimed', pendingAction = 'apply', resultPath = NULL WHERE jobId = 'revoke-twice'")

        try await h.restart()
        XCTAssertEqual(h.outcome(of: "revoke-twice"), .done, h.spoolListing())
        XCTAssertEqual(try h.resultJSON(of: "revoke-twice")["serial"] as? String, serial)
        XCTAssertEqual(try h.auditEvents(job: "revoke-twice", type: "certificate.revoked").count, 1)
    }

    /// Killed while failing a job, after its error report was written and before the manifest
    /// left work/: the restart finishes the failure with the recorded code instead of applying
    /// the job again (here it would now succeed).
    func testFailureKilledAfterErrorReportKeepsItsCode() async throws {
        try h.registerDevice("fail-phone", publicKey: DeviceSimulator().publicKey)
        try claimedJobRow("fail-crash", device: "fail-phone")
        try placeInWork(["type": "enroll", "jobId": "fail-crash", "userId": h.user, "deviceId": "fail-phone", "key": "cloud",
                         "subject": "CN=Fail,serialNumber=fail-phone,C=CZ"])
        let report: [String: Any] = ["jobId": "fail-crash", "code": "ca.unavailable", "message": "EJBCA did not answer", "retryable": true,
                                     "at": ISO8601DateFormatter().string(from: h.clock.now)]
        try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: h.failed + "/fail-crash.error.json"))

        try await h.restart()
        XCTAssertEqual(try h.job("fail-crash").state, .failed, h.spoolListing())
        XCTAssertEqual(try h.errorReport(of: "fail-crash")["code"] as? String, "ca.unavailable")
        XCTAssertFalse(h.exists(h.done + "/fail-crash.result.json"), "the failed job was applied again: \(h.spoolListing())")
        XCTAssertTrue(h.exists(h.failed + "/fail-crash.json"))
        XCTAssertEqual(h.entries(h.work), [])
        XCTAssertEqual(try certificates("fail-phone").count, 0, "nothing was issued")
        XCTAssertEqual(try h.auditCodes(job: "fail-crash", type: "job.failed"), ["ca.unavailable"])
    }

    /// Killed while failing a job, after `job.failed` was recorded and before the state said so:
    /// the restart finishes it without a second `job.failed`.
    func testFailureKilledBeforeStateChangeIsAuditedOnce() async throws {
        try await runAdmin(["type": "enroll", "jobId": "fail-once", "userId": h.user, "deviceId": h.deviceId, "key": "cloud",
                            "subject": "CN=Alice", "profile": "tsa", "renew": true])
        XCTAssertEqual(h.outcome(of: "fail-once"), .failed(code: "enroll.profileNotAllowed"), h.spoolListing())
        try sql("UPDATE job SET state = 'claimed', pendingAction = 'fail', resultPath = NULL WHERE jobId = 'fail-once'")

        try await h.restart()
        XCTAssertEqual(try h.job("fail-once").state, .failed, h.spoolListing())
        XCTAssertEqual(try h.errorReport(of: "fail-once")["code"] as? String, "enroll.profileNotAllowed")
        XCTAssertEqual(try h.auditEvents(job: "fail-once", type: "job.failed").count, 1)
    }

    /// `signd enroll --cloud` (no renew) without its audit event, as when a job is killed
    /// between the change and its record: the certificate issued under a command's operation id.
    func enrollByCommandWithoutAudit(device: String, subject: String) async throws -> String {
        let enrollment = EnrollmentService(database: h.database, ca: h.ca, kek: try KeyEncryptionKey.load(dataDirectory: h.dataDir, environment: [:]),
                                           clock: h.clock.function)
        let issued = try await enrollment.enrollCloud(userId: h.user, deviceId: device, subject: try SubjectName.parse(subject), profile: "default",
                                                      operation: "enroll:\(UUID().uuidString)", replacing: .none)
        return Hex.encode(issued.certificate.serialNumber.bytes)
    }

    /// The same for a revoke job by device id (`signd ca revoke` without its audit event).
    func testRevokeByDeviceKilledBeforeRevocationEventRecordsItOnResume() async throws {
        let serial = try XCTUnwrap(try certificates(h.deviceId).first?.serial)
        try claimedJobRow("revoke-crash", device: h.deviceId)
        // (The reason's type is PKIStructures', not a dependency of this target: decoded from its name.)
        try await h.ca.revoke(serialHex: serial, reason: try Self.decoded(#""keyCompromise""#), at: h.clock.now)
        try h.database.markRevoked(serial: serial, reason: "keyCompromise", at: h.clock.now, byJob: "ca-revoke:test")
        try sql("UPDATE certificate SET revokedByJob = 'revoke-crash' WHERE serial = '\(serial)'")  // as the job marks it
        try placeInWork(["type": "revoke", "jobId": "revoke-crash", "deviceId": h.deviceId, "userId": h.user, "reason": "keyCompromise"])

        try await h.restart()
        XCTAssertEqual(h.outcome(of: "revoke-crash"), .done, h.spoolListing())
        XCTAssertEqual(try h.resultJSON(of: "revoke-crash")["revokedSerials"] as? [String], [serial])
        try assertAudited("revoke-crash", service: "certificate.revoked", user: h.user, device: h.deviceId, serial: serial)
    }

    /// Killed after the certificate was issued (state database) and before `certificate.enrolled`
    /// was recorded: the resumed job reports that certificate and records the event once.
    func testEnrollKilledBeforeItsAuditEventRecordsItOnResume() async throws {
        try h.registerDevice("crash-phone", publicKey: DeviceSimulator().publicKey)
        try claimedJobRow("enroll-crash", device: "crash-phone")
        let serial = try await enrollByCommandWithoutAudit(device: "crash-phone", subject: "CN=Crash,serialNumber=crash-phone,C=CZ")
        XCTAssertEqual(try certificates("crash-phone").map(\.serial), [serial])
        // As the job stores it: with its job id (the command's own certificate carries the
        // command's operation id, and a job never takes another's work for its own).
        try sql("UPDATE certificate SET issuedByJob = 'enroll-crash' WHERE serial = '\(serial)'")
        try placeInWork(["type": "enroll", "jobId": "enroll-crash", "userId": h.user, "deviceId": "crash-phone", "key": "cloud",
                         "subject": "CN=Crash,serialNumber=crash-phone,C=CZ"])

        try await h.restart()
        XCTAssertEqual(h.outcome(of: "enroll-crash"), .done, h.spoolListing())
        XCTAssertEqual(try h.resultJSON(of: "enroll-crash")["certificateSerial"] as? String, serial)
        XCTAssertEqual(try certificates("crash-phone").count, 1, "not issued twice")
        try assertAudited("enroll-crash", service: "certificate.enrolled", user: h.user, device: "crash-phone", serial: serial)
    }

    /// A job resumed after a crash does not take a certificate another command issued while it
    /// was down for its own, even with that command's audit event lost: it finds its own work by
    /// its job id on the certificate, so here nothing, and without renew it is enroll.exists.
    func testResumedEnrollDoesNotTakeAnotherCommandsCertificate() async throws {
        try h.registerDevice("other-cmd-phone", publicKey: DeviceSimulator().publicKey)
        try claimedJobRow("enroll-notmine", device: "other-cmd-phone")
        _ = try await enrollByCommandWithoutAudit(device: "other-cmd-phone", subject: "CN=Other,serialNumber=other-cmd-phone,C=CZ")
        try placeInWork(["type": "enroll", "jobId": "enroll-notmine", "userId": h.user, "deviceId": "other-cmd-phone", "key": "cloud",
                         "subject": "CN=Other,serialNumber=other-cmd-phone,C=CZ"])

        try await h.restart()
        XCTAssertEqual(h.outcome(of: "enroll-notmine"), .failed(code: "enroll.exists"), h.spoolListing())
        XCTAssertEqual(try certificates("other-cmd-phone").count, 1)
        XCTAssertEqual(try h.auditEvents(job: "enroll-notmine", type: "certificate.enrolled").count, 0)
    }

    // MARK: - Concurrency

    /// Two enroll jobs for one device (no renew) looked at by several workers at once.
    /// Administrative jobs of one device run one at a time, so exactly one certificate is issued
    /// and the other job is enroll.exists.
    func testConcurrentEnrollJobsForOneDeviceIssueOneCertificate() async throws {
        var names: [String] = []
        for n in 0..<3 {
            try h.registerDevice("race-phone-\(n)", publicKey: DeviceSimulator().publicKey)
            for job in ["race-\(n)-a", "race-\(n)-b"] {
                try dropAdmin(["type": "enroll", "jobId": job, "userId": h.user, "deviceId": "race-phone-\(n)", "key": "cloud",
                               "subject": "CN=Race \(n),serialNumber=race-phone-\(n),C=CZ"])
                names.append(job)
            }
        }
        let pipeline = h.pipeline
        await withTaskGroup(of: Void.self) { group in
            for job in names { group.addTask { _ = await pipeline.intake(manifestName: "\(job).json") } }
        }
        for n in 0..<3 {
            let outcomes = ["race-\(n)-a", "race-\(n)-b"].map { h.outcome(of: $0) }
            XCTAssertEqual(outcomes.filter { $0 == .done }.count, 1, "phone \(n): \(outcomes)\n\(h.spoolListing())")
            XCTAssertEqual(outcomes.filter { $0 == .failed(code: "enroll.exists") }.count, 1, "phone \(n): \(outcomes)")
            XCTAssertEqual(try certificates("race-phone-\(n)").count, 1, "race-phone-\(n): one certificate, not two")
        }
        XCTAssertEqual(try h.auditEvents(type: "certificate.enrolled").filter { ($0.jobId ?? "").hasPrefix("race-") }.count, 3)
    }

    static func decoded<T: Decodable>(_ json: String) throws -> T { try JSONDecoder().decode(T.self, from: Data(json.utf8)) }

    /// The PEM CSR with the last byte of its signature changed (the structure stays valid).
    static func tamperedSignature(_ pem: String) throws -> String {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard var der = Data(base64Encoded: body), !der.isEmpty else { throw HarnessError("not a PEM CSR: \(pem)") }
        der[der.count - 1] ^= 0x01
        let b64 = der.base64EncodedString()
        let lines = stride(from: 0, to: b64.count, by: 64).map { i -> String in
            let start = b64.index(b64.startIndex, offsetBy: i)
            return String(b64[start..<b64.index(start, offsetBy: min(64, b64.count - i))])
        }
        return "-----BEGIN CERTIFICATE REQUEST-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE REQUEST-----\n"
    }
}
