import ArgumentParser
import CertificateAuthority
import Foundation
import Hummingbird
import SigndCore
import SigndHTTP
import Timestamping
import X509

struct TSACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsa",
        abstract: "The embedded RFC 3161 time-stamping authority.",
        subcommands: [Serve.self, CertificateCommand.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve RFC 3161 over HTTP (POST /tsa).")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var config: ConfigOption
        @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).") var listen: String = "127.0.0.1:3161"

        func run() async throws {
            let parts = listen.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--listen must be HOST:PORT") }
            do {
                let dir = try data.ensureExists()
                let identity = try Composition.tsaIdentity(dataDirectory: dir, configuration: try config.load())
                let app = TSARoutes.application(authority: identity.authority(dataDirectory: dir), host: String(parts[0]), port: port) { bound in
                    FileHandle.standardOutput.write(Data("signd TSA listening on http://\(parts[0]):\(bound)/tsa\n".utf8))
                }
                try await app.runService()
            } catch {
                CLIErrors.report(error)
                throw ExitCode(2)
            }
        }
    }

    struct CertificateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "certificate", abstract: "Print the TSA certificate and its chain as PEM, leaf first, root last.")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var config: ConfigOption

        func run() async throws {
            do {
                let dir = try data.ensureExists()
                let identity = try Composition.tsaIdentity(dataDirectory: dir, configuration: try config.load())
                print(try PEM.encode([identity.certificate] + identity.chain), terminator: "")
            } catch {
                CLIErrors.report(error)
                throw ExitCode(2)
            }
        }
    }
}

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the data directory: key-encryption key (unless SIGND_KEK/SIGND_KEK_FILE is set), the embedded CA and TSA, the databases. Idempotent.")
    @OptionGroup var data: DataDirectoryOption
    @OptionGroup var config: ConfigOption

    func run() async throws {
        do {
            let dir = try data.ensureExists()
            let kek = try KeyEncryptionKey.load(dataDirectory: dir)
            let configuration = try config.load()
            let ca = try Composition.embeddedCA(dataDirectory: dir, configuration: configuration)
            let identity = try Composition.tsaIdentity(dataDirectory: dir, configuration: configuration)
            _ = try Composition.database(dir)
            _ = try Composition.audit(dir)
            print("data directory: \(dir)")
            print("embedded CA: \(try await ca.caChain().map { "\($0.subject)" }.joined(separator: " <- ")), chain \(dir)/ca/")
            print("key-encryption key: id \(kek.id) (\(kek.origin))")
            print("embedded TSA: \(identity.certificate.subject), issued by \(identity.certificate.issuer); certificate \(dir)/tsa/tsa.pem, trust anchor \(dir)/tsa/root.pem")
        } catch {
            CLIErrors.report(error)
            throw ExitCode(2)
        }
    }
}
