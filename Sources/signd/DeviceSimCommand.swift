import ArgumentParser
import DeviceSimulation
import Foundation
import Jobs
import SCA

/// `signd device-sim ...`: a simulated phone for integrators and tests (docs/sca.md).
struct DeviceSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-sim",
        abstract: "Device simulator: a P-256 key pair in a directory, CSRs, job authorizations, manifests and DTBS signatures.",
        subcommands: [Create.self, CSR.self, Authorize.self, Manifest.self, SignDTBS.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a device key pair; print the public key PEM's path.")
        @Option(help: "The simulator's directory (created if missing).") var dir: String

        func run() async throws {
            do {
                let sim = try DeviceSimulator.create(directory: dir)
                print(sim.publicKeyPath ?? "")
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct CSR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "csr", abstract: "Print a PEM CSR for the device key, signed by it.")
        @Option(help: "The simulator's directory.") var dir: String
        @Option(help: "Subject, RFC 4514, e.g. \"CN=Jana Novakova,serialNumber=PNOCZ-1234,C=CZ\".") var subject: String

        func run() async throws {
            do {
                print(try DeviceSimulator(directory: dir).csrPEM(subject: subject), terminator: "")
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct Authorize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "authorize", abstract: "Print a device-signature authorization object for a job and its PDF.")
        @Option(help: "The simulator's directory.") var dir: String
        @Option(help: "Job id.") var job: String
        @Option(help: "The PDF the job signs (its SHA-256 is bound).") var document: String
        @Option(help: "User id.") var user: String
        @Option(help: "Device id.") var device: String
        @Option(help: "Signature level: B-B or B-T.") var level: String
        @Option(help: "Signing mode the user approves: cloud or external.") var mode: String = "cloud"
        @Option(name: .customLong("expires-in"), help: "Validity in seconds (default 300).") var expiresIn: Int = 300
        @Option(help: "Signature encoding: DER or JOSE.") var format: String = "DER"
        @OptionGroup var appearance: AppearanceOptions

        func run() async throws {
            do {
                let lvl = try SCACommandSupport.level(level)
                guard let signingMode = SigningMode(rawValue: mode) else { throw ValidationError("--mode must be cloud or external") }
                guard expiresIn > 0, expiresIn <= 315_360_000 else { throw ValidationError("--expires-in must be between 1 and 315360000 seconds (10 years)") }
                guard let fmt = ECDSASignatureFormat(rawValue: format.uppercased()) else { throw ValidationError("--format must be DER or JOSE") }
                let authorization = try DeviceSimulator(directory: dir).authorize(
                    jobId: job, documentPath: document, userId: user, deviceId: device, level: lvl, mode: signingMode,
                    appearance: appearance.appearance, spoolDefaults: try appearance.spoolDefaultsAppearance(), now: Date(),
                    expiresIn: TimeInterval(expiresIn), format: fmt)
                print(try JSONOutput.encode(authorization))
            } catch let e as ValidationError {
                throw e
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct Manifest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "manifest",
            abstract: "Print a complete, valid sign manifest (v1) for a PDF, with a fresh authorization in cloud mode.")
        @Option(help: "The simulator's directory.") var dir: String
        @Option(help: "The PDF (the manifest names its file name and SHA-256).") var pdf: String
        @Option(help: "Job id.") var job: String
        @Option(help: "User id.") var user: String
        @Option(help: "Device id.") var device: String
        @Option(help: "Signature level: B-B or B-T.") var level: String = "B-T"
        @Option(help: "Signing mode: cloud (authorization included) or external (the DTBS signature is the proof).") var mode: String = "cloud"
        @Option(name: .customLong("expires-in"), help: "Authorization validity in seconds (default 300).") var expiresIn: Int = 300
        @OptionGroup var appearance: AppearanceOptions

        func run() async throws {
            do {
                let lvl = try SCACommandSupport.level(level)
                guard let signingMode = SigningMode(rawValue: mode) else { throw ValidationError("--mode must be cloud or external") }
                guard expiresIn > 0, expiresIn <= 315_360_000 else { throw ValidationError("--expires-in must be between 1 and 315360000 seconds (10 years)") }
                let manifest = try DeviceSimulator(directory: dir).manifest(
                    pdfPath: pdf, jobId: job, userId: user, deviceId: device, level: lvl, mode: signingMode,
                    appearance: appearance.appearance, spoolDefaults: try appearance.spoolDefaultsAppearance(), now: Date(),
                    expiresIn: TimeInterval(expiresIn))
                print(try JSONOutput.encode(manifest))
            } catch let e as ValidationError {
                throw e
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct SignDTBS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-dtbs",
            abstract: "Sign a pending DTBS (external mode): read {jobId, dtbs}, print {jobId, signature} (base64 DER ECDSA).")
        @Option(help: "The simulator's directory.") var dir: String
        @Argument(help: "The pending file, <job>.dtbs.json.") var pending: String

        func run() async throws {
            do {
                guard let json = FileManager.default.contents(atPath: pending) else {
                    throw SCAError(code: "io.read", message: "cannot read \(pending); check the path")
                }
                print(try JSONOutput.encode(try DeviceSimulator(directory: dir).signPending(json)))
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
        }
    }
}

/// The signature appearance a simulated approval covers (`--reason --location --contact --name
/// --field`), and the spool's defaults the daemon will merge under it (`--spool-defaults`).
struct AppearanceOptions: ParsableArguments {
    @Option(help: "Signature reason (appearance.reason).") var reason: String?
    @Option(help: "Signing location (appearance.location).") var location: String?
    @Option(help: "Contact info (appearance.contactInfo).") var contact: String?
    @Option(help: "Signer name (appearance.name).") var name: String?
    @Option(help: "Signature field name (appearance.fieldName).") var field: String?
    @Option(name: .customLong("spool-defaults"),
            help: "The target spool's appearance defaults (its spools[].appearance object from the daemon's configuration), as JSON or @FILE. The daemon merges them under the manifest's appearance, so the approval must cover the merged appearance.")
    var spoolDefaults: String?

    /// The appearance the manifest carries (nil when no option is given).
    var appearance: SignManifest.Appearance? {
        guard reason != nil || location != nil || contact != nil || name != nil || field != nil else { return nil }
        return SignManifest.Appearance(reason: reason, location: location, contactInfo: contact, name: name, fieldName: field)
    }

    func spoolDefaultsAppearance() throws -> SignManifest.Appearance? {
        try Self.parseSpoolDefaults(spoolDefaults)
    }

    /// `--spool-defaults`: a JSON object of appearance texts, or `@FILE` holding one.
    static func parseSpoolDefaults(_ spoolDefaults: String?) throws -> SignManifest.Appearance? {
        guard let spoolDefaults else { return nil }
        let data: Data
        if spoolDefaults.hasPrefix("@") {
            let path = String(spoolDefaults.dropFirst())
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw SCAError(code: "io.read", message: "cannot read --spool-defaults file \(path)")
            }
            data = contents
        } else {
            data = Data(spoolDefaults.utf8)
        }
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any],
              let appearance = try? JSONDecoder().decode(SignManifest.Appearance.self, from: data) else {
            throw SCAError(code: "sim.badDefaults", message: "--spool-defaults must be a JSON object like {\"reason\": \"...\", \"location\": \"...\"} (keys reason, location, contactInfo, name, fieldName, string values)")
        }
        return appearance
    }
}
