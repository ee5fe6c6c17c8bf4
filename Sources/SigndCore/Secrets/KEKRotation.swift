import Foundation

/// Re-encrypts every secret of a data directory from one KEK to another (`signd keys
/// rotate-kek`). Secret files are the `EncryptedBlob` JSON files under the data directory; other
/// stores (e.g. cloud keys in the state database) are re-sealed by the caller through `reseal`.
/// Each file is replaced atomically; a failure leaves every file readable with one of the two
/// KEKs (the report says which were done).
public enum KEKRotation {
    public struct Report: Sendable {
        public var rotatedFiles: [String] = []
        public var alreadyRotated: [String] = []
    }

    /// Every file under `directory` that holds an `EncryptedBlob`.
    public static func secretFiles(under directory: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var out: [String] = []
        for case let relative as String in walker where relative.hasSuffix(".json") {
            let path = directory + "/" + relative
            if let data = FileManager.default.contents(atPath: path), data.count < 1 << 20,
               (try? JSONDecoder().decode(EncryptedBlob.self, from: data)) != nil {
                out.append(path)
            }
        }
        return out.sorted()
    }

    public static func reseal(_ blob: EncryptedBlob, from old: KeyEncryptionKey, to new: KeyEncryptionKey) throws -> EncryptedBlob {
        if blob.kekID == new.id { return blob }
        return try new.seal(try old.open(blob), context: blob.context)
    }

    public static func rotateFiles(under directory: String, from old: KeyEncryptionKey, to new: KeyEncryptionKey) throws -> Report {
        var report = Report()
        for path in secretFiles(under: directory) {
            let blob = try SecureFile.readJSON(EncryptedBlob.self, from: path)
            if blob.kekID == new.id { report.alreadyRotated.append(path); continue }
            try SecureFile.writeJSON(try reseal(blob, from: old, to: new), to: path)
            report.rotatedFiles.append(path)
        }
        return report
    }
}
