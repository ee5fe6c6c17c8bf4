import ArgumentParser
import Audit
import Daemon
import Foundation
import StateStore

/// `signd retention purge`: one retention run over every configured spool, or a preview of it.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Spool retention: purge finished jobs' files older than the configured limits (docs/operations.md).",
        subcommands: [Purge.self])

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge",
            abstract: "Run the retention purge once and print what it removed (with --dry-run: what it would remove).",
            discussion: "Uses the retention.* keys of the configuration (docs/configuration.md); with retention off nothing is removed. Safe while the daemon runs: files of unfinished jobs are never removed. A run that removes files records retention.purged in the audit database; a dry run changes nothing.")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var config: ConfigOption
        @Option(help: "Spool root directory (default $SIGND_SPOOL_ROOT, the configuration, else ./spool).") var spoolRoot: String?
        @Flag(help: "Only print what would be removed; remove nothing, record nothing.") var dryRun = false

        func run() async throws {
            try await CLIErrors.guarding {
                let configuration = try config.load()
                let policy = try configuration.retentionPolicy
                let root = spoolRoot ?? configuration.spoolRoot ?? "./spool"
                let spools = (configuration.spools ?? [SigndConfiguration.Spool(name: "default")]).map(\.name)
                guard policy.isEnabled else {
                    print("retention is off (no retention.doneDays, archiveDays or failedDays set): nothing to purge")
                    return
                }
                let dir = try data.ensureExists()
                let database = try Composition.database(dir)
                let audit: AuditLog? = dryRun ? nil : try Composition.audit(dir)
                var files = 0
                var jobs = 0
                var errors: [String] = []
                for name in spools {
                    let purger = RetentionPurger(layout: SpoolLayout(name: name, spoolRoot: root), policy: policy,
                                                 database: database, audit: audit, clock: { Date() })
                    let report = purger.purge(dryRun: dryRun)
                    for removal in report.removals {
                        for file in removal.files {
                            print("\(dryRun ? "would remove" : "removed")\t\(name)\t\(removal.directory.rawValue)\t\(removal.job)\t\(file)")
                        }
                    }
                    files += report.fileCount
                    jobs += report.removals.count
                    errors += report.errors
                }
                print("\(dryRun ? "dry run: would remove" : "removed") \(files) file(s) of \(jobs) job(s)")
                for e in errors { FileHandle.standardError.write(Data("error: [retention.io] \(e)\n".utf8)) }
                if !errors.isEmpty { throw ExitCode(1) }
            }
        }
    }
}
