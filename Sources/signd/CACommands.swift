import ArgumentParser
import Audit
import CertificateAuthority
import CertificateLifecycle
import Foundation
import PKIStructures
import SCA
import SigndCore
import StateStore
import SwiftASN1
import Timestamping
import X509

struct CACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca", abstract: "The embedded Certification Authority.",
        subcommands: [Certificate_.self, Revoke.self, CRL.self])

    struct Certificate_: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "certificate", abstract: "Print the CA chain as PEM, issuing CA first, root last.")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var config: ConfigOption
        func run() async throws {
            try await CLIErrors.guarding {
                let dir = try data.ensureExists()
                let ca = try Composition.certificateAuthority(dataDirectory: dir, configuration: try config.load())
                print(try PEM.encode(try await ca.caChain()), terminator: "")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a certificate by serial number.")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var config: ConfigOption
        @Option(help: "Serial number (hex).") var serial: String
        @Option(help: "RFC 5280 reason: \(RevocationReason.allCases.map(\.rawValue).joined(separator: ", ")).") var reason: String = "unspecified"
        func run() async throws {
            guard let r = RevocationReason(rawValue: reason) else { throw ValidationError("unknown --reason \(reason)") }
            try await CLIErrors.guarding {
                let dir = try data.ensureExists()
                let ca = try Composition.certificateAuthority(dataDirectory: dir, configuration: try config.load())
                let now = Date()
                let serialHex = serial.lowercased()
                let db = try Composition.database(dir)
                let record = try db.certificate(serial: serialHex)
                if let record {
                    // A device certificate: one administrative operation of the device at a time.
                    let operation = CommandLease.operationId("ca-revoke")
                    try await CommandLease.holdingDevice(record.deviceId, database: db, operation: operation) {
                        try await ca.revoke(serialHex: serialHex, reason: r, at: now)
                        try db.markRevoked(serial: serialHex, reason: r.rawValue, at: now, byJob: operation)
                    }
                } else {
                    try await ca.revoke(serialHex: serialHex, reason: r, at: now)
                }
                try Composition.audit(dir).append(AuditEntry(type: .certificateRevoked, userId: record?.userId, deviceId: record?.deviceId,
                                                             certificateSerial: serialHex, details: ["reason": r.rawValue]))
                print("revoked \(serialHex) (\(r.rawValue))")
            }
        }
    }

    struct CRL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "crl", abstract: "Print the embedded CA's current CRL as PEM.")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var config: ConfigOption
        func run() async throws {
            try await CLIErrors.guarding {
                let dir = try data.ensureExists()
                print(try Composition.embeddedCA(dataDirectory: dir, configuration: try config.load()).currentCRLPEM(), terminator: "")
            }
        }
    }
}

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll a device certificate from its CSR, or (--cloud) with a key signd generates and keeps encrypted.",
        discussion: "Prints the issued certificate PEM followed by its chain. --renew re-enrolls: a fresh key and CSR (cloud) or the given CSR (external); the old certificate is superseded.")
    @OptionGroup var data: DataDirectoryOption
    @OptionGroup var config: ConfigOption
    @Option(help: "User id.") var user: String
    @Option(help: "Device id.") var device: String
    @Option(help: "PKCS#10 CSR file (PEM or DER), signed with the device key.") var csr: String?
    @Flag(help: "Cloud mode: generate the key pair in signd.") var cloud = false
    @Option(help: "Subject for --cloud, e.g. \"CN=Jan Novak,serialNumber=D-1,C=CZ\".") var subject: String?
    @Option(help: "Certificate profile.") var profile: String = "default"
    @Flag(help: "Re-enroll a device that already has a certificate.") var renew = false

    func run() async throws {
        guard cloud != (csr != nil) else { throw ValidationError("give exactly one of --csr FILE or --cloud") }
        try await CLIErrors.guarding {
            let dir = try data.ensureExists()
            let configuration = try config.load()
            let enrollment = try Composition.enrollment(dataDirectory: dir, configuration: configuration)
            let database = enrollment.database
            let operation = CommandLease.operationId("enroll")
            // One administrative operation of the device at a time (daemon jobs included); the
            // enroll.exists decision is taken again where the certificate is stored.
            try await CommandLease.holdingDevice(device, database: database, operation: operation) {
                if !renew, let existing = try database.activeCertificate(deviceId: device, at: Date()) {
                    throw LifecycleError(code: .enrollExists, message: "device \(device) already has an active certificate (serial \(existing.serial)); pass --renew to re-enroll")
                }
                let replacing: CertificateReplacement = renew ? .anyActive : .none
                let issued: IssuedCertificate
                if cloud {
                    guard let subject else { throw ValidationError("--cloud needs --subject \"CN=...\"") }
                    issued = try await enrollment.enrollCloud(userId: user, deviceId: device, subject: try SubjectName.parse(subject), profile: profile,
                                                              operation: operation, replacing: replacing)
                } else {
                    issued = try await enrollment.enrollExternal(userId: user, deviceId: device, csrDER: try CSRFile.read(csr!), profile: profile,
                                                                 operation: operation, replacing: replacing)
                }
                let serial = Hex.encode(issued.certificate.serialNumber.bytes)
                let superseded = try database.certificates(deviceId: device).last(where: { $0.supersededBy == serial })?.serial
                try Composition.audit(dir).append(AuditEntry(type: .certificateEnrolled, userId: user, deviceId: device, certificateSerial: serial,
                                                             details: ["profile": profile, "mode": cloud ? "cloud" : "external", "renew": String(renew),
                                                                       "superseded": superseded ?? "", "operation": operation]))
                print(try PEM.encode([issued.certificate] + issued.chain), terminator: "")
            }
        }
    }
}

struct CertificatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "certificates", abstract: "List device certificates.")
    @OptionGroup var data: DataDirectoryOption
    @Option(help: "Only this device.") var device: String?
    @Flag(help: "JSON output.") var json = false

    struct Row: Encodable { let serial, device, user, subject, profile, notBefore, notAfter, status: String }

    func run() async throws {
        try await CLIErrors.guarding {
            let db = try Composition.database(try data.ensureExists())
            _ = try db.expireCertificates(now: Date())
            let f = ISO8601DateFormatter()
            let rows = try db.certificates(deviceId: device).map {
                Row(serial: $0.serial, device: $0.deviceId, user: $0.userId, subject: $0.subject, profile: $0.profile,
                    notBefore: f.string(from: $0.notBefore), notAfter: f.string(from: $0.notAfter), status: $0.status.rawValue)
            }
            if json {
                print(try JSONOutput.encode(rows))
            } else {
                for r in rows { print("\(r.serial)  \(r.device)  \(r.status)  \(r.notBefore) .. \(r.notAfter)  \(r.subject)") }
            }
        }
    }
}

struct RenewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "renew", abstract: "Run one certificate renewal pass now (the scheduler runs the same code).")
    @OptionGroup var data: DataDirectoryOption
    @OptionGroup var config: ConfigOption
    @Flag(help: "One pass, then exit.") var once = false
    @Option(help: "Renew certificates expiring within this time (14d, 36h, 20%); default from configuration (14d).") var threshold: String?

    func run() async throws {
        guard once else { throw ValidationError("use --once; the daemon (signd run) renews on its schedule") }
        try await CLIErrors.guarding {
            let dir = try data.ensureExists()
            let configuration = try config.load()
            var renewal = try configuration.renewalConfiguration
            if let threshold {
                guard let t = RenewalThreshold(text: threshold) else { throw ValidationError("--threshold must look like 14d, 36h, 90m or 20%") }
                renewal.threshold = t
            }
            let scheduler = RenewalScheduler(enrollment: try Composition.enrollment(dataDirectory: dir, configuration: configuration), configuration: renewal)
            let report = try await scheduler.runOnce(now: Date())
            try RenewalAudit.record(report, audit: try Composition.audit(dir), database: scheduler.enrollment.database)
            for r in report.renewed { print("renewed \(r.old) -> \(r.new)") }
            for f in report.failed { print("failed \(f.serial): \(f.code)\(f.retryable ? " (will retry)" : "")") }
            print("renewed \(report.renewed.count), failed \(report.failed.count), expiring \(report.expiring), expired \(report.expired)")
        }
    }
}

enum RenewalAudit {
    static func record(_ report: RenewalPassReport, audit: AuditLog, database: StateDatabase) throws {
        for r in report.renewed {
            let cert = try database.certificate(serial: r.new)
            try audit.append(AuditEntry(type: .certificateRenewed, userId: cert?.userId, deviceId: cert?.deviceId, certificateSerial: r.new, details: ["previous": r.old]))
        }
        for f in report.failed {
            let cert = try database.certificate(serial: f.serial)
            try audit.append(AuditEntry(type: .certificateRenewalFailed, userId: cert?.userId, deviceId: cert?.deviceId, certificateSerial: f.serial,
                                        outcome: "failure", details: ["code": f.code, "retryable": String(f.retryable)]))
        }
    }
}

/// A command's hold on a device: the state database's device lease, shared with the daemon's
/// administrative jobs of every spool (docs/architecture.md, "Invariants in the state
/// database"). Waits up to 10 s for a job or command that holds it, then fails with
/// `device.busy`; released when the command ends, and lapses after 15 minutes if the command
/// was killed.
enum CommandLease {
    static let waitSeconds: TimeInterval = 10
    static let pollSeconds: TimeInterval = 0.05
    static let lapseSeconds: TimeInterval = 15 * 60

    /// `cli-<command>:<uuid>`: the operation id stored as issuedByJob / revokedByJob.
    static func operationId(_ command: String) -> String { "cli-\(command):" + UUID().uuidString.lowercased() }

    static func holdingDevice<T>(_ deviceId: String, database: StateDatabase, operation: String,
                                 _ body: () async throws -> T) async throws -> T {
        let holder = DeviceLeaseHolder.command(operation, expiresAt: Date().addingTimeInterval(lapseSeconds))
        let outcome = try await database.waitForDeviceLease(deviceId, for: holder, attempts: Int(waitSeconds / pollSeconds), pollInterval: pollSeconds,
                                                            now: { Date() }, sleep: { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) })
        if case .busy(let other) = outcome {
            throw StateStoreError(code: .deviceBusy, message: "device \(deviceId) is busy with administrative job or command \(other); try again when it has finished (signd jobs: see the spool's work/)")
        }
        do {
            let result = try await body()
            try? database.releaseDeviceLease(deviceId, holder: operation)
            return result
        } catch {
            try? database.releaseDeviceLease(deviceId, holder: operation)
            throw error
        }
    }
}

enum CSRFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read CSR file \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("-----BEGIN") {
            do { return try PEMDocument(pemString: text).derBytes } catch {
                throw CertificateAuthorityError(.csrMalformed, "\(path) is not a PEM certificate request")
            }
        }
        return Array(data)
    }
}
