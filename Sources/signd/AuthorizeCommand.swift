import ArgumentParser
import DeviceSimulation
import Foundation
import Jobs
import SCA

/// `signd authorize check`: would this manifest's authorization be accepted now? Nothing is
/// consumed or counted (docs/sca.md).
struct AuthorizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authorize",
        abstract: "Check SCA authorizations of job manifests.",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check a manifest's authorization against the registered devices without consuming it.",
            discussion: """
                Prints "authorized" (exit 0), or the sca.* error code (exit 1) with the precise reason on standard error. \
                Exit 2 when the manifest or the PDF cannot be used. PowerAuth (powerauth-operation, or device signatures with \
                --powerauth-ecdsa) is reached through SIGND_POWERAUTH_URL, SIGND_POWERAUTH_USER / SIGND_POWERAUTH_PASSWORD \
                (or *_FILE), SIGND_POWERAUTH_TIMEOUT and SIGND_POWERAUTH_CA_FILE.
                """)
        @OptionGroup var data: DataDirectoryOption
        @Argument(help: "The manifest, JSON (version 1).") var manifest: String
        @Option(help: "The PDF (default: the manifest's document.file next to the manifest).") var pdf: String?
        @Option(name: .customLong("max-lifetime"), help: "Longest accepted statement lifetime, seconds.") var maxLifetime: Int = 300
        @Option(name: .customLong("clock-skew"), help: "Tolerated clock difference, seconds.") var clockSkew: Int = 30
        @Option(name: .customLong("operation-data"), help: "Expected PowerAuth operation data template.") var operationData: String = OperationDataTemplate.default.text
        @Flag(name: .customLong("powerauth-ecdsa"), help: "Verify device signatures through PowerAuth signature/ecdsa/verify.") var powerAuthECDSA = false
        @Option(name: .customLong("spool-defaults"),
                help: "The target spool's appearance defaults (its spools[].appearance object), as JSON or @FILE: merged under the manifest's appearance as the daemon does.")
        var spoolDefaults: String?

        func run() async throws {
            let outcome: AuthorizationOutcome
            do {
                guard maxLifetime > 0, clockSkew >= 0 else { throw ValidationError("--max-lifetime must be positive and --clock-skew not negative") }
                guard let data = FileManager.default.contents(atPath: manifest) else {
                    throw SCAError(code: "io.read", message: "cannot read \(manifest); check the path")
                }
                let defaultsAppearance = try AppearanceOptions.parseSpoolDefaults(spoolDefaults)
                let read = try AuthorizationCheck.read(data, defaults: defaultsAppearance.map { ManifestDefaults(appearance: $0) })
                let pdfPath = try pdf ?? defaultPDFPath(read)
                let digest = try FileDigest.sha256Hex(path: pdfPath)
                let configuration = SCAConfiguration(maxLifetime: TimeInterval(maxLifetime), clockSkew: TimeInterval(clockSkew),
                                                     operationDataTemplate: try OperationDataTemplate(operationData),
                                                     verifyDeviceSignaturesWithPowerAuth: powerAuthECDSA)
                var powerAuth: (any PowerAuthService)?
                if let paConfig = try PowerAuthClientConfiguration.fromEnvironment() {
                    powerAuth = try PowerAuthClient(configuration: paConfig)
                } else if powerAuthECDSA {
                    throw ValidationError("--powerauth-ecdsa needs SIGND_POWERAUTH_URL")
                }
                let authorizer = CompositeAuthorizer(database: try SCACommandSupport.openState(self.data), configuration: configuration, powerAuth: powerAuth)
                outcome = await AuthorizationCheck.check(read, documentSHA256: digest, authorizer: authorizer, now: Date())
            } catch let e as ValidationError {
                throw e
            } catch {
                SCACommandSupport.report(error)
                throw ExitCode(2)
            }
            switch outcome {
            case .authorized(let grant):
                print("authorized")
                FileHandle.standardError.write(Data("job \(grant.jobId): \(grant.kind) by device \(grant.deviceId) of user \(grant.userId), reference \(grant.reference) (not consumed)\n".utf8))
            case .denied(let denial):
                print(denial.code.rawValue)
                FileHandle.standardError.write(Data("reason: \(denial.reason)\(denial.upstreamCode.map { " [PowerAuth \($0)]" } ?? "")\n".utf8))
                throw ExitCode(1)
            }
        }

        /// document.file next to the manifest; a symbolic link there is refused (manifest names
        /// are never followed as links).
        func defaultPDFPath(_ read: AuthorizationCheck.ReadManifest) throws -> String {
            let m: SignManifest
            switch read {
            case .manifest(let x), .malformedAuthorization(let x, _): m = x
            }
            let dir = (URL(fileURLWithPath: manifest).standardizedFileURL.path as NSString).deletingLastPathComponent
            let path = dir + "/" + m.document.file
            if let type = try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType, type == .typeSymbolicLink {
                throw SCAError(code: "io.symlink", message: "\(path) is a symbolic link; manifest file names are not followed as links (give the PDF with --pdf)")
            }
            return path
        }
    }
}
