import ArgumentParser
import Foundation
import SigndCore
import StateStore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Key-encryption key management.",
                                                    subcommands: [RotateKEK.self])

    struct RotateKEK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-kek",
            abstract: "Re-encrypt every stored private key (CA, TSA, cloud keys) under a new key-encryption key.",
            discussion: "The current KEK comes from SIGND_KEK / SIGND_KEK_FILE / <data-dir>/secrets/kek as usual; the new one from --new-kek-file (base64 of 32 bytes, or 32 raw bytes). With the default KEK file, the file is replaced by the new key. Otherwise point SIGND_KEK_FILE at the new file afterwards. Stop the daemon first.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "File holding the new KEK.") var newKekFile: String

        func run() async throws {
            try await CLIErrors.guarding {
                let dir = try data.ensureExists()
                let old = try KeyEncryptionKey.load(dataDirectory: dir, createIfMissing: false)
                let new = try KeyEncryptionKey.load(dataDirectory: dir, environment: ["SIGND_KEK_FILE": newKekFile])
                guard old.id != new.id else { throw ValidationError("the new KEK is the current one") }
                let report = try KEKRotation.rotateFiles(under: dir, from: old, to: new)
                let database = try Composition.database(dir)
                let clouds = try database.resealCloudKeys { json in
                    let blob = try JSONDecoder().decode(EncryptedBlob.self, from: Data(json.utf8))
                    return String(decoding: try JSONEncoder().encode(try KEKRotation.reseal(blob, from: old, to: new)), as: UTF8.self)
                }
                if old.origin.hasPrefix("default:") {
                    let raw = try Data(contentsOf: URL(fileURLWithPath: newKekFile))
                    try SecureFile.write(Array(raw), to: dir + "/secrets/kek")
                }
                print("rotated \(report.rotatedFiles.count) key file(s) and \(clouds) cloud key(s) from KEK \(old.id) to \(new.id)")
                if !old.origin.hasPrefix("default:") { print("now set SIGND_KEK_FILE (or SIGND_KEK) to the new key before starting signd") }
            }
        }
    }
}
