// signd-bench: in-process benchmarks of PDFSigningService (see bench/run.sh, docs/performance.md).
//
//   signd-bench many --dir DIR --key K --cert C [--chain CH] [--count N] [--bt DATA_DIR]
//       Signs every *.pdf in DIR (sorted by name; the first N with --count) sequentially,
//       writing DIR/out/<name>. Prints JSON
//       {docs, seconds, docsPerSecond, msPerDocP50, msPerDocP95, peakRSSMiB}.
//   signd-bench one --input F --output O --key K --cert C [--chain CH]
//       Signs one file. Prints JSON {seconds, bytes, MBperSecond, peakRSSMiB}
//       (bytes = input size, MB = 10^6 bytes).
//   signd-bench hash --input F
//       Reads F the way the signer does (FileByteSource, 1 MiB chunks) and SHA-256s it, without
//       parsing or writing: the floor for `one`. Prints JSON {seconds, bytes, MBperSecond, peakRSSMiB}.
//
// Key, certificate and chain are loaded once, outside the timed region; each timed document
// covers PDFSigningService.sign from opening the input to the fsynced rename of the output.

import CMSSigning
import DocumentSigning
import Foundation
import PAdES
import PDFSignatures
import SigndCore
import Timestamping
import X509

struct UsageError: Error, CustomStringConvertible {
    let description: String
}

let usage = """
    usage:
      signd-bench many --dir DIR --key K --cert C [--chain CH] [--count N]
      signd-bench one --input F --output O --key K --cert C [--chain CH]
      signd-bench hash --input F
    """

/// `--name value` pairs after the subcommand.
func parseOptions(_ args: ArraySlice<String>, allowed: Set<String>) throws -> [String: String] {
    var options: [String: String] = [:]
    var i = args.startIndex
    while i < args.endIndex {
        let arg = args[i]
        guard arg.hasPrefix("--"), allowed.contains(String(arg.dropFirst(2))) else {
            throw UsageError(description: "unknown argument \(arg)")
        }
        guard i + 1 < args.endIndex else { throw UsageError(description: "\(arg) needs a value") }
        options[String(arg.dropFirst(2))] = args[i + 1]
        i += 2
    }
    return options
}

func required(_ options: [String: String], _ name: String) throws -> String {
    guard let v = options[name] else { throw UsageError(description: "missing --\(name)") }
    return v
}

/// Peak resident set size of this process (VmHWM), in MiB.
func peakRSSMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) }
        return (kb ?? -1) / 1024
    }
    return -1
}

func seconds(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

func json(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}

func num(_ v: Double, _ decimals: Int = 3) -> String { String(format: "%.\(decimals)f", v) }

func fileSize(_ path: String) throws -> Int64 {
    let attrs = try FileManager.default.attributesOfItem(atPath: path)
    return (attrs[.size] as? NSNumber)?.int64Value ?? 0
}

func makeBuilder(_ options: [String: String]) throws -> PAdESSignatureBuilder {
    let key = try KeyFiles.privateKey(path: required(options, "key"))
    let certificate = try KeyFiles.certificate(path: required(options, "cert"))
    let chain = try options["chain"].map { try KeyFiles.certificates(path: $0) } ?? []
    let signer = try PrivateKeySigner(key: key, certificate: certificate)
    return PAdESSignatureBuilder(signer: signer, chain: chain, digest: .sha256)
}

func runMany(_ options: [String: String]) async throws {
    let dir = try required(options, "dir")
    let builder = try makeBuilder(options)
    var names = try FileManager.default.contentsOfDirectory(atPath: dir)
        .filter { $0.lowercased().hasSuffix(".pdf") }
        .sorted()
    if let c = options["count"] {
        guard let n = Int(c), n > 0 else { throw UsageError(description: "--count must be a positive integer") }
        names = Array(names.prefix(n))
    }
    guard !names.isEmpty else { throw UsageError(description: "no *.pdf files in \(dir)") }
    let outDir = dir + "/out"
    try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)

    let service = PDFSigningService()
    // --bt DATA_DIR: PAdES B-T with the embedded TSA of DATA_DIR, in-process (the CLI's default).
    var timestamper: TimestampClient?
    if let dataDir = options["bt"] {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let identity = try TSAIdentity.loadOrCreate(dataDirectory: dataDir, kek: try KeyEncryptionKey.load(dataDirectory: dataDir))
        let client = TimestampClient(
            configuration: TimestampClientConfiguration(urls: ["embedded"], validator: TimestampTokenValidator(trustAnchors: [identity.root])),
            transport: InProcessTransport(authority: identity.authority(dataDirectory: dataDir)))
        try await client.calibrate()
        timestamper = client
    }
    let clock = ContinuousClock()
    var perDoc: [Double] = []
    perDoc.reserveCapacity(names.count)
    let start = clock.now
    for name in names {
        let t0 = clock.now
        let request = SignatureRequest(signingTime: Date())
        _ = try await service.sign(inputPath: dir + "/" + name, outputPath: outDir + "/" + name,
                                   builder: builder, request: request, timestamper: timestamper)
        perDoc.append(seconds(clock.now - t0) * 1000)
    }
    let total = seconds(clock.now - start)
    perDoc.sort()
    print(json([
        ("docs", String(names.count)),
        ("seconds", num(total)),
        ("docsPerSecond", num(Double(names.count) / total, 1)),
        ("msPerDocP50", num(percentile(perDoc, 50))),
        ("msPerDocP95", num(percentile(perDoc, 95))),
        ("peakRSSMiB", num(peakRSSMiB(), 1)),
    ]))
}

func runOne(_ options: [String: String]) async throws {
    let input = try required(options, "input")
    let output = try required(options, "output")
    let builder = try makeBuilder(options)
    let bytes = try fileSize(input)
    let clock = ContinuousClock()
    let start = clock.now
    _ = try await PDFSigningService().sign(inputPath: input, outputPath: output, builder: builder,
                                           request: SignatureRequest(signingTime: Date()))
    let total = seconds(clock.now - start)
    print(json([
        ("seconds", num(total)),
        ("bytes", String(bytes)),
        ("MBperSecond", num(Double(bytes) / 1e6 / total, 1)),
        ("peakRSSMiB", num(peakRSSMiB(), 1)),
    ]))
}

func runHash(_ options: [String: String]) throws {
    let input = try required(options, "input")
    let clock = ContinuousClock()
    let start = clock.now
    let source = try FileByteSource(path: input)
    var hasher = DigestAlgorithm.sha256.makeHasher()
    try source.forEachChunk(offset: 0, length: source.length) { hasher.update($0) }
    let digest = hasher.finalize()
    let total = seconds(clock.now - start)
    print(json([
        ("seconds", num(total)),
        ("bytes", String(source.length)),
        ("MBperSecond", num(Double(source.length) / 1e6 / total, 1)),
        ("peakRSSMiB", num(peakRSSMiB(), 1)),
        ("sha256", "\"" + Hex.encode(digest) + "\""),
    ]))
}

let arguments = CommandLine.arguments
do {
    guard arguments.count >= 2 else { throw UsageError(description: "missing subcommand") }
    let rest = arguments.dropFirst(2)
    switch arguments[1] {
    case "many":
        try await runMany(try parseOptions(rest, allowed: ["dir", "key", "cert", "chain", "count", "bt"]))
    case "one":
        try await runOne(try parseOptions(rest, allowed: ["input", "output", "key", "cert", "chain"]))
    case "hash":
        try runHash(try parseOptions(rest, allowed: ["input"]))
    case "-h", "--help", "help":
        print(usage)
    default:
        throw UsageError(description: "unknown subcommand \(arguments[1])")
    }
} catch let e as UsageError {
    FileHandle.standardError.write(Data("signd-bench: \(e.description)\n\(usage)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("signd-bench: \(error)\n".utf8))
    exit(1)
}
