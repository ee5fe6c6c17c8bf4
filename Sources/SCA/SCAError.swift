import Foundation

/// A failure of SCA administration or tooling (device registry, device simulator, PowerAuth client
/// configuration), with a stable code (docs/sca.md). Authorization decisions are not errors: they
/// are ``AuthorizationOutcome`` values.
public struct SCAError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let message: String
    /// Whether trying the same thing later may succeed (CA or PowerAuth unreachable).
    public let retryable: Bool

    public init(code: String, message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "[\(code)] \(message)" }
}
