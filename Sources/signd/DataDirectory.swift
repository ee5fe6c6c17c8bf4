import ArgumentParser
import Foundation

/// `--data-dir`, shared by every command that keeps state: default `$SIGND_DATA_DIR`, else `./var`.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "State directory (default $SIGND_DATA_DIR or ./var); created on first use.")
    var dataDir: String?

    var path: String {
        let p = dataDir ?? ProcessInfo.processInfo.environment["SIGND_DATA_DIR"] ?? "./var"
        return URL(fileURLWithPath: p).standardizedFileURL.path
    }

    func ensureExists() throws -> String {
        let p = path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        return p
    }
}
