import CMSStructures
import Foundation
import Jobs
import PDFSignatures
import PDFSyntax

/// Entry points of the fuzz targets (docs/testing.md, "Fuzzing").
///
/// Each function takes arbitrary bytes and drives one of signd's readers of untrusted input the
/// way the daemon does. Errors are the expected outcome for almost every input and are ignored;
/// what must never happen is a crash (a trap such as arithmetic overflow or an out-of-range
/// index), a hang or unbounded memory. The libFuzzer executables under `Fuzz/` call these, and
/// `FuzzRegressionTests` replays the seed and regression corpora through them in `make test`.
public enum FuzzTargets {
    /// The target names, as used for corpus directories and `make fuzz`.
    public static let names = ["pdf-reader", "cms-tsp", "manifest"]

    /// Runs the target called `name` (one of ``names``) on `data`.
    public static func run(_ name: String, _ data: [UInt8]) {
        switch name {
        case "pdf-reader": pdfReader(data)
        case "cms-tsp": cmsTSP(data)
        case "manifest": manifest(data)
        default: preconditionFailure("unknown fuzz target \(name)")
        }
    }

    // MARK: - PDF reader

    /// Opens `data` as a PDF, loads every object its cross-reference sections list (objects in
    /// files and in object streams, every revision), decodes their streams, walks the pages, reads
    /// the signature fields with their `/ByteRange` and `/Contents`, classifies later changes and
    /// prepares a new signature (the incremental update signing would write).
    public static func pdfReader(_ data: [UInt8]) {
        guard let document = try? PDFDocument(source: InMemoryByteSource(data)) else { return }
        _ = document.size
        _ = document.lastXRefForm
        for (sectionIndex, section) in document.sections.enumerated() {
            for (number, entry) in section.entries.sorted(by: { $0.key < $1.key }) {
                let reference: PDFReference
                switch entry {
                case .free: continue
                case .inFile(_, let generation): reference = PDFReference(number, generation)
                case .inObjectStream: reference = PDFReference(number, 0)
                }
                guard let object = try? document.object(reference, fromSection: sectionIndex) else { continue }
                if case .stream(let stream) = object {
                    _ = try? document.decodedStreamData(stream, objectNumber: number)
                }
            }
        }
        _ = try? document.catalog()
        if let pages = try? document.pageCount() {
            for index in 0..<min(pages, 64) { _ = try? document.page(at: index) }
        }
        _ = try? FormFields.all(in: document)
        _ = try? SignatureInspector.revisionEndOffsets(document)
        if let signatures = try? SignatureInspector.signatures(in: document) {
            for signature in signatures {
                if let section = signature.revisionSection {
                    _ = try? SignatureInspector.laterChanges(after: section, in: document)
                }
                // The verifier decodes /Contents as CMS.
                cmsTSP(signature.contents)
            }
        }
        let request = SignatureRequest(fieldName: nil, pageIndex: 0, rect: [10, 10, 110, 60],
                                       signingTime: Date(timeIntervalSince1970: 1_700_000_000),
                                       reason: "fuzz", location: "here", contactInfo: nil, name: "Fuzz")
        _ = try? SignaturePreparer.prepare(document: document, request: request, contentsCapacity: 4096,
                                           documentID: Array(repeating: 0x42, count: 16))
    }

    // MARK: - CMS and TSP

    /// Decodes `data` as every CMS and RFC 3161 structure signd reads from the outside: a
    /// ContentInfo with SignedData (certificates, signer infos, their attributes, embedded
    /// timestamp tokens), a bare SignedData and SignerInfo, a TimeStampResp with its TSTInfo, a
    /// bare TSTInfo and a TimeStampReq; whatever decodes is encoded again and decoded once more.
    public static func cmsTSP(_ data: [UInt8]) {
        if let contentInfo = try? ContentInfo(derEncoded: data) {
            roundTrip(contentInfo)
            if let signedData = try? contentInfo.signedData() {
                inspect(signedData)
            }
            _ = try? TSTInfo(timeStampToken: contentInfo)
        }
        if let signedData = try? SignedData(derEncoded: data) {
            roundTrip(signedData)
            inspect(signedData)
        }
        if let signerInfo = try? SignerInfo(derEncoded: data) {
            roundTrip(signerInfo)
            inspect(signerInfo)
        }
        if let response = try? TimeStampResp(derEncoded: data) {
            roundTrip(response)
            if let info = try? response.tstInfo() { roundTrip(info) }
        }
        if let info = try? TSTInfo(derEncoded: data) { roundTrip(info) }
        if let request = try? TimeStampReq(derEncoded: data) { roundTrip(request) }
    }

    private static func inspect(_ signedData: SignedData) {
        _ = signedData.version
        _ = try? signedData.x509Certificates()
        _ = try? TSTInfo(signedData: signedData)
        for signerInfo in signedData.signerInfos { inspect(signerInfo) }
    }

    private static func inspect(_ signerInfo: SignerInfo) {
        _ = signerInfo.version
        _ = try? signerInfo.contentType
        _ = try? signerInfo.messageDigest
        _ = try? signerInfo.signingTime
        _ = try? signerInfo.signingCertificate
        _ = try? signerInfo.signingCertificateV2
        for token in (try? signerInfo.signatureTimeStampTokens) ?? [] {
            if let info = try? TSTInfo(timeStampToken: token) { roundTrip(info) }
        }
    }

    private static func roundTrip<T: CMSDERCodable>(_ value: T) {
        guard let encoded = try? value.derEncoded() else { return }
        _ = try? T(derEncoded: encoded)
    }

    // MARK: - Manifests

    /// Parses `data` as a spool manifest: as a sign manifest and as any job manifest, each
    /// without and with spool defaults.
    public static func manifest(_ data: [UInt8]) {
        let json = Data(data)
        let defaults = ManifestDefaults(
            level: .bb,
            appearance: SignManifest.Appearance(reason: "Approved", location: "Prague", contactInfo: "ops@example.com",
                                                name: "signd", fieldName: "Signature1"))
        _ = try? ManifestValidator.parse(json)
        _ = try? ManifestValidator.parse(json, defaults: defaults)
        _ = try? ManifestValidator.parseJob(json)
        _ = try? ManifestValidator.parseJob(json, defaults: defaults)
    }
}
