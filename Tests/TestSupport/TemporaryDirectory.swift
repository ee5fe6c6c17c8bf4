import Foundation

/// A fresh directory under the system temporary directory, removed (with its contents) when the
/// object goes away unless `SIGND_KEEP_TEMP=1` is set (to inspect what a test left).
public final class TemporaryDirectory: Sendable {
    public let path: String
    private let keep: Bool

    /// `base`: the directory to create it in (default: the system temporary directory).
    public init(prefix: String = "signd-test", in base: String? = nil) throws {
        let fm = FileManager.default
        let parent = base.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? fm.temporaryDirectory
        let path = parent.appendingPathComponent("\(prefix)-\(UUID().uuidString)").standardizedFileURL.path
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
        self.keep = ProcessInfo.processInfo.environment["SIGND_KEEP_TEMP"] == "1"
    }

    /// The path of `name` inside the directory (not created).
    public func file(_ name: String) -> String { path + "/" + name }

    /// Names of everything in the directory, hidden files included, sorted.
    public func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    deinit {
        if !keep { try? FileManager.default.removeItem(atPath: path) }
    }
}
