import Foundation
import SwiftASN1
import X509

public struct KeyFileError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }
        /// A key or certificate file cannot be read.
        public static let read = Code(rawValue: "io.read")
        /// A certificate file holds no usable PEM certificate.
        public static let certificateMalformed = Code(rawValue: "certificate.malformed")
    }
    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public init(code: String, message: String) {
        self.init(code: Code(rawValue: code), message: message)
    }
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}

/// Reads certificates from PEM files (private keys: `KeyFiles.privateKey` in DocumentSigning).
public enum KeyFiles {
    /// The text of a PEM file (`io.read` when it cannot be read).
    package static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyFileError(code: .read, message: "cannot read \(path); check the path and permissions")
        }
        return String(decoding: data, as: UTF8.self)
    }

    public static func certificate(path: String) throws -> Certificate {
        guard let first = try certificates(path: path).first else {
            throw KeyFileError(code: .certificateMalformed, message: "\(path) holds no PEM certificate")
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
            throw KeyFileError(code: .certificateMalformed, message: "\(path) is not a PEM certificate file: \(error)")
        }
    }
}
