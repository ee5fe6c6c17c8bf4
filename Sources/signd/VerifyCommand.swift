import ArgumentParser
import CMSSigning
import DocumentSigning
import Foundation
import PAdES
import PDFSyntax
import SigndCore
import Timestamping
import X509

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify every signature of a PDF.",
        discussion: "Exit status: 0 when every signature is intact (and trusted, with --trust); 1 when any is not, or there is none; 2 when the input is unusable.")

    @Argument(help: "The PDF to verify.") var file: String
    @Option(help: "Trusted root certificates, PEM; enables chain validation.") var trust: String?
    @Option(help: "Validation time (ISO 8601); default now.") var at: String?
    @Option(name: .customLong("tsa-trust"), help: "PEM file of TSA trust anchors for signature timestamps (default: --trust roots and the embedded TSA's root).") var tsaTrust: String?
    @OptionGroup var data: DataDirectoryOption
    @Flag(help: "Print the report as JSON (format: docs/verify-json.md).") var json = false

    func run() async throws {
        let report: VerificationReport
        do {
            let roots = try trust.map { try KeyFiles.certificates(path: $0) }
            var time = Date()
            if let at {
                guard let t = ISO8601DateFormatter().date(from: at) else { throw ValidationError("--at must be ISO 8601") }
                time = t
            }
            let document = try PDFDocument(source: try FileByteSource(path: file))
            var tsaAnchors = try tsaTrust.map { try KeyFiles.certificates(path: $0) } ?? []
            tsaAnchors += roots ?? []
            let embeddedRoot = data.path + "/tsa/root.pem"
            if tsaTrust == nil, FileManager.default.fileExists(atPath: embeddedRoot) { tsaAnchors += try KeyFiles.certificates(path: embeddedRoot) }
            let validator = TimestampTokenValidator(trustAnchors: tsaAnchors)
            let verifier = PAdESVerifier(trustRoots: roots, validationTime: time) { token, signatureValue in
                await validator.report(token: token, signatureValue: signatureValue)
            }
            report = try await verifier.verify(document: document, fileName: file)
        } catch let e as ValidationError {
            throw e
        } catch {
            CLIErrors.report(error)
            throw ExitCode(2)
        }
        if json {
            print(try JSONOutput.encode(report))
        } else {
            print("\(report.file): \(report.signatures.count) signature(s), \(report.revisions) revision(s)")
            for s in report.signatures {
                let status = s.intact ? (s.trusted == false ? "INTACT, UNTRUSTED" : (s.trusted == true ? "INTACT, TRUSTED" : "INTACT")) : "INVALID"
                print("- \(s.field): \(status), level \(s.level)")
                print("    signer: \(s.signer ?? "?")")
                print("    signing time (/M): \(s.signingTime ?? "?"); digest \(s.digestAlgorithm ?? "?")")
                print("    revision \(s.revision.map(String.init) ?? "?"), covers whole revision: \(s.coversWholeRevision), later changes: \(s.laterChanges)")
                if let ts = s.timestamp { print("    timestamp: \(ts.genTime) by \(ts.tsa ?? "?")") }
                if !s.problems.isEmpty { print("    problems: \(s.problems.joined(separator: ", "))") }
                if let tp = s.trustProblem { print("    trust: \(tp)") }
            }
            for w in report.warnings { print("warning: \(w)") }
        }
        let ok = report.allIntact && (report.allTrusted ?? true)
        if !ok { throw ExitCode(1) }
    }
}
