import ArgumentParser
import Audit
import CertificateAuthority
import CertificateLifecycle
import DocumentSigning
import Daemon
import SCA
import SigndCore
import StateStore
import Timestamping

/// The signd executable's own documented codes (``ConfigurationError`` and the CLI).
enum SigndCommandErrorCodes {
    static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(ConfigurationError.Code.invalidValue.rawValue, .configuration,
                      meaning: "a configuration value is out of range; the message names the key (`retention.doneDays is -1; ...`) or the `SIGND_...` variable",
                      action: "fix the file or variable: `retention.*Days` must be 0 (keep forever) or positive, `retention.intervalSeconds` at least 1"),
        ErrorCodeInfo(ConfigurationError.Code.secretInFile.rawValue, .configuration,
                      meaning: "the configuration file holds a credential: a `sca.powerauth` key such as `password` or `user`, or a `sca.powerauth.url` with user info; the value is not echoed (user info in `SIGND_POWERAUTH_URL` is `powerauth.configuration`)",
                      action: "remove it and set `SIGND_POWERAUTH_USER` / `SIGND_POWERAUTH_PASSWORD` (or their `_FILE` forms) in the environment (docs/configuration.md)"),
        ErrorCodeInfo(ConfigurationError.Code.auditHTTP.rawValue, .configuration,
                      meaning: "the audit HTTP endpoint's credentials are incomplete: `SIGND_AUDIT_HTTP_USER` without a password, or `SIGND_AUDIT_HTTP_PASSWORD_FILE` unreadable",
                      action: "set both user and password (or the password file) or neither (docs/audit.md)"),
        ErrorCodeInfo("retention.io", .configuration,
                      meaning: "`signd retention purge`: a file could not be removed (message: path and reason); the rest of its job is kept, exit 1",
                      action: "check permissions of the spool directory, run again"),
    ]
}

/// Every module's documented codes, in page order within each section of docs/errors.md.
enum SigndErrorRegistry {
    static var all: [ErrorCodeInfo] {
        PDFErrorCodes.all + SignatureEmbeddingErrorCodes.all + PAdESErrorCodes.all + SigndCoreErrorCodes.all + DocumentSigningErrorCodes.all
            + CMSStructuresErrorCodes.all + TimestampErrorCodes.all + SigndCommandErrorCodes.all + SystemErrorCodes.all
            + StateStoreErrorCodes.all + PAdESErrorCodes.verificationProblems + ManifestErrorCodes.all + DaemonErrorCodes.all
            + CertificateAuthorityErrorCodes.all + LifecycleErrorCodes.all + SCAErrorCodes.all + AuditErrorCodes.all
    }
}

/// `signd errors --markdown > docs/errors.md`: the error-code page, generated from the registry.
struct ErrorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "Print the documented error codes: docs/errors.md (--markdown) or one code per line (--codes).",
        discussion: "docs/errors.md is generated: \(ErrorCatalog.regenerateCommand)")
    @Flag(help: "Print docs/errors.md (Markdown; the default).") var markdown = false
    @Flag(help: "Print the documented codes, one per line, sorted.") var codes = false

    func run() throws {
        if codes {
            print(ErrorCatalog.codes(SigndErrorRegistry.all).joined(separator: "\n"))
        } else {
            print(ErrorCatalog.markdown(SigndErrorRegistry.all), terminator: "")
        }
    }
}
