import Foundation

/// The interop test inputs: the test PKI (make_pki.sh) and the PDF corpus (make_corpus.py, which
/// pre-signs with that PKI), generated once per test process into one temporary directory and
/// removed when the process exits (kept with `SIGND_KEEP_TEMP=1`). See
/// Tests/InteropTests/Fixtures/README.md for what each file is.
///
/// `try InteropFixtures.shared` is thread-safe: the first caller builds everything (≈5 s), later
/// callers get the same instance, or the same error when building failed.
public final class InteropFixtures: Sendable {
    /// A signer from the PKI: `<name>.key.pem` (PKCS#8) and `<name>.cert.pem`.
    public struct Signer: Sendable {
        public let name: String
        public let key: String
        public let cert: String
    }

    public struct BuildError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The directory holding `pki/` and `corpus/`.
    public let directory: String
    public let pkiDirectory: String
    public let corpusDirectory: String
    /// Names of the corpus files (as printed by make_corpus.py), e.g. `classic.pdf`.
    public let corpusFiles: [String]

    public static var shared: InteropFixtures {
        get throws { try cached.get() }
    }

    /// A file of the PKI by name, e.g. `root.pem`, `rsa2048.pkcs1.pem`.
    public func pki(_ name: String) -> String { pkiDirectory + "/" + name }
    /// A corpus file by name, e.g. `classic.pdf`.
    public func corpus(_ name: String) -> String { corpusDirectory + "/" + name }
    /// A signer by name: ec256, ec384, rsa2048, rsa3072, rsa4096, nokeyusage, untrusted.
    public func signer(_ name: String) -> Signer {
        Signer(name: name, key: pki("\(name).key.pem"), cert: pki("\(name).cert.pem"))
    }

    /// The test root CA (the only trust anchor for verification).
    public var rootCertificate: String { pki("root.pem") }
    /// Intermediate then root, for `--chain` / `--other-certs`.
    public var chain: String { pki("chain.pem") }
    /// `sql:<pki>/nssdb` for `pdfsig -nssdir`: an NSS database trusting only the root.
    public var nssDirectory: String { "sql:" + pki("nssdb") }
    public var hasNSSDatabase: Bool { FileManager.default.fileExists(atPath: pki("nssdb")) }
    /// `tamper.py` (flip / append / change-content).
    public var tamperScript: String { PackagePaths.fixture("tamper.py") }

    private init(directory: String, corpusFiles: [String]) {
        self.directory = directory
        self.pkiDirectory = directory + "/pki"
        self.corpusDirectory = directory + "/corpus"
        self.corpusFiles = corpusFiles
    }

    // MARK: - Building once

    private static let cached: Result<InteropFixtures, BuildError> = {
        do {
            return .success(try build())
        } catch let e as BuildError {
            return .failure(e)
        } catch {
            return .failure(BuildError(description: "\(error)"))
        }
    }()

    private static func build() throws -> InteropFixtures {
        for tool in ["bash", "openssl", "qpdf", "python3"] where !ProcessRunner.isAvailable(tool) {
            throw BuildError(description: "\(tool) is not installed; run scripts/test-deps.sh")
        }
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("signd-interop-\(UUID().uuidString)").standardizedFileURL.path
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        CleanupAtExit.register(dir)

        let pki = try ProcessRunner.run("bash", [PackagePaths.fixture("make_pki.sh"), dir + "/pki"], timeout: 300)
        guard pki.status == 0 else {
            throw BuildError(description: "make_pki.sh failed (run scripts/test-deps.sh?)\n" + ProcessRunner.describe(pki))
        }
        let corpus = try ProcessRunner.run("python3", [PackagePaths.fixture("make_corpus.py"), dir + "/corpus", "--pki", dir + "/pki"],
                                           timeout: 300)
        guard corpus.status == 0 else {
            throw BuildError(description: "make_corpus.py failed (run scripts/test-deps.sh?)\n" + ProcessRunner.describe(corpus))
        }
        let files = corpus.stdout.split(whereSeparator: \.isNewline)
            .map { URL(fileURLWithPath: String($0)).lastPathComponent }
            .filter { $0.hasSuffix(".pdf") }
        return InteropFixtures(directory: dir, corpusFiles: files)
    }
}

/// Removes registered directories when the process exits (unless `SIGND_KEEP_TEMP=1`).
private enum CleanupAtExit {
    private final class Paths: @unchecked Sendable {
        let lock = NSLock()
        var paths: [String] = []
        var registered = false
    }
    private static let state = Paths()

    static func register(_ path: String) {
        guard ProcessInfo.processInfo.environment["SIGND_KEEP_TEMP"] != "1" else { return }
        state.lock.lock()
        defer { state.lock.unlock() }
        state.paths.append(path)
        if !state.registered {
            state.registered = true
            atexit { CleanupAtExit.removeAll() }
        }
    }

    static func removeAll() {
        state.lock.lock()
        let paths = state.paths
        state.paths = []
        state.lock.unlock()
        for p in paths { try? FileManager.default.removeItem(atPath: p) }
    }
}
