#if canImport(Glibc)
import Glibc
#endif
import Audit
import Foundation
import TestSupport
import XCTest

/// Administrative jobs through the spool (issue 6): `device` (register, block, unblock, remove),
/// `enroll` (CSR or cloud key) and `revoke`, run by the real `signd run`, with their effect checked
/// through sign jobs, `signd certificates`, `signd device list`, the CA's CRL (openssl) and the
/// audit database.
final class AdministrativeJobTests: DaemonTestCase {

    // MARK: - Happy paths

    /// A new phone: registered by a device job with a fresh key, enrolled from its own CSR (an
    /// external-mode sign job then succeeds with the phone's key), re-enrolled with a cloud key
    /// (a cloud-mode sign job then succeeds).
    func testRegisterEnrollWithCSRAndCloudKeyThenSign() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let phone = try NewPhone(fixture: f, name: "bob-phone", user: "bob")

        // Register.
        try dropAdmin(["type": "device", "jobId": "reg-bob", "action": "register", "userId": "bob", "deviceId": phone.device,
                       "publicKey": phone.publicKeyPEM])
        XCTAssertEqual(try f.waitForOutcome(of: "reg-bob"), .done, f.logs)
        let registered = try f.resultJSON(of: "reg-bob")
        XCTAssertEqual(registered["status"] as? String, "registered")
        XCTAssertEqual(registered["jobId"] as? String, "reg-bob")
        XCTAssertEqual(registered["deviceId"] as? String, phone.device)
        let listed = try device(phone.device)
        XCTAssertEqual(listed["status"] as? String, "ACTIVE")
        XCTAssertEqual(listed["userId"] as? String, "bob")
        XCTAssertEqual(registered["publicKeySha256"] as? String, listed["publicKeySHA256"] as? String)
        XCTAssertEqual(listed["publicKeySHA256"] as? String, try phone.publicKeyDERSha256(), "the registered key is the phone's key")
        XCTAssertTrue(f.exists(f.archive + "/reg-bob.json"), "the manifest is archived: \(f.entries(f.archive))")

        // Enroll from the phone's CSR.
        try dropAdmin(["type": "enroll", "jobId": "enroll-csr", "userId": "bob", "deviceId": phone.device, "key": "csr",
                       "csr": try phone.csr(subject: "CN=Bob,serialNumber=\(phone.device),C=CZ")])
        XCTAssertEqual(try f.waitForOutcome(of: "enroll-csr"), .done, f.logs)
        let enrolled = try f.resultJSON(of: "enroll-csr")
        XCTAssertEqual(enrolled["status"] as? String, "enrolled")
        let csrSerial = try XCTUnwrap(enrolled["certificateSerial"] as? String)
        let certPath = f.root + "/enroll-csr.pem"
        try Data((enrolled["certificatePEM"] as? String ?? "").utf8).write(to: URL(fileURLWithPath: certPath))
        let chainPath = f.root + "/enroll-csr-chain.pem"
        try Data((enrolled["chainPEM"] as? String ?? "").utf8).write(to: URL(fileURLWithPath: chainPath))
        // openssl: the certificate chains to the CA root, carries the phone's key and the announced serial.
        let verify = try ProcessRunner.run("openssl", ["verify", "-CAfile", try f.caRootPath(), "-untrusted", chainPath, certPath], timeout: 30)
        XCTAssertEqual(verify.status, 0, ProcessRunner.describe(verify, "openssl verify"))
        let certKey = try ProcessRunner.run("openssl", ["x509", "-in", certPath, "-noout", "-pubkey"], timeout: 30)
        let phoneKey = try ProcessRunner.run("openssl", ["pkey", "-pubin", "-in", phone.publicKeyPath], timeout: 30)
        XCTAssertEqual(certKey.stdout, phoneKey.stdout, "the certificate certifies the phone's own key")
        let certSerial = try ProcessRunner.run("openssl", ["x509", "-in", certPath, "-noout", "-serial"], timeout: 30)
        XCTAssertEqual(certSerial.stdout.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(), "serial=" + csrSerial)
        XCTAssertNotNil((enrolled["notAfter"] as? String).flatMap(ISO8601DateFormatter().date(from:)), "\(enrolled)")
        XCTAssertEqual(try certificates(phone.device).map { $0["serial"] as? String }, [csrSerial])

        // External-mode sign job with the phone's key.
        let external = try submit(phone, mode: "external", job: "sign-external")
        _ = try f.waitForPending(external)
        let answer = try f.signPending(external, deviceDir: phone.dir)
        try f.dropSignature(Data(answer.text.utf8), job: external)
        XCTAssertEqual(try f.waitForOutcome(of: external), .done, "\(f.spoolListing())\n\(f.logs)")
        let externalVerify = try f.verify(f.done + "/\(external).pdf")
        XCTAssertEqual(externalVerify.status, 0, ProcessRunner.describe(externalVerify, "signd verify"))

        // Re-enroll with a cloud key (renew): the CSR certificate is superseded.
        try dropAdmin(["type": "enroll", "jobId": "enroll-cloud", "userId": "bob", "deviceId": phone.device, "key": "cloud",
                       "subject": "CN=Bob,serialNumber=\(phone.device),C=CZ", "renew": true])
        XCTAssertEqual(try f.waitForOutcome(of: "enroll-cloud"), .done, f.logs)
        let cloud = try f.resultJSON(of: "enroll-cloud")
        let cloudSerial = try XCTUnwrap(cloud["certificateSerial"] as? String)
        XCTAssertNotEqual(cloudSerial, csrSerial)
        XCTAssertEqual(cloud["supersededSerial"] as? String, csrSerial)
        let statuses = Dictionary(uniqueKeysWithValues: try certificates(phone.device).map { ($0["serial"] as? String ?? "", $0["status"] as? String ?? "") })
        XCTAssertEqual(statuses, [csrSerial: "superseded", cloudSerial: "active"])

        // Cloud-mode sign job, authorized by the phone, signed with the cloud key.
        let signed = try submit(phone, mode: "cloud", job: "sign-cloud")
        XCTAssertEqual(try f.waitForOutcome(of: signed), .done, "\(f.spoolListing())\n\(f.logs)")
        let cloudVerify = try f.verify(f.done + "/\(signed).pdf")
        XCTAssertEqual(cloudVerify.status, 0, ProcessRunner.describe(cloudVerify, "signd verify"))
        XCTAssertEqual(try f.auditEvents(job: signed, type: "job.signed").first?.certificateSerial, cloudSerial)

        XCTAssertEqual(f.stop(daemon), 0)
        try assertAudited("reg-bob", service: "device.registered", user: "bob", device: phone.device)
        try assertAudited("enroll-csr", service: "certificate.enrolled", user: "bob", device: phone.device, serial: csrSerial)
        try assertAudited("enroll-cloud", service: "certificate.enrolled", user: "bob", device: phone.device, serial: cloudSerial)
        XCTAssertEqual(f.entries(f.work), [])
        XCTAssertEqual(f.entries(f.incoming), [])
        XCTAssertEqual(f.entries(f.failed), [])
        let auditVerify = try f.signd(["audit", "verify", "--data-dir", f.dataDir])
        XCTAssertEqual(auditVerify.status, 0, ProcessRunner.describe(auditVerify, "audit verify"))
    }

    /// block → sign refused (sca.deviceBlocked in the audit log); unblock → sign works; remove →
    /// the certificate is on the CA's CRL, the device is REMOVED and sign is refused.
    func testBlockUnblockAndRemoveDevice() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let serial = try XCTUnwrap(try certificates(f.device).first?["serial"] as? String)

        try dropAdmin(["type": "device", "jobId": "block-1", "action": "block", "userId": f.user, "deviceId": f.device])
        XCTAssertEqual(try f.waitForOutcome(of: "block-1"), .done, f.logs)
        XCTAssertEqual(try f.resultJSON(of: "block-1")["status"] as? String, "blocked")
        XCTAssertEqual(try device(f.device)["status"] as? String, "BLOCKED")
        let whileBlocked = try f.submit(job: "sign-blocked")
        XCTAssertEqual(try f.waitForOutcome(of: whileBlocked), .failed(code: "sca.denied"))
        XCTAssertEqual(try f.auditEvents(job: whileBlocked, type: "job.denied").first.map { DaemonFixture.details($0)["code"] }, "sca.deviceBlocked")

        try dropAdmin(["type": "device", "jobId": "unblock-1", "action": "unblock", "userId": f.user, "deviceId": f.device])
        XCTAssertEqual(try f.waitForOutcome(of: "unblock-1"), .done, f.logs)
        XCTAssertEqual(try f.resultJSON(of: "unblock-1")["status"] as? String, "unblocked")
        let afterUnblock = try f.submit(job: "sign-unblocked")
        XCTAssertEqual(try f.waitForOutcome(of: afterUnblock), .done, f.logs)

        try dropAdmin(["type": "device", "jobId": "remove-1", "action": "remove", "userId": f.user, "deviceId": f.device])
        XCTAssertEqual(try f.waitForOutcome(of: "remove-1"), .done, f.logs)
        let removed = try f.resultJSON(of: "remove-1")
        XCTAssertEqual(removed["status"] as? String, "removed")
        XCTAssertEqual(removed["revokedSerials"] as? [String], [serial])
        XCTAssertEqual(try device(f.device)["status"] as? String, "REMOVED")
        XCTAssertEqual(try certificates(f.device).first?["status"] as? String, "revoked")
        let crl = try crlText()
        XCTAssertTrue(crl.contains(serial.uppercased()), "the CRL lists \(serial):\n\(crl)")
        XCTAssertTrue(crl.contains("Cessation Of Operation"), crl)
        let afterRemove = try f.submit(job: "sign-removed")
        XCTAssertEqual(try f.waitForOutcome(of: afterRemove), .failed(code: "sca.denied"))
        XCTAssertEqual(try f.auditEvents(job: afterRemove, type: "job.denied").first.map { DaemonFixture.details($0)["code"] }, "sca.deviceRemoved")

        XCTAssertEqual(f.stop(daemon), 0)
        try assertAudited("block-1", service: "device.blocked", user: f.user, device: f.device)
        try assertAudited("unblock-1", service: "device.unblocked", user: f.user, device: f.device)
        try assertAudited("remove-1", service: "device.removed", user: f.user, device: f.device)
        let revokedEvents = try f.auditEvents(job: "remove-1", type: "certificate.revoked")
        XCTAssertEqual(revokedEvents.map(\.certificateSerial), [serial])
    }

    /// Revoke by serial: `signd certificates` and the CRL show it, sign jobs fail; revoking it
    /// again is ca.alreadyRevoked; a device with nothing left to revoke is revoke.nothingToRevoke.
    func testRevokeBySerialThenSigningFails() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let serial = try XCTUnwrap(try certificates(f.device).first?["serial"] as? String)
        let before = try f.submit(job: "sign-before")
        XCTAssertEqual(try f.waitForOutcome(of: before), .done, f.logs)

        // Serial as operators copy it from openssl: upper case with colons.
        let pretty = stride(from: 0, to: serial.count, by: 2).map { i -> String in
            let start = serial.index(serial.startIndex, offsetBy: i)
            return String(serial[start..<serial.index(start, offsetBy: min(2, serial.count - i))]).uppercased()
        }.joined(separator: ":")
        try dropAdmin(["type": "revoke", "jobId": "revoke-1", "serial": pretty, "reason": "keyCompromise"])
        XCTAssertEqual(try f.waitForOutcome(of: "revoke-1"), .done, f.logs)
        let result = try f.resultJSON(of: "revoke-1")
        XCTAssertEqual(result["status"] as? String, "revoked")
        XCTAssertEqual(result["serial"] as? String, serial)
        XCTAssertEqual(result["reason"] as? String, "keyCompromise")
        XCTAssertEqual(try certificates(f.device).first?["status"] as? String, "revoked")
        let crl = try crlText()
        XCTAssertTrue(crl.contains(serial.uppercased()), "the CRL lists \(serial):\n\(crl)")
        XCTAssertTrue(crl.contains("Key Compromise"), crl)

        let after = try f.submit(job: "sign-after")
        XCTAssertEqual(try f.waitForOutcome(of: after), .failed(code: "certificate.none"))

        try dropAdmin(["type": "revoke", "jobId": "revoke-again", "serial": serial, "reason": "superseded"])
        XCTAssertEqual(try f.waitForOutcome(of: "revoke-again"), .failed(code: "ca.alreadyRevoked"))
        try dropAdmin(["type": "revoke", "jobId": "revoke-device", "deviceId": f.device, "reason": "superseded"])
        XCTAssertEqual(try f.waitForOutcome(of: "revoke-device"), .failed(code: "revoke.nothingToRevoke"))

        XCTAssertEqual(f.stop(daemon), 0)
        try assertAudited("revoke-1", service: "certificate.revoked", user: f.user, device: f.device, serial: serial)
        XCTAssertEqual(try f.auditEvents(job: "revoke-again", type: "certificate.revoked").count, 0)
        XCTAssertTrue(try f.auditEvents(job: "revoke-again").contains { $0.type == "job.failed" })
    }

    /// Revoke by device id: every unrevoked certificate of the device, with the given reason.
    func testRevokeByDeviceRevokesItsCertificates() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let serial = try XCTUnwrap(try certificates(f.device).first?["serial"] as? String)
        try dropAdmin(["type": "revoke", "jobId": "revoke-dev", "deviceId": f.device, "userId": f.user, "reason": "affiliationChanged"])
        XCTAssertEqual(try f.waitForOutcome(of: "revoke-dev"), .done, f.logs)
        XCTAssertEqual(try f.resultJSON(of: "revoke-dev")["revokedSerials"] as? [String], [serial])
        XCTAssertTrue(try crlText().contains("Affiliation Changed"))
        XCTAssertEqual(try device(f.device)["status"] as? String, "ACTIVE", "revoking certificates does not remove the device")
        XCTAssertEqual(f.stop(daemon), 0)
    }

    // MARK: - Error paths

    /// Every refusal of an administrative job lands in failed/ with its code: the manifest
    /// beside an error report, a job.failed audit event and no service event.
    func testAdministrativeJobErrorsLandInFailedWithTheirCodes() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let other = try NewPhone(fixture: f, name: "other-phone", user: f.user)
        let ownCSR = try ProcessRunner.run(PackagePaths.signdBinary, ["device-sim", "csr", "--dir", f.deviceDir,
                                                                       "--subject", "CN=Alice,serialNumber=\(f.device),C=CZ"], timeout: 60).stdout

        // A blocked device of the user (device.notActive on enroll).
        try f.signdOK(["device", "register", "--device", "blocked-phone", "--user", f.user, "--public-key", other.publicKeyPath, "--data-dir", f.dataDir])
        try f.signdOK(["device", "block", "--device", "blocked-phone", "--data-dir", f.dataDir])
        // A P-384 key (devices are P-256).
        let p384 = f.root + "/p384.pem"
        XCTAssertEqual(try ProcessRunner.run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", f.root + "/p384-key.pem"], timeout: 30).status, 0)
        XCTAssertEqual(try ProcessRunner.run("openssl", ["pkey", "-in", f.root + "/p384-key.pem", "-pubout", "-out", p384], timeout: 30).status, 0)

        var cases: [(job: String, code: String)] = []
        func job(_ id: String, _ code: String, _ fields: [String: Any]) throws {
            var m = fields
            m["jobId"] = id
            try dropAdmin(m)
            cases.append((id, code))
        }
        try job("block-ghost", "device.unknown", ["type": "device", "action": "block", "userId": f.user, "deviceId": "ghost"])
        try job("enroll-ghost", "device.unknown", ["type": "enroll", "userId": f.user, "deviceId": "ghost", "key": "cloud", "subject": "CN=Ghost"])
        try job("block-wronguser", "device.userMismatch", ["type": "device", "action": "block", "userId": "mallory", "deviceId": f.device])
        try job("register-exists", "device.exists", ["type": "device", "action": "register", "userId": f.user, "deviceId": f.device,
                                                     "publicKey": other.publicKeyPEM])
        try job("register-p384", "device.invalidKey", ["type": "device", "action": "register", "userId": f.user, "deviceId": "p384-phone",
                                                       "publicKey": try String(contentsOfFile: p384, encoding: .utf8)])
        try job("enroll-exists", "enroll.exists", ["type": "enroll", "userId": f.user, "deviceId": f.device, "key": "csr", "csr": ownCSR])
        try job("enroll-badcsr", "csr.malformed", ["type": "enroll", "userId": f.user, "deviceId": f.device, "key": "csr", "renew": true,
                                                   "csr": "-----BEGIN CERTIFICATE REQUEST-----\nTm90IGEgQ1NSIGF0IGFsbA==\n-----END CERTIFICATE REQUEST-----\n"])
        try job("enroll-badsig", "csr.badSignature", ["type": "enroll", "userId": f.user, "deviceId": f.device, "key": "csr", "renew": true,
                                                      "csr": try Self.tamperedSignature(ownCSR)])
        try job("enroll-otherkey", "csr.keyMismatch", ["type": "enroll", "userId": f.user, "deviceId": f.device, "key": "csr", "renew": true,
                                                       "csr": try other.csr(subject: "CN=Alice,serialNumber=\(f.device),C=CZ")])
        try job("enroll-blocked", "device.notActive", ["type": "enroll", "userId": f.user, "deviceId": "blocked-phone", "key": "cloud",
                                                       "subject": "CN=Alice,C=CZ"])
        try job("enroll-noprofile", "ca.unknownProfile", ["type": "enroll", "userId": f.user, "deviceId": f.device, "key": "cloud",
                                                          "subject": "CN=Alice,C=CZ", "profile": "gold", "renew": true])
        try job("enroll-tsaprofile", "enroll.profileNotAllowed", ["type": "enroll", "userId": f.user, "deviceId": f.device, "key": "cloud",
                                                                  "subject": "CN=Alice", "profile": "tsa", "renew": true])
        try job("enroll-badsubject", "subject.invalid", ["type": "enroll", "userId": f.user, "deviceId": f.device, "key": "cloud",
                                                         "subject": "no equals sign", "renew": true])
        try job("revoke-unknown", "ca.unknownCertificate", ["type": "revoke", "serial": "0123456789abcdef", "reason": "keyCompromise"])
        try job("revoke-ghost", "device.unknown", ["type": "revoke", "deviceId": "ghost", "reason": "keyCompromise"])
        try job("revoke-wronguser", "certificate.userMismatch", ["type": "revoke", "deviceId": f.device, "userId": "mallory", "reason": "keyCompromise"])

        XCTAssertTrue(f.waitUntil(timeout: 60) { cases.allSatisfy { f.outcome(of: $0.job) != nil } },
                      "no outcome for \(cases.filter { f.outcome(of: $0.job) == nil }.map(\.job))\n\(f.spoolListing())\n\(f.logs)")
        // The refused enrollments (bad CSRs, unknown profile, ...) left the device signing as before.
        let sign = try f.submit(job: "sign-after-errors")
        XCTAssertEqual(try f.waitForOutcome(of: sign), .done, f.logs)
        XCTAssertEqual(f.stop(daemon), 0)

        let failedEvents = try f.auditEvents(type: "job.failed")
        for c in cases {
            XCTAssertEqual(f.outcome(of: c.job), .failed(code: c.code), c.job)
            guard let report = try? f.errorReport(f.failed + "/\(c.job).error.json") else { continue }
            XCTAssertEqual(report["jobId"] as? String, c.job)
            XCTAssertEqual(report["retryable"] as? Bool, false, "\(c.job): \(report)")
            XCTAssertFalse((report["message"] as? String ?? "").isEmpty)
            XCTAssertNotNil((report["at"] as? String).flatMap(ISO8601DateFormatter().date(from:)), "\(c.job): \(report)")
            XCTAssertTrue(f.exists(f.failed + "/\(c.job).json"), "\(c.job): the manifest is beside its report: \(f.entries(f.failed))")
            let events = try f.auditEvents(job: c.job).map(\.type)
            XCTAssertEqual(events.filter { $0 == "job.received" }.count, 1, "\(c.job): \(events)")
            XCTAssertTrue(failedEvents.contains { $0.jobId == c.job && DaemonFixture.details($0)["code"] == c.code }, "\(c.job): \(events)")
            XCTAssertFalse(events.contains { $0.hasPrefix("certificate.") || $0.hasPrefix("device.") || $0 == "job.delivered" },
                           "\(c.job): a refused job changes nothing: \(events)")
        }
        // Nothing was changed by the refused jobs.
        XCTAssertEqual(try certificates(f.device).count, 1, "no certificate was issued or revoked")
        XCTAssertEqual(try certificates(f.device).first?["status"] as? String, "active")
        XCTAssertEqual(try device(f.device)["status"] as? String, "ACTIVE")
        XCTAssertNil(try? device("p384-phone"))
        XCTAssertEqual(f.entries(f.done), ["sign-after-errors.pdf", "sign-after-errors.result.json"])
        XCTAssertEqual(f.entries(f.work), [])
    }

    /// Malformed administrative manifests are refused at intake with the manifest codes, before
    /// a job exists (report named after the file, jobId null), and change nothing.
    func testMalformedAdministrativeManifestsGiveTheirCodes() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        let valid: [String: Any] = ["version": 1, "type": "device", "action": "block", "userId": f.user, "deviceId": f.device]
        var cases: [(name: String, code: String)] = []
        func bad(_ name: String, _ code: String, _ mutate: (inout [String: Any]) -> Void) throws {
            var m = valid
            m["jobId"] = name
            mutate(&m)
            try f.drop(manifest: m, as: "\(name).json")
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
        try f.drop(Data(#"{"version": 1, "type": "device", "jobId": "#.utf8), as: "m-json.json")
        cases.append(("m-json", "manifest.invalidJSON"))

        XCTAssertTrue(f.waitUntil(timeout: 30) { cases.allSatisfy { f.exists(f.failed + "/\($0.name).error.json") } },
                      "missing reports: \(cases.filter { !f.exists(f.failed + "/\($0.name).error.json") }.map(\.name))\n\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        for c in cases {
            let report = try f.errorReport(f.failed + "/\(c.name).error.json")
            XCTAssertEqual(report["code"] as? String, c.code, "\(c.name): \(report)")
            XCTAssertNil(report["jobId"] as? String, "\(c.name): rejected before a job existed")
            XCTAssertTrue(f.exists(f.failed + "/\(c.name).json"), "\(c.name): the manifest is beside its report")
        }
        XCTAssertEqual(try device(f.device)["status"] as? String, "ACTIVE", "no malformed block job was applied")
        XCTAssertEqual(f.entries(f.incoming), [])
        XCTAssertEqual(f.entries(f.work), [])
        XCTAssertEqual(f.entries(f.done), [])
    }

    /// A job id is processed once: the same id again (any type) is job.duplicate and is not applied.
    func testDuplicateJobIdIsRefusedAndNotApplied() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        try dropAdmin(["type": "device", "jobId": "dup-1", "action": "block", "userId": f.user, "deviceId": f.device])
        XCTAssertEqual(try f.waitForOutcome(of: "dup-1"), .done, f.logs)
        try f.signdOK(["device", "unblock", "--device", f.device, "--data-dir", f.dataDir])

        // Same id again: refused, so the device stays ACTIVE.
        try dropAdmin(["type": "device", "jobId": "dup-1", "action": "block", "userId": f.user, "deviceId": f.device])
        XCTAssertTrue(f.waitUntil(timeout: 20) { f.exists(f.failed + "/dup-1.duplicate.error.json") }, "\(f.spoolListing())\n\(f.logs)")
        let report = try f.errorReport(f.failed + "/dup-1.duplicate.error.json")
        XCTAssertEqual(report["code"] as? String, "job.duplicate")
        XCTAssertEqual(report["jobId"] as? String, "dup-1")
        XCTAssertTrue((report["message"] as? String ?? "").contains("done/dup-1.result.json"), "names the first result: \(report)")
        XCTAssertTrue(f.exists(f.failed + "/dup-1.duplicate.json"))
        XCTAssertEqual(try device(f.device)["status"] as? String, "ACTIVE", "a duplicate is not applied")

        // A sign job may not reuse an administrative job's id either.
        try f.submit(job: "dup-1")
        XCTAssertTrue(f.waitUntil(timeout: 20) { f.exists(f.failed + "/dup-1.duplicate.1.error.json") }, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(try f.errorReport(f.failed + "/dup-1.duplicate.1.error.json")["code"] as? String, "job.duplicate")
        XCTAssertEqual(f.entries(f.done), ["dup-1.result.json"], "the first result is untouched and nothing was signed")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.auditEvents(job: "dup-1", type: "device.blocked").count, 1, "applied once")
        let types = try f.auditEvents(job: "dup-1").map(\.type)
        XCTAssertFalse(types.contains("job.failed"), "the delivered job's trail is not marked failed by duplicates: \(types)")
        XCTAssertEqual(types.filter { $0 == "input.rejected" }.count, 2, "each duplicate is audited as a rejected input: \(types)")
    }

    /// A crash between the claim's rename and its database row: the daemon finds the manifest in
    /// work/ at start, claims and applies it once.
    func testAdministrativeJobLeftInWorkIsRecoveredAtStart() throws {
        let f = fixture!
        let manifest: [String: Any] = ["version": 1, "type": "device", "jobId": "crash-block", "action": "block", "userId": f.user, "deviceId": f.device]
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: f.work + "/crash-block.manifest.json"))
        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "crash-block"), .done, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(try device(f.device)["status"] as? String, "BLOCKED")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(f.entries(f.work), [])
        XCTAssertTrue(f.exists(f.archive + "/crash-block.json"))
        let received = try f.auditEvents(job: "crash-block", type: "job.received")
        XCTAssertEqual(received.count, 1)
        XCTAssertEqual(received.first.map { DaemonFixture.details($0)["recovered"] }, "true")
        try assertAudited("crash-block", service: "device.blocked", user: f.user, device: f.device)
        let state = try f.sqlite(f.dataDir + "/state.sqlite", "SELECT state FROM job WHERE jobId = 'crash-block'")
        XCTAssertEqual(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "delivered")
    }

    /// EJBCA unreachable: `ca.unavailable` is retryable, so the enroll job is scheduled for a
    /// retry (like a TSA outage of a sign job) instead of failing, and nothing is issued.
    func testEnrollWhileEJBCAIsUnreachableIsRetried() throws {
        let f = fixture!
        let chain = f.root + "/ca-chain.pem"
        try Data(try f.signdOK(["ca", "certificate", "--data-dir", f.dataDir]).stdout.utf8).write(to: URL(fileURLWithPath: chain))
        let port = try closedLoopbackPort()
        let configuration = """
            {"ca": {"kind": "ejbca", "ejbca": {"baseURL": "https://127.0.0.1:\(port)/ejbca/ejbca-rest-api",
             "certificateProfileName": "signd", "endEntityProfileName": "signd", "certificateAuthorityName": "IssuingCA",
             "caChainPath": "\(chain)", "timeoutSeconds": 2}}}
            """
        let daemon = try f.startDaemon(configuration: configuration, environment: ["SIGND_EJBCA_ENROLLMENT_PASSWORD": "test-password"])
        try dropAdmin(["type": "enroll", "jobId": "enroll-offline", "userId": f.user, "deviceId": f.device, "key": "cloud",
                       "subject": "CN=Alice,C=CZ", "renew": true])
        let database = f.dataDir + "/state.sqlite"
        var row = ""
        let scheduled = f.waitUntil(timeout: 30, interval: 0.2) {
            row = (try? f.sqlite(database, "SELECT state, attempts, errorCode FROM job WHERE jobId = 'enroll-offline'").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
            return row.hasPrefix("claimed|") && !row.hasPrefix("claimed|0|")
        }
        XCTAssertTrue(scheduled, "the job is waiting for a retry: \(row)\n\(f.spoolListing())\n\(f.logs)")
        XCTAssertTrue(row.hasSuffix("|ca.unavailable"), row)
        XCTAssertNil(f.outcome(of: "enroll-offline"), "a CA outage does not fail the job at once")
        XCTAssertTrue(f.exists(f.work + "/enroll-offline.manifest.json"), "the claimed job waits in work/: \(f.spoolListing())")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try certificates(f.device).count, 1, "nothing was issued")
        XCTAssertEqual(try f.auditEvents(job: "enroll-offline").map(\.type), ["job.received"])
    }

    // MARK: - Concurrency and crash windows

    /// Two enroll jobs for one device (no renew) waiting in incoming/ when the daemon starts: its
    /// two workers take them at once. Administrative jobs of one device run one at a time, so
    /// exactly one certificate is issued and the other job is enroll.exists.
    func testConcurrentEnrollJobsForOneDeviceIssueOneCertificate() throws {
        let f = fixture!
        var phones: [NewPhone] = []
        for n in 0..<3 {
            let phone = try NewPhone(fixture: f, name: "race-phone-\(n)", user: f.user)
            try f.signdOK(["device", "register", "--device", phone.device, "--user", f.user, "--public-key", phone.publicKeyPath, "--data-dir", f.dataDir])
            for job in ["race-\(n)-a", "race-\(n)-b"] {
                try dropAdmin(["type": "enroll", "jobId": job, "userId": f.user, "deviceId": phone.device, "key": "cloud",
                               "subject": "CN=Race \(n),serialNumber=\(phone.device),C=CZ"])
            }
            phones.append(phone)
        }
        let daemon = try f.startDaemon()
        for n in 0..<3 {
            let outcomes = try ["race-\(n)-a", "race-\(n)-b"].map { try f.waitForOutcome(of: $0) }
            XCTAssertEqual(outcomes.filter { $0 == .done }.count, 1, "phone \(n): \(outcomes)\n\(f.logs)")
            XCTAssertEqual(outcomes.filter { $0 == .failed(code: "enroll.exists") }.count, 1, "phone \(n): \(outcomes)")
        }
        XCTAssertEqual(f.stop(daemon), 0)
        for phone in phones {
            XCTAssertEqual(try certificates(phone.device).count, 1, "\(phone.device): one certificate, not two")
        }
        XCTAssertEqual(try f.auditEvents(type: "certificate.enrolled").filter { ($0.jobId ?? "").hasPrefix("race-") }.count, 3)
    }

    /// The device's lease lives in the state database: a job waits for a command (or another
    /// spool's job) that holds it — polling 10 s, then a retry with `device.busy` — and runs once
    /// it is released; its own lease ends with its final state.
    func testJobWaitsForTheDeviceLeaseOfACommand() throws {
        let f = fixture!
        try sql("""
            INSERT INTO deviceLease (deviceId, holder, kind, acquiredAt, expiresAt)
            VALUES ('\(f.device)', 'cli-enroll:held', 'command', datetime('now'), datetime('now', '+1 hour'))
            """)
        let daemon = try f.startDaemon()
        try dropAdmin(["type": "device", "jobId": "busy-block", "action": "block", "userId": f.user, "deviceId": f.device])
        let database = f.dataDir + "/state.sqlite"
        XCTAssertTrue(f.waitUntil(timeout: 30, interval: 0.2) {
            ((try? f.sqlite(database, "SELECT errorCode FROM job WHERE jobId = 'busy-block'").stdout) ?? "").contains("device.busy")
        }, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertNil(f.outcome(of: "busy-block"), "not applied while the command holds the device")
        XCTAssertEqual(try device(f.device)["status"] as? String, "ACTIVE")
        try sql("DELETE FROM deviceLease WHERE holder = 'cli-enroll:held'")
        XCTAssertEqual(try f.waitForOutcome(of: "busy-block"), .done, f.logs)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try device(f.device)["status"] as? String, "BLOCKED")
        XCTAssertEqual(try f.sqlite(database, "SELECT COUNT(*) FROM deviceLease").stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0",
                       "the delivered job's lease ended with it")
    }

    /// The CLI waits for a job that holds the device too, then refuses with `device.busy`.
    func testCommandRefusesADeviceHeldByAnUnfinishedJob() throws {
        let f = fixture!
        try claimedJobRow("holding-job", device: f.device)
        try sql("""
            INSERT INTO deviceLease (deviceId, holder, kind, acquiredAt, expiresAt) VALUES ('\(f.device)', 'holding-job', 'job', datetime('now'), NULL)
            """)
        let out = try f.signd(["enroll", "--cloud", "--renew", "--user", f.user, "--device", f.device, "--subject", "CN=Busy", "--data-dir", f.dataDir])
        XCTAssertEqual(out.status, 2, ProcessRunner.describe(out, "signd enroll"))
        XCTAssertTrue(out.stderr.contains("[device.busy]") && out.stderr.contains("holding-job"), out.stderr)
        XCTAssertEqual(try certificates(f.device).count, 1, "nothing was issued")
        // Once the job has ended, the command runs.
        try sql("UPDATE job SET state = 'failed' WHERE jobId = 'holding-job'")
        try f.signdOK(["enroll", "--cloud", "--renew", "--user", f.user, "--device", f.device, "--subject", "CN=Busy", "--data-dir", f.dataDir])
        XCTAssertEqual(try certificates(f.device).count, 2)
    }

    /// Killed after the certificate was issued (state database) and before `certificate.enrolled`
    /// was recorded: the resumed job reports that certificate and records the event once.
    func testEnrollKilledBeforeItsAuditEventRecordsItOnResume() throws {
        let f = fixture!
        let phone = try NewPhone(fixture: f, name: "crash-phone", user: f.user)
        try f.signdOK(["device", "register", "--device", phone.device, "--user", f.user, "--public-key", phone.publicKeyPath, "--data-dir", f.dataDir])
        try claimedJobRow("enroll-crash", device: phone.device)
        try issueWithoutAudit(["enroll", "--cloud", "--user", f.user, "--device", phone.device,
                               "--subject", "CN=Crash,serialNumber=\(phone.device),C=CZ", "--data-dir", f.dataDir])
        let serial = try XCTUnwrap(try certificates(phone.device).first?["serial"] as? String)
        // As the job stores it: with its job id (the command's own certificate carries the
        // command's operation id, and a job never takes another's work for its own).
        try sql("UPDATE certificate SET issuedByJob = 'enroll-crash' WHERE serial = '\(serial)'")
        try placeInWork(["type": "enroll", "jobId": "enroll-crash", "userId": f.user, "deviceId": phone.device, "key": "cloud",
                         "subject": "CN=Crash,serialNumber=\(phone.device),C=CZ"])

        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "enroll-crash"), .done, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.resultJSON(of: "enroll-crash")["certificateSerial"] as? String, serial)
        XCTAssertEqual(try certificates(phone.device).count, 1, "not issued twice")
        try assertAudited("enroll-crash", service: "certificate.enrolled", user: f.user, device: phone.device, serial: serial)
    }

    /// A job resumed after a crash does not take a certificate another command issued while it
    /// was down for its own, even with that command's audit event lost: it finds its own work by
    /// its job id on the certificate, so here nothing, and without renew it is enroll.exists.
    /// (Inferred from the audit log's time window, this job reported the command's certificate.)
    func testResumedEnrollDoesNotTakeAnotherCommandsCertificate() throws {
        let f = fixture!
        let phone = try NewPhone(fixture: f, name: "other-cmd-phone", user: f.user)
        try f.signdOK(["device", "register", "--device", phone.device, "--user", f.user, "--public-key", phone.publicKeyPath, "--data-dir", f.dataDir])
        try claimedJobRow("enroll-notmine", device: phone.device)
        try issueWithoutAudit(["enroll", "--cloud", "--user", f.user, "--device", phone.device,
                               "--subject", "CN=Other,serialNumber=\(phone.device),C=CZ", "--data-dir", f.dataDir])
        try placeInWork(["type": "enroll", "jobId": "enroll-notmine", "userId": f.user, "deviceId": phone.device, "key": "cloud",
                         "subject": "CN=Other,serialNumber=\(phone.device),C=CZ"])

        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "enroll-notmine"), .failed(code: "enroll.exists"), "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try certificates(phone.device).count, 1)
        XCTAssertEqual(try f.auditEvents(job: "enroll-notmine", type: "certificate.enrolled").count, 0)
    }

    /// Killed after `device remove` revoked and marked the certificate, before its
    /// `certificate.revoked` event: the resumed job records it and reports it.
    func testDeviceRemoveKilledBeforeRevocationEventRecordsItOnResume() throws {
        let f = fixture!
        let serial = try XCTUnwrap(try certificates(f.device).first?["serial"] as? String)
        try claimedJobRow("remove-crash", device: f.device)
        try issueWithoutAudit(["device", "remove", "--device", f.device, "--data-dir", f.dataDir])
        XCTAssertEqual(try certificates(f.device).first?["status"] as? String, "revoked")
        try sql("UPDATE certificate SET revokedByJob = 'remove-crash' WHERE serial = '\(serial)'")  // as the job marks it
        try placeInWork(["type": "device", "jobId": "remove-crash", "action": "remove", "userId": f.user, "deviceId": f.device])

        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "remove-crash"), .done, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.resultJSON(of: "remove-crash")["revokedSerials"] as? [String], [serial])
        XCTAssertEqual(try f.auditEvents(job: "remove-crash", type: "certificate.revoked").map(\.certificateSerial), [serial])
        try assertAudited("remove-crash", service: "device.removed", user: f.user, device: f.device)
    }

    /// The same for a revoke job by device id.
    func testRevokeByDeviceKilledBeforeRevocationEventRecordsItOnResume() throws {
        let f = fixture!
        let serial = try XCTUnwrap(try certificates(f.device).first?["serial"] as? String)
        try claimedJobRow("revoke-crash", device: f.device)
        try issueWithoutAudit(["ca", "revoke", "--serial", serial, "--reason", "keyCompromise", "--data-dir", f.dataDir])
        try sql("UPDATE certificate SET revokedByJob = 'revoke-crash' WHERE serial = '\(serial)'")  // as the job marks it
        try placeInWork(["type": "revoke", "jobId": "revoke-crash", "deviceId": f.device, "userId": f.user, "reason": "keyCompromise"])

        let daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "revoke-crash"), .done, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.resultJSON(of: "revoke-crash")["revokedSerials"] as? [String], [serial])
        try assertAudited("revoke-crash", service: "certificate.revoked", user: f.user, device: f.device, serial: serial)
    }

    /// Killed after a revoke by serial recorded its event, before the job was delivered: the
    /// resumed job does not record `certificate.revoked` a second time.
    func testRevokeBySerialResumedAfterItsEventRecordsItOnce() throws {
        let f = fixture!
        let serial = try XCTUnwrap(try certificates(f.device).first?["serial"] as? String)
        var daemon = try f.startDaemon()
        try dropAdmin(["type": "revoke", "jobId": "revoke-twice", "serial": serial, "reason": "keyCompromise"])
        XCTAssertEqual(try f.waitForOutcome(of: "revoke-twice"), .done, f.logs)
        XCTAssertEqual(f.stop(daemon), 0)
        // Roll back to: applied and recorded, manifest still in work/, state claimed.
        try FileManager.default.removeItem(atPath: f.done + "/revoke-twice.result.json")
        try FileManager.default.moveItem(atPath: f.archive + "/revoke-twice.json", toPath: f.work + "/revoke-twice.manifest.json")
        try sql("UPDATE job SET state = 'claimed', pendingAction = 'apply', resultPath = NULL WHERE jobId = 'revoke-twice'")

        daemon = try f.startDaemon()
        XCTAssertEqual(try f.waitForOutcome(of: "revoke-twice"), .done, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.resultJSON(of: "revoke-twice")["serial"] as? String, serial)
        XCTAssertEqual(try f.auditEvents(job: "revoke-twice", type: "certificate.revoked").count, 1)
    }

    /// Killed while failing a job, after its error report was written and before the manifest
    /// left work/: the restart finishes the failure with the recorded code instead of applying
    /// the job again (here it would now succeed).
    func testFailureKilledAfterErrorReportKeepsItsCode() throws {
        let f = fixture!
        let phone = try NewPhone(fixture: f, name: "fail-phone", user: f.user)
        try f.signdOK(["device", "register", "--device", phone.device, "--user", f.user, "--public-key", phone.publicKeyPath, "--data-dir", f.dataDir])
        try claimedJobRow("fail-crash", device: phone.device)
        try placeInWork(["type": "enroll", "jobId": "fail-crash", "userId": f.user, "deviceId": phone.device, "key": "cloud",
                         "subject": "CN=Fail,serialNumber=\(phone.device),C=CZ"])
        let report: [String: Any] = ["jobId": "fail-crash", "code": "ca.unavailable", "message": "EJBCA did not answer", "retryable": true,
                                     "at": ISO8601DateFormatter().string(from: Date())]
        try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: f.failed + "/fail-crash.error.json"))

        let daemon = try f.startDaemon()
        XCTAssertTrue(f.waitUntil(timeout: 30) { (try? jobState("fail-crash")) == "failed" }, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.errorReport(f.failed + "/fail-crash.error.json")["code"] as? String, "ca.unavailable")
        XCTAssertFalse(f.exists(f.done + "/fail-crash.result.json"), "the failed job was applied again: \(f.spoolListing())")
        XCTAssertTrue(f.exists(f.failed + "/fail-crash.json"))
        XCTAssertEqual(f.entries(f.work), [])
        XCTAssertEqual(try certificates(phone.device).count, 0, "nothing was issued")
        let failed = try f.auditEvents(job: "fail-crash", type: "job.failed")
        XCTAssertEqual(failed.map { DaemonFixture.details($0)["code"] }, ["ca.unavailable"])
    }

    /// Killed while failing a job, after `job.failed` was recorded and before the state said so:
    /// the restart finishes it without a second `job.failed`.
    func testFailureKilledBeforeStateChangeIsAuditedOnce() throws {
        let f = fixture!
        var daemon = try f.startDaemon()
        try dropAdmin(["type": "enroll", "jobId": "fail-once", "userId": f.user, "deviceId": f.device, "key": "cloud",
                       "subject": "CN=Alice", "profile": "tsa", "renew": true])
        XCTAssertEqual(try f.waitForOutcome(of: "fail-once"), .failed(code: "enroll.profileNotAllowed"), f.logs)
        XCTAssertEqual(f.stop(daemon), 0)
        try sql("UPDATE job SET state = 'claimed', pendingAction = 'fail', resultPath = NULL WHERE jobId = 'fail-once'")

        daemon = try f.startDaemon()
        XCTAssertTrue(f.waitUntil(timeout: 30) { (try? jobState("fail-once")) == "failed" }, "\(f.spoolListing())\n\(f.logs)")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try f.errorReport(f.failed + "/fail-once.error.json")["code"] as? String, "enroll.profileNotAllowed")
        XCTAssertEqual(try f.auditEvents(job: "fail-once", type: "job.failed").count, 1)
    }

    // MARK: - Helpers

    func sql(_ statement: String) throws {
        let out = try fixture.sqlite(fixture.dataDir + "/state.sqlite", statement)
        guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "sqlite3")) }
    }

    func jobState(_ job: String) throws -> String {
        try fixture.sqlite(fixture.dataDir + "/state.sqlite", "SELECT state FROM job WHERE jobId = '\(job)'").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The job row as the claim wrote it, a minute ago (before what the test then does by hand).
    func claimedJobRow(_ job: String, device: String) throws {
        try sql(fixture.jobRowSQL(job, state: "claimed", documentSha256: String(repeating: "0", count: 64), device: device, minutesAgo: 1))
    }

    /// work/<job>.manifest.json (version 1 added), as the claim left it.
    func placeInWork(_ fields: [String: Any]) throws {
        var m = fields
        m["version"] = 1
        let prefix = fixture.work + "/" + (m["jobId"] as? String ?? "x")
        try JSONSerialization.data(withJSONObject: m).write(to: URL(fileURLWithPath: prefix + ".manifest.json"))
    }

    /// Runs a signd command whose effect (state database, CA) stays while its audit events are
    /// lost, as when a job is killed between applying a change and recording it: the audit
    /// database is moved aside for the command and put back afterwards.
    func issueWithoutAudit(_ args: [String]) throws {
        let fm = FileManager.default
        let audit = fixture.dataDir + "/audit.sqlite"
        let files = [audit, audit + "-wal", audit + "-shm"]
        for path in files where fm.fileExists(atPath: path) { try fm.moveItem(atPath: path, toPath: path + ".aside") }
        defer {
            for path in files {
                try? fm.removeItem(atPath: path)
                if fm.fileExists(atPath: path + ".aside") { try? fm.moveItem(atPath: path + ".aside", toPath: path) }
            }
        }
        try fixture.signdOK(args)
    }

    /// A simulated phone not yet known to signd.
    struct NewPhone {
        let fixture: DaemonFixture
        let device: String
        let user: String
        let dir: String
        var publicKeyPath: String { dir + "/device-public.pem" }
        var publicKeyPEM: String { (try? String(contentsOfFile: publicKeyPath, encoding: .utf8)) ?? "" }

        init(fixture: DaemonFixture, name: String, user: String) throws {
            self.fixture = fixture
            self.device = name
            self.user = user
            self.dir = fixture.root + "/" + name
            try fixture.signdOK(["device-sim", "create", "--dir", dir])
        }

        func csr(subject: String) throws -> String {
            try fixture.signdOK(["device-sim", "csr", "--dir", dir, "--subject", subject]).stdout
        }

        /// SHA-256 of the DER SubjectPublicKeyInfo, by openssl.
        func publicKeyDERSha256() throws -> String {
            let der = fixture.root + "/\(device)-public.der"
            let out = try ProcessRunner.run("openssl", ["pkey", "-pubin", "-in", publicKeyPath, "-outform", "DER", "-out", der], timeout: 30)
            guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "openssl pkey")) }
            return try DaemonFixture.sha256(der)
        }
    }

    /// `signd submit` for a phone that is not the fixture's; the job id.
    func submit(_ phone: NewPhone, mode: String, job: String) throws -> String {
        try fixture.signdOK(["submit", DaemonFixture.samplePDF, "--device-dir", phone.dir, "--user", phone.user, "--device", phone.device,
                             "--spool-root", fixture.spoolRoot, "--level", "B-B", "--mode", mode, "--job", job])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Drops an administrative manifest (version 1 added) as incoming/<jobId>.json.
    func dropAdmin(_ fields: [String: Any]) throws {
        var m = fields
        m["version"] = 1
        try fixture.drop(manifest: m, as: "\(m["jobId"] as? String ?? "x").json")
    }

    func device(_ id: String) throws -> [String: Any] {
        let out = try fixture.signdOK(["device", "list", "--json", "--data-dir", fixture.dataDir])
        guard let list = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]],
              let entry = list.first(where: { $0["deviceId"] as? String == id }) else {
            throw HarnessError("device list has no \(id): \(out.stdout)")
        }
        return entry
    }

    func certificates(_ device: String) throws -> [[String: Any]] {
        let out = try fixture.signdOK(["certificates", "--device", device, "--json", "--data-dir", fixture.dataDir])
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]] ?? []
    }

    /// `signd ca crl` through `openssl crl -text`.
    func crlText() throws -> String {
        let path = fixture.root + "/crl-\(UUID().uuidString).pem"
        try Data(try fixture.signdOK(["ca", "crl", "--data-dir", fixture.dataDir]).stdout.utf8).write(to: URL(fileURLWithPath: path))
        let out = try ProcessRunner.run("openssl", ["crl", "-in", path, "-noout", "-text"], timeout: 30)
        guard out.status == 0 else { throw HarnessError(ProcessRunner.describe(out, "openssl crl")) }
        return out.stdout
    }

    /// job.received, the service event and job.delivered exactly once each, no job.failed, all
    /// with the job's user and device (and serial for certificate events).
    func assertAudited(_ job: String, service: String, user: String, device: String, serial: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let events = try fixture.auditEvents(job: job)
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

    /// The PEM CSR with the last byte of its signature changed (the structure stays valid).
    static func tamperedSignature(_ pem: String) throws -> String {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard var der = Data(base64Encoded: body), !der.isEmpty else { throw HarnessError("not a PEM CSR: \(pem)") }
        der[der.count - 1] ^= 0x01
        let lines = stride(from: 0, to: der.base64EncodedString().count, by: 64).map { i -> String in
            let b64 = der.base64EncodedString()
            let start = b64.index(b64.startIndex, offsetBy: i)
            return String(b64[start..<b64.index(start, offsetBy: min(64, b64.count - i))])
        }
        return "-----BEGIN CERTIFICATE REQUEST-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE REQUEST-----\n"
    }
}
