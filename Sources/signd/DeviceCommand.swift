import ArgumentParser
import CertificateAuthority
import CertificateLifecycle
import Crypto
import Foundation
import Jobs
import PKIStructures
import SCA
import SigndCore
import StateStore

/// `signd device register|block|unblock|remove|list`: the devices (phones) whose keys approve
/// signing jobs (docs/sca.md).
struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Register, block, unblock, remove and list SCA devices.",
        subcommands: [Register.self, Block.self, Unblock.self, Remove.self, List.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "register", abstract: "Register a device's P-256 public key for a user.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "Device id (A-Z a-z 0-9 . _ : -, at most 128).") var device: String
        @Option(help: "User id the device belongs to.") var user: String
        @Option(name: .customLong("public-key"), help: "The device's EC P-256 public key, PEM (\"PUBLIC KEY\").") var publicKey: String

        func run() async throws {
            do {
                guard let pem = FileManager.default.contents(atPath: publicKey) else {
                    throw SCAError(code: "io.read", message: "cannot read \(publicKey); check the path")
                }
                let registry = DeviceRegistry(database: try SCACommandSupport.openState(data))
                let record = try registry.register(deviceId: device, userId: user, publicKeyPEM: String(decoding: pem, as: UTF8.self), now: Date())
                print("registered device \(record.id) for user \(record.userId) (key SHA-256 \(SCACommandSupport.fingerprint(record)))")
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "block", abstract: "Block a device: its authorizations are refused until unblocked.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "Device id.") var device: String

        func run() async throws {
            do {
                let record = try DeviceRegistry(database: try SCACommandSupport.openState(data)).block(deviceId: device, now: Date())
                print("device \(record.id): \(record.status.rawValue)")
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unblock", abstract: "Unblock a device and reset its failure count.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "Device id.") var device: String

        func run() async throws {
            do {
                let record = try DeviceRegistry(database: try SCACommandSupport.openState(data)).unblock(deviceId: device, now: Date())
                print("device \(record.id): \(record.status.rawValue)")
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a device for good and revoke its certificates.",
            discussion: "Exit 0 when every certificate is revoked, 1 when some revocations failed (run again to retry), 2 on other errors.")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var config: ConfigOption
        @Option(help: "Device id.") var device: String

        func run() async throws {
            let report: DeviceRemovalReport
            do {
                let dir = try data.ensureExists()
                let database = try SCACommandSupport.openState(data)
                let needsCA = try database.certificates(deviceId: device).contains { $0.status == .active || $0.status == .superseded }
                let ca: (any CertificateAuthorityService)? = needsCA ? try await makeCertificateAuthority(dataDirectory: dir, configuration: try config.load()) : nil
                let operation = CommandLease.operationId("device-remove")
                report = try await CommandLease.holdingDevice(device, database: database, operation: operation) {
                    try await DeviceRemoval(database: database, certificateAuthority: ca).remove(deviceId: device, now: Date(), operation: operation)
                }
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
            print("device \(report.device.id): \(report.device.status.rawValue)")
            for r in report.revoked { print("revoked certificate \(r.serial) (\(r.reason.rawValue))") }
            for s in report.alreadyRevoked { print("certificate \(s) was already revoked") }
            for f in report.failed {
                FileHandle.standardError.write(Data("error: certificate \(f.serial) not revoked: \(f.error)\(f.retryable ? " (retry later)" : "")\n".utf8))
            }
            if !report.complete {
                FileHandle.standardError.write(Data("error: \(report.failed.count) certificate(s) of device \(report.device.id) are not revoked; run `signd device remove --device \(report.device.id)` again\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List registered devices.")
        @OptionGroup var data: DataDirectoryOption
        @Flag(help: "Print JSON.") var json = false

        struct Entry: Encodable {
            var deviceId: String
            var userId: String
            var status: String
            var failedAttempts: Int
            var publicKeySHA256: String?
            var createdAt: String
            var updatedAt: String
        }

        func run() async throws {
            do {
                let devices = try DeviceRegistry(database: try SCACommandSupport.openState(data)).list()
                let iso = ISO8601DateFormatter()
                let entries = devices.map {
                    Entry(deviceId: $0.id, userId: $0.userId, status: $0.status.rawValue, failedAttempts: $0.failedAttempts,
                          publicKeySHA256: $0.publicKeyDER.map { Hex.encode(Array(SHA256.hash(data: $0))) },
                          createdAt: iso.string(from: $0.createdAt), updatedAt: iso.string(from: $0.updatedAt))
                }
                if json {
                    print(try JSONOutput.encode(entries))
                } else if entries.isEmpty {
                    print("no devices registered")
                } else {
                    for e in entries {
                        print("\(e.deviceId)\tuser \(e.userId)\t\(e.status)\tfailures \(e.failedAttempts)\tupdated \(e.updatedAt)")
                    }
                }
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }
}

/// Shared plumbing of the device, device-sim and authorize commands.
enum SCACommandSupport {
    static func openState(_ data: DataDirectoryOption) throws -> StateDatabase {
        try StateDatabase(path: try data.ensureExists() + "/state.sqlite")
    }

    static func fingerprint(_ device: DeviceRecord) -> String {
        device.publicKeyDER.map { Hex.encode(Array(SHA256.hash(data: $0))) } ?? "(none)"
    }

    /// `error: [code] message` on standard error, for the error types these commands meet.
    static func report(_ error: any Error) {
        let text: String
        switch error {
        case let e as SCAError: text = e.description
        case let e as StateStoreError: text = e.description
        case let e as CertificateAuthorityError: text = e.description
        case let e as ManifestError: text = e.description
        case let e as AuthorizationDenial: text = e.description
        default:
            CLIErrors.report(error)
            return
        }
        FileHandle.standardError.write(Data(("error: " + text + "\n").utf8))
    }

    static func level(_ text: String) throws -> SignatureLevel {
        guard let level = SignatureLevel(rawValue: text) else { throw ValidationError("--level must be B-B or B-T") }
        return level
    }
}
