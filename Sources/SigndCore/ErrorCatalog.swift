/// The layout of docs/errors.md: its sections, in page order, and the renderer that turns the
/// modules' registries (`<Module>ErrorCodes.all`, collected by `signd errors`) into the page.
public struct ErrorCatalogSection: Sendable {
    public struct ID: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let pdfSyntax = ID(rawValue: "pdfSyntax")
        public static let signatureEmbedding = ID(rawValue: "signatureEmbedding")
        public static let signing = ID(rawValue: "signing")
        public static let cms = ID(rawValue: "cms")
        public static let timestamps = ID(rawValue: "timestamps")
        public static let secrets = ID(rawValue: "secrets")
        public static let configuration = ID(rawValue: "configuration")
        public static let system = ID(rawValue: "system")
        public static let state = ID(rawValue: "state")
        public static let verification = ID(rawValue: "verification")
        public static let spoolJobs = ID(rawValue: "spoolJobs")
        public static let scaRefusals = ID(rawValue: "scaRefusals")
        public static let administrative = ID(rawValue: "administrative")
        public static let certificateAuthority = ID(rawValue: "certificateAuthority")
        public static let scaAdministration = ID(rawValue: "scaAdministration")
        public static let tools = ID(rawValue: "tools")
        public static let audit = ID(rawValue: "audit")
    }

    public enum Style: Sendable {
        /// `| code | [retryable |] meaning | [action header |]`
        case table(retryable: Bool, actionHeader: String?)
        /// The codes as one comma-separated paragraph.
        case list
    }

    public let id: ID
    public let title: String
    public let intro: String?
    public let style: Style
    public let outro: String?

    public init(_ id: ID, _ title: String, intro: String? = nil, style: Style, outro: String? = nil) {
        self.id = id
        self.title = title
        self.intro = intro
        self.style = style
        self.outro = outro
    }

    /// The sections in page order.
    public static let all: [ErrorCatalogSection] = [
        ErrorCatalogSection(.pdfSyntax, "PDF syntax (`PDFError`, with byte offset and object number)",
                            style: .table(retryable: false, actionHeader: "what to do")),
        ErrorCatalogSection(.signatureEmbedding, "Signature embedding (`SignatureEmbeddingError`)",
                            style: .table(retryable: false, actionHeader: nil)),
        ErrorCatalogSection(.signing, "Signing and keys (`PAdESError`, `KeyFileError`, `SigningServiceError`, `FileWriteError`)",
                            style: .table(retryable: false, actionHeader: nil)),
        ErrorCatalogSection(.cms, "CMS structures (`CMSStructuresError`)",
                            intro: "Raised while reading or writing CMS, TSP and ESS values (a signature's `/Contents`, a TSA reply); the message names the type and field. Inside a job they surface wrapped in a `signature.*` or `tsa.*` code; `signd verify` reports them as problems.",
                            style: .table(retryable: false, actionHeader: nil)),
        ErrorCatalogSection(.timestamps, "Timestamps (`TimestampError`; names the TSA URL and whether a retry may help)",
                            style: .table(retryable: true, actionHeader: nil)),
        ErrorCatalogSection(.secrets, "Secrets (`SecretError`)", style: .table(retryable: false, actionHeader: nil)),
        ErrorCatalogSection(.configuration, "Configuration (`ConfigurationError`; `signd run` and `signd retention purge` exit 2)",
                            style: .table(retryable: false, actionHeader: "what to do")),
        ErrorCatalogSection(.system, "System errors (classified at the boundary: `classify` in Sources/SigndCore/SigndError.swift)",
                            intro: "Failures of the machine rather than of the job. Retryable ones are retried with backoff (`maximumRetries`); an error signd does not know is `internal`, never retried, and logged with its cause.",
                            style: .table(retryable: true, actionHeader: "what to do")),
        ErrorCatalogSection(.state, "State database (`StateStoreError`; SQLite errors of the state and audit databases)",
                            style: .table(retryable: true, actionHeader: "what to do")),
        ErrorCatalogSection(.verification, "Verification problems (`signd verify`, per signature `problems[]`)",
                            style: .list),
        ErrorCatalogSection(.spoolJobs, "Spool jobs (`failed/<job>.error.json` `code`)",
                            style: .table(retryable: false, actionHeader: nil)),
        ErrorCatalogSection(.scaRefusals, "SCA refusals (audit `job.denied` `code`; the job's error report says `sca.denied`)",
                            intro: "All codes and their order are in docs/sca.md (\"Error codes\"); these came with statement version 2\n(docs/decisions/0005-statement-v2.md):",
                            style: .table(retryable: false, actionHeader: "counted toward blocking the device")),
        ErrorCatalogSection(.administrative, "Administrative spool jobs (`enroll`, `device`, `revoke`; docs/spool.md)",
                            intro: "`failed/<job>.error.json` carries the code of the service that refused the job — the same codes\n`signd device`, `signd enroll` and `signd ca revoke` print — plus the manifest and job codes\nabove (`manifest.*`, `job.duplicate`, `spool.notRegularFile`). All are final (`retryable: false`)\nexcept `ca.unavailable` and the system and state codes above (`storage.full`, `state.busy`, ...).",
                            style: .table(retryable: false, actionHeader: "what the operator / orchestrator should do")),
        ErrorCatalogSection(.certificateAuthority, "Certificate authority and lifecycle (`CertificateAuthorityError`, `LifecycleError`; docs/ca.md)",
                            style: .table(retryable: true, actionHeader: nil)),
        ErrorCatalogSection(.scaAdministration, "SCA administration (`SCAError`; docs/sca.md)",
                            style: .table(retryable: true, actionHeader: nil)),
        ErrorCatalogSection(.tools, "Tools (`signd device-sim`, `signd submit`, `signd authorize`)",
                            style: .table(retryable: false, actionHeader: nil)),
        ErrorCatalogSection(.audit, "Audit log (`AuditError`)", style: .table(retryable: false, actionHeader: nil)),
    ]
}

public enum ErrorCatalog {
    /// The command that writes docs/errors.md.
    public static let regenerateCommand = "swift build && .build/debug/signd errors --markdown > docs/errors.md"

    /// The documented codes (cross-reference rows left out), sorted.
    public static func codes(_ infos: [ErrorCodeInfo]) -> [String] {
        Array(Set(infos.filter { !$0.isReference }.map(\.code))).sorted()
    }

    /// docs/errors.md.
    public static func markdown(_ infos: [ErrorCodeInfo]) -> String {
        var out = """
            # Error codes

            <!-- Generated from the error-code registry (`<Module>ErrorCodes.all` in each module, collected by
            Sources/signd/ErrorsCommand.swift). Do not edit by hand: change the registry, then run
            `\(regenerateCommand)`.
            Tests/DaemonTests/ErrorCatalogTests.swift fails when this file or a code in Sources/ is not in step. -->

            Every failure carries a stable code; tests and integrations key on the code, never on the
            message. Messages say what happened, where (path, offset, object, TSA URL) and what to do.
            CLI: errors go to standard error as `error: [code] message`; `signd sign` and `signd verify`
            exit 2 for unusable input.

            """
        var seen = Set<String>()
        var bySection: [ErrorCatalogSection.ID: [ErrorCodeInfo]] = [:]
        for info in infos where seen.insert(info.section.rawValue + " " + info.code).inserted {
            bySection[info.section, default: []].append(info)
        }
        var sections = ErrorCatalogSection.all
        let known = Set(sections.map(\.id))
        for id in bySection.keys.filter({ !known.contains($0) }).sorted(by: { $0.rawValue < $1.rawValue }) {
            sections.append(ErrorCatalogSection(id, id.rawValue, style: .table(retryable: true, actionHeader: nil)))
        }
        for section in sections {
            guard let rows = bySection[section.id], !rows.isEmpty else { continue }
            out += "\n## \(section.title)\n"
            if let intro = section.intro { out += intro + "\n\n" }
            switch section.style {
            case .list:
                out += wrap(rows.map { "`\($0.code)`" }.joined(separator: ", ") + ".") + "\n"
            case .table(let retryable, let actionHeader):
                var header = ["code"]
                if retryable { header.append("retryable") }
                header.append("meaning")
                if let actionHeader { header.append(actionHeader) }
                out += "| " + header.joined(separator: " | ") + " |\n"
                out += "|" + String(repeating: " --- |", count: header.count) + "\n"
                for group in grouped(rows) {
                    var cells = [group.map { "`\($0.code)`" }.joined(separator: ", ")]
                    let first = group[0]
                    if retryable { cells.append(retryText(first)) }
                    cells.append(first.meaning)
                    if actionHeader != nil { cells.append(first.action ?? "") }
                    out += "| " + cells.joined(separator: " | ") + " |\n"
                }
            }
            if let outro = section.outro { out += "\n" + outro + "\n" }
        }
        return out
    }

    static func retryText(_ info: ErrorCodeInfo) -> String {
        info.retryNote ?? (info.retryable ? "yes" : "no")
    }

    /// Adjacent rows with the same explanation share one row.
    static func grouped(_ rows: [ErrorCodeInfo]) -> [[ErrorCodeInfo]] {
        var groups: [[ErrorCodeInfo]] = []
        for row in rows {
            if let last = groups.last?.first, last.meaning == row.meaning, last.action == row.action,
               retryText(last) == retryText(row) {
                groups[groups.count - 1].append(row)
            } else {
                groups.append([row])
            }
        }
        return groups
    }

    /// Wraps a paragraph at 100 columns on spaces.
    static func wrap(_ text: String) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > 100 {
                lines.append(line)
                line = String(word)
            } else {
                line += (line.isEmpty ? "" : " ") + word
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }
}
