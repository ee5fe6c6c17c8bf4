import CMSStructures
import Crypto
import Foundation
import PAdES
import PDFSignatures
import PDFSyntax
import X509

/// Adds an unsigned attribute (a signature timestamp) to a SignerInfo before it is embedded.
/// Given the signature value, returns the DER `ContentInfo` of a timestamp token.
public protocol SignatureTimestamper: Sendable {
    /// Bytes to reserve in `/Contents` for the token.
    var reservedTokenSize: Int { get }
    func timestampToken(forSignatureValue signature: [UInt8]) async throws -> [UInt8]
}

/// What `sign` produced.
public struct SigningOutcome: Sendable, Codable {
    public var outputPath: String
    public var fieldName: String
    public var byteRange: [Int64]
    public var messageDigest: String
    public var digestAlgorithm: String
    public var contentsCapacity: Int
    public var cmsSize: Int
    public var level: String
    /// Facts about the input the reader had to tolerate (e.g. shifted offsets).
    public var warnings: [String]
}

/// Signs a PDF file into a new file as a PAdES incremental update.
///
/// Memory: the original file is streamed once in 1 MiB chunks, hashed and copied at the same time;
/// only the objects the update touches are parsed. The output is written to a temporary file,
/// fsynced, then renamed, so a failed run leaves no partial output.
public struct PDFSigningService: Sendable {
    /// Extra bytes reserved in `/Contents` beyond the dry-run size.
    public var contentsMargin = 512

    public init() {}

    public func sign(inputPath: String, outputPath: String, builder: PAdESSignatureBuilder,
                     request: SignatureRequest, timestamper: (any SignatureTimestamper)? = nil) async throws -> SigningOutcome {
        let inputURL = URL(fileURLWithPath: inputPath).standardizedFileURL.resolvingSymlinksInPath()
        let outputURL = URL(fileURLWithPath: outputPath).standardizedFileURL.resolvingSymlinksInPath()
        guard inputURL.path != outputURL.path else {
            throw SigningServiceError(code: "io.outputIsInput", message: "the output \(outputPath) is the input file; signd never overwrites its input: choose another output path")
        }
        let source = try FileByteSource(path: inputPath)
        let document = try PDFDocument(source: source)

        let reserve = timestamper?.reservedTokenSize ?? 0
        let capacity = try builder.estimatedSize(unsignedReserve: reserve) + contentsMargin
        let seed = try Self.documentID(document: document, request: request, certificate: builder.signer.certificate)
        let prepared = try SignaturePreparer.prepare(document: document, request: request, contentsCapacity: capacity, documentID: seed)

        let writer = try AtomicFileWriter(path: outputPath)
        var hasher = builder.digest.makeHasher()
        try source.forEachChunk(offset: 0, length: prepared.base.fileLength) { chunk in
            hasher.update(chunk)
            try writer.write(chunk)
        }
        let (head, tail) = prepared.coveredUpdateParts
        hasher.update(head)
        hasher.update(tail)
        let messageDigest = hasher.finalize()

        let dtbs = try builder.dataToBeSigned(messageDigest: messageDigest)
        let signature = try await builder.signer.sign(dtbs, digest: builder.digest)
        // Never embed a signature that does not verify (a broken HSM or device would go unnoticed).
        guard try SignatureValueVerifier.isValid(signature: signature, over: dtbs, algorithm: builder.signer.signatureAlgorithm(digest: builder.digest),
                                                 fallbackDigest: builder.digest, publicKey: builder.signer.certificate.publicKey) else {
            throw PAdESError(.signatureInvalid, "the signer returned a signature that does not verify with the certificate's public key; check that key and certificate belong together")
        }
        var unsigned: [CMSAttribute] = []
        if let timestamper {
            let token = try await timestamper.timestampToken(forSignatureValue: signature)
            unsigned.append(try .signatureTimeStampToken(ContentInfo(derEncoded: token)))
        }
        let signerInfo = try builder.assembleSignerInfo(messageDigest: messageDigest, signature: signature,
                                                        unsignedAttributes: unsigned)
        let cms = try builder.assemble(signerInfo: signerInfo)
        let finalUpdate = try prepared.complete(cms: cms)
        try writer.write(finalUpdate)
        try writer.commit()
        return SigningOutcome(
            outputPath: outputPath, fieldName: prepared.fieldName, byteRange: prepared.byteRange,
            messageDigest: messageDigest.map { String(format: "%02x", $0) }.joined(),
            digestAlgorithm: builder.digest.rawValue, contentsCapacity: capacity, cmsSize: cms.count,
            level: timestamper == nil ? "B-B" : "B-T", warnings: document.warnings)
    }

    /// A deterministic second `/ID` element: the same document, time, certificate and field give
    /// the same bytes (ISO 32000-1 14.4 asks only that it change with the file).
    static func documentID(document: PDFDocument, request: SignatureRequest, certificate: Certificate) throws -> [UInt8] {
        var h = SHA256()
        h.update(data: Array("signd-id-v1".utf8))
        h.update(data: Array(String(document.source.length).utf8))
        h.update(data: Array(String(document.startXRef).utf8))
        if let id = document.trailer["ID"] { h.update(data: PDFSerializer.serialize(id)) }
        h.update(data: Array(String(request.signingTime.timeIntervalSince1970).utf8))
        h.update(data: Array((request.fieldName ?? "").utf8))
        h.update(data: try certificate.derBytes())
        return Array(h.finalize().prefix(16))
    }
}

public struct SigningServiceError: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String
    public var description: String { "[\(code)] \(message)" }
}
