import Foundation
import SwiftASN1
import X509

public struct KeyFileError: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String
    public var description: String { "[\(code)] \(message)" }
}

/// Reads certificates from PEM files (private keys: `KeyFiles.privateKey` in DocumentSigning).
public enum KeyFiles {
    /// The text of a PEM file (`io.read` when it cannot be read).
    package static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyFileError(code: "io.read", message: "cannot read \(path); check the path and permissions")
        }
        return String(decoding: data, as: UTF8.self)
    }

    public static func certificate(path: String) throws -> Certificate {
        guard let first = try certificates(path: path).first else {
            throw KeyFileError(code: "certificate.malformed", message: "\(path) holds no PEM certificate")
        }
        return first
    }

    /// Every `CERTIFICATE` block of a PEM file, in order.
    public static func certificates(path: String) throws -> [Certificate] {
        let text = try read(path)
        do {
            return try PEMDocument.parseMultiple(pemString: text)
                .filter { $0.discriminator == "CERTIFICATE" }
                .map { try Certificate(derEncoded: $0.derBytes) }
        } catch {
            throw KeyFileError(code: "certificate.malformed", message: "\(path) is not a PEM certificate file: \(error)")
        }
    }
}
