import Foundation
import Jobs

/// The PowerAuth operation data signd expects for a job, built from a template with
/// placeholders `${jobId}`, `${documentSha256}`, `${userId}`, `${deviceId}`, `${level}`, `${mode}`
/// and `${appearanceSha256}` (SHA-256 of the job's resolved appearance, ``ApprovedAppearance``).
/// Default: `A0*T${jobId}*T${documentSha256}*T${level}*T${appearanceSha256}` (PowerAuth operation
/// data: `A` is the data format version, `0` the operation template number, `*T` starts a text
/// field). Ids cannot contain `*` (manifest id character set), levels, modes and hex digests
/// neither, so the fields never need escaping.
public struct OperationDataTemplate: Sendable, Hashable, Codable {
    public static let placeholders = ["jobId", "documentSha256", "userId", "deviceId", "level", "mode", "appearanceSha256"]
    /// What every template must bind: the job, the document, the level and the appearance (the
    /// approval covers everything that ends up in the signature).
    public static let requiredPlaceholders = ["jobId", "documentSha256", "level", "appearanceSha256"]
    public static let `default` = OperationDataTemplate(uncheckedText: "A0*T${jobId}*T${documentSha256}*T${level}*T${appearanceSha256}")

    public let text: String

    /// Throws `sca.invalidTemplate` when the template names an unknown placeholder or does not
    /// contain each of ``requiredPlaceholders``.
    public init(_ text: String) throws {
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw SCAError(code: .invalidTemplate, message: "operation data template \"\(text)\" has an unterminated ${...}")
            }
            let name = String(rest[start.upperBound..<end])
            guard Self.placeholders.contains(name) else {
                throw SCAError(code: .invalidTemplate, message: "operation data template \"\(text)\" uses unknown placeholder ${\(name)}; known: \(Self.placeholders.map { "${\($0)}" }.joined(separator: ", "))")
            }
            rest = rest[rest.index(after: end)...]
        }
        let missing = Self.requiredPlaceholders.filter { !text.contains("${\($0)}") }
        guard missing.isEmpty else {
            throw SCAError(code: .invalidTemplate, message: "operation data template \"\(text)\" lacks \(missing.map { "${\($0)}" }.joined(separator: ", ")); it must contain \(Self.requiredPlaceholders.map { "${\($0)}" }.joined(separator: ", ")) so the approval binds this job, this document, the level and the appearance")
        }
        self.text = text
    }

    init(uncheckedText: String) { text = uncheckedText }

    /// Whether the data names the signing mode; without `${mode}` an operation approves cloud
    /// signing only.
    public var bindsMode: Bool { text.contains("${mode}") }

    /// The data for these values. `mode` and `appearanceSha256` default to cloud mode and a job
    /// without appearance texts; prefer ``render(manifest:documentSHA256:)``, which takes both
    /// from the (resolved) manifest.
    public func render(jobId: String, documentSHA256: String, userId: String, deviceId: String, level: SignatureLevel,
                       mode: SigningMode = .cloud, appearanceSha256: String = ApprovedAppearance.sha256Hex(nil)) -> String {
        text.replacingOccurrences(of: "${jobId}", with: jobId)
            .replacingOccurrences(of: "${documentSha256}", with: documentSHA256)
            .replacingOccurrences(of: "${userId}", with: userId)
            .replacingOccurrences(of: "${deviceId}", with: deviceId)
            .replacingOccurrences(of: "${level}", with: level.rawValue)
            .replacingOccurrences(of: "${mode}", with: mode.rawValue)
            .replacingOccurrences(of: "${appearanceSha256}", with: appearanceSha256)
    }

    /// The data for `manifest` over the PDF digest signd computed.
    public func render(manifest: SignManifest, documentSHA256: String) -> String {
        render(jobId: manifest.jobId, documentSHA256: documentSHA256, userId: manifest.signer.userId, deviceId: manifest.signer.deviceId,
               level: manifest.level, mode: manifest.mode, appearanceSha256: manifest.appearanceSha256)
    }
}
