import Foundation
import PAdES
import PDFSignatures
import PDFSyntax
import SigndCore
import Timestamping

enum JSONOutput {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

enum CLIErrors {
    /// Prints an error with its stable code to standard error.
    static func report(_ error: any Error) {
        let text: String
        switch error {
        case let e as PDFError: text = e.description
        case let e as PAdESError: text = e.description
        case let e as SignatureEmbeddingError: text = e.description
        case let e as SigningServiceError: text = e.description
        case let e as FileWriteError: text = e.description
        case let e as KeyFileError: text = e.description
        case let e as TimestampError: text = e.description
        case let e as SecretError: text = e.description
        default: text = "[internal] \(error)"
        }
        FileHandle.standardError.write(Data(("error: " + text + "\n").utf8))
    }
}
