import Foundation
import Jobs

/// The PowerAuth operation data signd expects for a job, built from a template with
/// placeholders `${jobId}`, `${documentSha256}`, `${userId}`, `${deviceId}` and `${level}`.
/// Default: `A0*T${jobId}*T${documentSha256}` (PowerAuth operation data: `A` is the data format
/// version, `0` the operation template number, `*T` starts a text field). Job ids, user ids and device ids
/// cannot contain `*` (manifest id character set), so the fields never need escaping.
public struct OperationDataTemplate: Sendable, Hashable, Codable {
    public static let placeholders = ["jobId", "documentSha256", "userId", "deviceId", "level"]
    public static let `default` = OperationDataTemplate(uncheckedText: "A0*T${jobId}*T${documentSha256}")

    public let text: String

    /// Throws `sca.invalidTemplate` when the template names an unknown placeholder or does not
    /// contain both `${jobId}` and `${documentSha256}` (the data must bind the job and the document).
    public init(_ text: String) throws {
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw SCAError(code: "sca.invalidTemplate", message: "operation data template \"\(text)\" has an unterminated ${...}")
            }
            let name = String(rest[start.upperBound..<end])
            guard Self.placeholders.contains(name) else {
                throw SCAError(code: "sca.invalidTemplate", message: "operation data template \"\(text)\" uses unknown placeholder ${\(name)}; known: \(Self.placeholders.map { "${\($0)}" }.joined(separator: ", "))")
            }
            rest = rest[rest.index(after: end)...]
        }
        guard text.contains("${jobId}"), text.contains("${documentSha256}") else {
            throw SCAError(code: "sca.invalidTemplate", message: "operation data template \"\(text)\" must contain ${jobId} and ${documentSha256} so the approval binds this job and this document")
        }
        self.text = text
    }

    init(uncheckedText: String) { text = uncheckedText }

    public func render(jobId: String, documentSHA256: String, userId: String, deviceId: String, level: SignatureLevel) -> String {
        text.replacingOccurrences(of: "${jobId}", with: jobId)
            .replacingOccurrences(of: "${documentSha256}", with: documentSHA256)
            .replacingOccurrences(of: "${userId}", with: userId)
            .replacingOccurrences(of: "${deviceId}", with: deviceId)
            .replacingOccurrences(of: "${level}", with: level.rawValue)
    }
}
