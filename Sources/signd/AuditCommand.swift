import ArgumentParser
import Audit
import Foundation

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Verify and query the audit database (opened read-only).",
                                                    subcommands: [Verify.self, Query.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check the hash chain; exit 1 and name the first bad row when it is broken.")
        @OptionGroup var data: DataDirectoryOption
        func run() async throws {
            let log: AuditLog
            do { log = try AuditLog(readOnlyPath: Composition.auditPath(data.path)) } catch { CLIErrors.report(error); throw ExitCode(2) }
            let result = try log.verify()
            if let bad = result.firstBad {
                print("audit chain BROKEN at event \(bad.seq): \(bad.reason)")
                throw ExitCode(1)
            }
            print("audit chain intact: \(result.events) events, \(result.anchors) timestamp anchors")
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "query", abstract: "Query audit events.")
        @OptionGroup var data: DataDirectoryOption
        @Option var job: String?
        @Option var user: String?
        @Option var device: String?
        @Option(help: "Event type, e.g. job.signed.") var type: String?
        @Option(help: "ISO 8601 start time.") var since: String?
        @Option(help: "ISO 8601 end time.") var until: String?
        @Option(help: "table, json or csv.") var format: String = "table"

        func run() async throws {
            var q = AuditLog.Query()
            q.jobId = job; q.userId = user; q.deviceId = device; q.type = type
            let f = ISO8601DateFormatter()
            if let since { guard let d = f.date(from: since) else { throw ValidationError("--since must be ISO 8601") }; q.since = d }
            if let until { guard let d = f.date(from: until) else { throw ValidationError("--until must be ISO 8601") }; q.until = d }
            let rows: [AuditEventRecord]
            do { rows = try AuditLog(readOnlyPath: Composition.auditPath(data.path)).query(q) } catch { CLIErrors.report(error); throw ExitCode(2) }
            switch format {
            case "json": print(try JSONOutput.encode(rows))
            case "csv":
                print("seq,at,type,jobId,userId,deviceId,documentSha256,certificateSerial,outcome,details")
                for r in rows {
                    let cells = [String(r.seq), r.at, r.type, r.jobId ?? "", r.userId ?? "", r.deviceId ?? "", r.documentSha256 ?? "",
                                 r.certificateSerial ?? "", r.outcome, r.details]
                    print(cells.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ","))
                }
            case "table":
                for r in rows { print("\(r.seq)\t\(r.at)\t\(r.type)\t\(r.jobId ?? "-")\t\(r.userId ?? "-")\t\(r.deviceId ?? "-")\t\(r.outcome)\t\(r.details)") }
            default: throw ValidationError("--format must be table, json or csv")
            }
        }
    }
}
