import ArgumentParser
import DeviceSimulation
import DocumentSigning
import Foundation
import Jobs
import SCA
import SigndCore

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Play the orchestrator: drop a PDF and a fresh, correctly authorized manifest into a spool; prints the job id.")
    @Argument(help: "The PDF to submit.") var file: String
    @Option(help: "Device simulator directory (see signd device-sim create).") var deviceDir: String
    @Option(help: "User id.") var user: String
    @Option(help: "Device id.") var device: String
    @Option(help: "Spool root (default $SIGND_SPOOL_ROOT or ./spool).") var spoolRoot: String?
    @Option(help: "Spool name.") var spool: String = "default"
    @Option(help: "B-B or B-T.") var level: String = "B-T"
    @Option(help: "Job id (default: a new UUID).") var job: String?
    @Option(help: "cloud or external.") var mode: String = "cloud"
    @OptionGroup var appearance: AppearanceOptions

    func run() async throws {
        guard let lvl = SignatureLevel(rawValue: level) else { throw ValidationError("--level must be B-B or B-T") }
        guard let m = SigningMode(rawValue: mode) else { throw ValidationError("--mode must be cloud or external") }
        try await CLIErrors.guarding {
            let root = spoolRoot ?? ProcessInfo.processInfo.environment["SIGND_SPOOL_ROOT"] ?? "./spool"
            let incoming = root + "/" + spool + "/incoming"
            try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
            let jobId = job ?? "job-" + UUID().uuidString.lowercased()
            let simulator = try DeviceSimulator(directory: deviceDir)
            // The PDF goes in under the job's name; the manifest is made for that file. Both are
            // written to temporary names and renamed, as the spool protocol asks of producers.
            let pdfName = "\(jobId).pdf"
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("signd-submit-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try FileManager.default.copyItem(atPath: file, toPath: scratch + "/" + pdfName)
            // The approval covers the appearance the daemon will sign: the given texts merged over
            // the spool's defaults (--spool-defaults), as the daemon merges them.
            let manifest = try simulator.manifest(pdfPath: scratch + "/" + pdfName, jobId: jobId, userId: user, deviceId: device, level: lvl, mode: m,
                                                  appearance: appearance.appearance, spoolDefaults: try appearance.spoolDefaultsAppearance(), now: Date())
            let pdfWriter = try AtomicFileWriter(path: incoming + "/" + pdfName)
            let source = try FileByteSource(path: scratch + "/" + pdfName)
            try source.forEachChunk(offset: 0, length: source.length) { try pdfWriter.write($0) }
            try pdfWriter.commit()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let writer = try AtomicFileWriter(path: incoming + "/\(jobId).json")
            try writer.write(Array(try encoder.encode(manifest)))
            try writer.commit()
            print(jobId)
        }
    }
}
