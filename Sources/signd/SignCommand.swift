import ArgumentParser
import CMSSigning
import DocumentSigning
import Foundation
import PAdES
import PDFSignatures
import SigndCore
import Timestamping
import X509

struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a PDF (PAdES B-B or B-T) as an incremental update, writing a new file.")

    @Argument(help: "The PDF to sign (never modified).") var input: String
    @Option(name: .shortAndLong, help: "Where to write the signed PDF (written atomically).") var output: String
    @Option(help: "Signer private key, PEM (EC: PKCS#8 or SEC1; RSA: PKCS#1 or PKCS#8).") var key: String
    @Option(help: "Signer certificate, PEM.") var cert: String
    @Option(help: "Intermediate (and optionally root) certificates to embed, PEM.") var chain: String?
    @Option(help: "Reason for signing (/Reason).") var reason: String?
    @Option(help: "Place of signing (/Location).") var location: String?
    @Option(help: "Signer contact information (/ContactInfo).") var contact: String?
    @Option(help: "Signer name (/Name).") var name: String?
    @Option(help: "Signature field: a new name, or an existing empty signature field to fill.") var field: String?
    @Option(help: "Page (1-based) for the signature widget.") var page: Int = 1
    @Option(help: "Digest algorithm: sha256, sha384 or sha512.") var digest: String = "sha256"
    @Option(help: "RSA padding: pkcs1v15 or pss.") var rsaPadding: String = "pkcs1v15"
    @Option(help: "Signing time to write as /M (ISO 8601); default now. For reproducible output.") var signingTime: String?
    @Option(help: "PAdES level: B-B, or B-T (adds an RFC 3161 signature timestamp).") var level: String = "B-B"
    @OptionGroup var timestamps: TimestampOptions
    @OptionGroup var data: DataDirectoryOption
    @Flag(help: "Print the outcome as JSON.") var json = false

    func run() async throws {
        do {
            guard let digestAlgorithm = DigestAlgorithm(rawValue: digest) else {
                throw ValidationError("--digest must be sha256, sha384 or sha512")
            }
            guard let padding = RSAPadding(rawValue: rsaPadding) else {
                throw ValidationError("--rsa-padding must be pkcs1v15 or pss")
            }
            var time = Date()
            if let signingTime {
                guard let t = ISO8601DateFormatter().date(from: signingTime) else {
                    throw ValidationError("--signing-time must be ISO 8601, e.g. 2026-01-31T12:00:00Z")
                }
                time = t
            }
            let keyMaterial = try KeyFiles.privateKey(path: key)
            let certificate = try KeyFiles.certificate(path: cert)
            let chainCerts = try chain.map { try KeyFiles.certificates(path: $0) } ?? []
            let signer = try PrivateKeySigner(key: keyMaterial, certificate: certificate, rsaPadding: padding)
            let builder = PAdESSignatureBuilder(signer: signer, chain: chainCerts, digest: digestAlgorithm)
            let request = SignatureRequest(fieldName: field, pageIndex: page - 1, signingTime: time,
                                           reason: reason, location: location, contactInfo: contact, name: name)
            var timestamper: TimestampClient?
            switch level {
            case "B-B": break
            case "B-T":
                let client = try timestamps.makeClient(dataDirectory: try data.ensureExists())
                // Size /Contents for this TSA's tokens; also fails early, before any output, if no TSA works.
                try await client.calibrate()
                timestamper = client
            default: throw ValidationError("--level must be B-B or B-T")
            }
            let outcome = try await PDFSigningService().sign(inputPath: input, outputPath: output, builder: builder, request: request, timestamper: timestamper)
            if json {
                print(try JSONOutput.encode(outcome))
            } else {
                print("signed \(input) -> \(outcome.outputPath) (field \(outcome.fieldName), \(outcome.level), \(outcome.digestAlgorithm))")
                for w in outcome.warnings { print("warning: \(w)") }
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            CLIErrors.report(error)
            throw ExitCode(2)
        }
    }
}
