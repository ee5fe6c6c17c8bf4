import Foundation

extension FuzzTargets {
    /// Copies libFuzzer's input into an array (an empty input may come with a null pointer).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Ends the process with `status` (for the fuzz executables, which do not import Foundation).
    public static func exit(_ status: Int32) -> Never {
        Foundation.exit(status)
    }

    /// The regular files in `directory` and below, sorted by path; hidden files (`.gitkeep`,
    /// README) are skipped.
    public static func corpusFiles(in directory: URL) -> [URL] {
        guard let enumerator = FileManager.default.enumerator(
            at: directory, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else { return [] }
        var files: [URL] = []
        for case let url as URL in enumerator {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
               url.lastPathComponent != "README.md" {
                files.append(url)
            }
        }
        return files.sorted { $0.path < $1.path }
    }

    /// Replay mode of the fuzz executables in the normal build: runs target `name` on every file
    /// named in `paths` (directories are read recursively; `*.b64` files are decoded first, as the
    /// corpora commit binary inputs that way). Returns the exit status: 0 when every
    /// input ran (a crashing input ends the process), 2 for unreadable paths or no inputs.
    public static func replay(_ name: String, paths: [String]) -> Int32 {
        guard !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments.first ?? name) FILE|DIR...\n(replay mode; build with `make fuzz` for libFuzzer)\n".utf8))
            return 2
        }
        var count = 0
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("\(path): no such file or directory\n".utf8))
                return 2
            }
            let url = URL(fileURLWithPath: path)
            for file in isDirectory.boolValue ? corpusFiles(in: url) : [url] {
                guard var data = FileManager.default.contents(atPath: file.path) else {
                    FileHandle.standardError.write(Data("\(file.path): cannot read\n".utf8))
                    return 2
                }
                // Binary corpus inputs are committed as base64 text (*.b64).
                if file.pathExtension == "b64" {
                    guard let decoded = Data(base64Encoded: String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }) else {
                        FileHandle.standardError.write(Data("\(file.path): not base64\n".utf8))
                        return 2
                    }
                    data = decoded
                }
                print("\(name): \(file.path) (\(data.count) bytes)")
                run(name, Array(data))
                count += 1
            }
        }
        print("\(name): \(count) inputs replayed")
        return count > 0 ? 0 : 2
    }
}
