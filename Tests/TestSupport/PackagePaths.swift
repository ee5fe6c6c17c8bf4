import Foundation

/// Locations inside the package checkout, found from this source file's path (so tests work from
/// any working directory).
public enum PackagePaths {
    /// The package root (the directory holding Package.swift).
    public static let root: String = {
        // <root>/Tests/TestSupport/PackagePaths.swift
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().standardizedFileURL.path
    }()

    /// The signd executable under test: `$SIGND_BIN`, else `<root>/.build/debug/signd`
    /// (made by `swift build --build-tests`).
    public static var signdBinary: String {
        if let bin = ProcessInfo.processInfo.environment["SIGND_BIN"], !bin.isEmpty { return bin }
        return root + "/.build/debug/signd"
    }

    /// The interop fixture scripts (make_pki.sh, make_corpus.py, tamper.py).
    public static var fixturesDirectory: String { root + "/Tests/InteropTests/Fixtures" }

    /// A fixture script or file by name.
    public static func fixture(_ name: String) -> String { fixturesDirectory + "/" + name }
}
