import ArgumentParser
import CMSSigning
import DocumentSigning
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
    /// Runs `body`; a failure is printed with its code and ends the command with exit 2.
    static func guarding(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let e as ValidationError {
            throw e
        } catch let e as ExitCode {
            throw e
        } catch {
            report(error)
            throw ExitCode(2)
        }
    }

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
        case let e as any CustomStringConvertible where e.description.hasPrefix("["):
            text = e.description // every signd error type prints "[code] message"
        case let e as any SigndError: text = "[\(e.codeString)] \(e.operatorMessage)"  // e.g. SQLite errors (state.*)
        default:
            let failure = classify(error)  // storage.full, system.descriptorsExhausted, else internal
            text = failure.code == SystemErrorCodes.internal ? "[internal] \(error)" : "[\(failure.code)] \(failure.message)"
        }
        FileHandle.standardError.write(Data(("error: " + text + "\n").utf8))
    }
}
