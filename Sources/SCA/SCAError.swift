import Foundation
import SigndCore

/// A failure of SCA administration or tooling (device registry, device simulator, PowerAuth client
/// configuration), with a stable code (docs/sca.md). Authorization decisions are not errors: they
/// are ``AuthorizationOutcome`` values.
public struct SCAError: SigndError, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let deviceInvalidId = Code(rawValue: "device.invalidId")
        public static let deviceInvalidKey = Code(rawValue: "device.invalidKey")
        public static let deviceNoCA = Code(rawValue: "device.noCA")
        public static let ioRead = Code(rawValue: "io.read")
        public static let ioSymlink = Code(rawValue: "io.symlink")
        public static let powerauthConfiguration = Code(rawValue: "powerauth.configuration")
        public static let invalidTemplate = Code(rawValue: "sca.invalidTemplate")
        public static let simBadDTBS = Code(rawValue: "sim.badDTBS")
        public static let simBadDefaults = Code(rawValue: "sim.badDefaults")
        public static let simBadKey = Code(rawValue: "sim.badKey")
        public static let simExists = Code(rawValue: "sim.exists")
        public static let simNoDevice = Code(rawValue: "sim.noDevice")
        public static let subjectInvalid = Code(rawValue: "subject.invalid")
    }

    public let code: Code
    public let message: String
    /// Whether trying the same thing later may succeed (CA or PowerAuth unreachable).
    public let retryable: Bool

    public init(code: Code, message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public init(code: String, message: String, retryable: Bool = false) {
        self.init(code: Code(rawValue: code), message: message, retryable: retryable)
    }

    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}

/// SCA's documented codes (``SCAError/Code``). The device codes of administrative jobs and the
/// public `sca.denied` / `sca.unavailable` are listed by the Daemon; the refusal codes
/// (``AuthorizationErrorCode``) are in docs/sca.md.
public enum SCAErrorCodes {
    typealias C = SCAError.Code
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(C.deviceInvalidId.rawValue, .scaAdministration, meaning: "a device or user id is not 1-128 characters of `A-Z a-z 0-9 . _ : -` starting with a letter or digit"),
        ErrorCodeInfo(C.deviceNoCA.rawValue, .scaAdministration, meaning: "remove: the device is removed, but its certificates need revocation and no CA is configured; run the command again with the CA available"),
        ErrorCodeInfo(C.powerauthConfiguration.rawValue, .scaAdministration, meaning: "the PowerAuth client settings are incomplete or unreadable (user and password both or neither, `*_FILE` unreadable or empty, TLS trust roots, user info in `SIGND_POWERAUTH_URL`); `signd run` refuses to start"),
        ErrorCodeInfo(C.invalidTemplate.rawValue, .scaAdministration, meaning: "the PowerAuth operation data template has an unterminated or unknown `${...}` placeholder, or lacks a required one"),
        ErrorCodeInfo(C.simBadDefaults.rawValue, .tools, meaning: "`--spool-defaults` is not a JSON object of appearance texts (or `@FILE` holding one)"),
        ErrorCodeInfo(C.simBadDTBS.rawValue, .tools, meaning: "`signd device-sim sign`: the pending file is not JSON with string fields `jobId` and `dtbs`, or `dtbs` is not base64"),
        ErrorCodeInfo(C.simBadKey.rawValue, .tools, meaning: "the simulated device's key file is not a PEM EC P-256 private key"),
        ErrorCodeInfo(C.simExists.rawValue, .tools, meaning: "`signd device-sim create`: a device key already exists in `--dir`; use another directory or delete it"),
        ErrorCodeInfo(C.simNoDevice.rawValue, .tools, meaning: "no device key in `--dir`; create one with `signd device-sim create`"),
        ErrorCodeInfo(C.ioSymlink.rawValue, .tools, meaning: "`signd authorize`: a manifest's file name is a symbolic link (never followed; give the PDF with `--pdf`)"),
        ErrorCodeInfo(C.ioRead.rawValue, .tools, meaning: "a file the tool needs cannot be read; the message names it"),
    ]
}
