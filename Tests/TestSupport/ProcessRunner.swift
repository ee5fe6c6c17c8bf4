import Foundation

/// What a finished child process left behind.
public typealias ProcessOutput = (status: Int32, stdout: String, stderr: String)

public struct ProcessRunnerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs external programs (signd, openssl, qpdf, pdfsig, python3 …) synchronously.
///
/// Standard output and standard error go to temporary files, not pipes, so a child that writes a
/// lot to both can never block on a full pipe while we wait for it. Standard input is /dev/null.
public enum ProcessRunner {
    /// Runs `executable` (a path, or a name looked up in `PATH`) with `args` in `cwd` (default: the
    /// current directory). `environment` entries are added to (or override) this process's
    /// environment. A child still running after `timeout` seconds is killed and reported as an
    /// error. Throws only when the program cannot be started or times out; a non-zero exit status is
    /// returned, not thrown.
    public static func run(_ executable: String, _ args: [String], cwd: String? = nil,
                           environment: [String: String] = [:], timeout: TimeInterval = 300) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(executable))
        process.arguments = args
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }

        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("signd-proc-\(UUID().uuidString)").path
        let outPath = base + ".out", errPath = base + ".err"
        guard fm.createFile(atPath: outPath, contents: nil), fm.createFile(atPath: errPath, contents: nil),
              let outHandle = FileHandle(forWritingAtPath: outPath), let errHandle = FileHandle(forWritingAtPath: errPath) else {
            throw ProcessRunnerError(description: "cannot create temporary output files at \(base).*")
        }
        defer {
            try? fm.removeItem(atPath: outPath)
            try? fm.removeItem(atPath: errPath)
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice

        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            try? outHandle.close()
            try? errHandle.close()
            throw ProcessRunnerError(description: "cannot start \(executable): \(error)")
        }
        // Close our copies so only the child holds the files open.
        try? outHandle.close()
        try? errHandle.close()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = finished.wait(timeout: .now() + 5)
            throw ProcessRunnerError(description: "\(executable) \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s; killed")
        }
        process.waitUntilExit()
        let stdout = String(decoding: fm.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: fm.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        return (process.terminationStatus, stdout, stderr)
    }

    /// The full path of `name`: itself when it contains a slash, else the first executable match in
    /// `PATH`.
    public static func resolve(_ name: String) throws -> String {
        if name.contains("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ProcessRunnerError(description: "\(name) not found in PATH (\(path)); run scripts/test-deps.sh")
    }

    /// Whether `name` can be found (see `resolve`).
    public static func isAvailable(_ name: String) -> Bool {
        (try? resolve(name)) != nil
    }

    /// A multi-line summary of a run, for assertion messages.
    public static func describe(_ output: ProcessOutput, _ label: String = "") -> String {
        "\(label) exit \(output.status)\n--- stdout\n\(output.stdout)--- stderr\n\(output.stderr)"
    }
}
