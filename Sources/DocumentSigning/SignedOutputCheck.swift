import CMSSigning
import Crypto
import Foundation
import PAdES
import PDFSyntax
import SigndCore
import X509

/// The check every signed output passes before anyone may see it: its first revision is the
/// approved document (hashed once more from the output), and signd's own verifier finds the
/// last signature intact, trusted (to `trustRoots`) and at the level asked. On failure the output
/// is removed and nothing is delivered (`document.changed`, `signature.selfCheckFailed`).
public struct SignedOutputCheck: Sendable {
    /// The roots the signer's chain must end in (the CA's root).
    public var trustRoots: [Certificate]?
    /// Reports on a signature timestamp token (nil: no TSA configured; a B-T output then fails).
    public var timestampReport: (@Sendable ([UInt8], [UInt8]) async -> TimestampReport)?

    public init(trustRoots: [Certificate]?, timestampReport: (@Sendable ([UInt8], [UInt8]) async -> TimestampReport)?) {
        self.trustRoots = trustRoots
        self.timestampReport = timestampReport
    }

    /// Checks `output`; `approved` is the document's approved SHA-256 (hex) and its length;
    /// `level` the level asked ("B-B", "B-T").
    public func check(output: String, level: String, signingTime: Date, approved: (sha256: String, length: Int64)) async throws -> SignatureReport {
        let document = try PDFDocument(source: try FileByteSource(path: output, followSymlinks: false))
        let original = try Self.prefixDigest(of: output, length: approved.length)
        guard original == approved.sha256 else {
            unlink(output)
            throw SigningServiceError(code: .documentChanged, message: "the signed output's first revision hashes to SHA-256 \(original ?? "(none: the output is shorter than the document)"), not the approved \(approved.sha256); nothing was delivered. Submit the job again")
        }
        let report = timestampReport
        let verifier = PAdESVerifier(trustRoots: trustRoots, validationTime: signingTime) { token, value in
            guard let report else { return TimestampReport(genTime: "?", tsa: nil, imprintValid: false, signatureValid: false, trusted: nil, problems: ["notConfigured"]) }
            return await report(token, value)
        }
        let result = try await verifier.verify(document: document, fileName: output)
        guard let last = result.signatures.last, last.intact, last.trusted == true, last.level == level else {
            unlink(output)
            let found = result.signatures.last.map { "level \($0.level), intact \($0.intact), trusted \(String(describing: $0.trusted)), problems \($0.problems)" } ?? "no signature"
            throw SigningServiceError(code: .selfCheckFailed, message: "the signed output did not pass signd's own verification (\(found)); nothing was delivered")
        }
        return last
    }

    /// SHA-256 (hex) of the first `length` bytes of a signed output: the document as it was
    /// before signd appended its update. nil when the output is shorter.
    public static func prefixDigest(of path: String, length: Int64) throws -> String? {
        let source = try FileByteSource(path: path, followSymlinks: false)
        guard length >= 0, length <= source.length else { return nil }
        var hasher = SHA256()
        try source.forEachChunk(offset: 0, length: length) { hasher.update(bufferPointer: $0) }
        return Hex.encode(Array(hasher.finalize()))
    }
}
