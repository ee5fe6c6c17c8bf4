import CMSSigning
import CMSStructures
import Crypto
import Foundation
import PAdES
import PDFSignatures
import PDFSyntax
import SigndCore
import SwiftASN1
import X509

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
    /// The input's length and SHA-256: the output's first `originalLength` bytes are the input.
    public var originalLength: Int64
    public var originalSha256: String
}

/// The serialisable state between the two phases of external signing: everything needed to
/// finish the signature once the signature value arrives, without re-deriving anything that
/// could change (the signing time and /ID are frozen inside `prepared`).
public struct ExternalSigningState: Codable, Sendable, Hashable {
    public var prepared: PreparedSignature
    public var digest: DigestAlgorithm
    public var messageDigest: [UInt8]
    /// The data to be signed: DER of the signed attributes (SET, tag 0x31).
    public var dataToBeSigned: [UInt8]
    public var certificateDER: [UInt8]
    public var chainDER: [[UInt8]]
    /// DER of `SignerInfo.signatureAlgorithm`.
    public var signatureAlgorithmDER: [UInt8]
    public var maximumSignatureSize: Int
    public var warnings: [String]
}

/// Signs a PDF file into a new file as a PAdES incremental update.
///
/// Memory: the original file is streamed in 1 MiB chunks; only the objects the update touches
/// are parsed. In one-step signing the file is read once, hashed and copied at the same time.
/// The output is written to a temporary file, fsynced, then renamed, so a failed run leaves no
/// partial output.
public struct PDFSigningService: Sendable {
    /// Extra bytes reserved in `/Contents` beyond the dry-run size.
    public var contentsMargin = 512

    public init() {}

    // MARK: - One step (key available now)

    /// `expectedDocumentSHA256` (lowercase hex): the digest the user approved. The input is read
    /// once, and in that one pass it is hashed, hashed for the signature and copied into the
    /// output's temporary file; the document is then parsed from that private copy, never from
    /// the input again. So the bytes parsed, the bytes signed and the bytes approved are the same
    /// bytes, whatever happens to the input meanwhile (a producer that kept a descriptor or a
    /// second name for it). A mismatch throws `document.changed` and leaves no output.
    public func sign(inputPath: String, outputPath: String, builder: PAdESSignatureBuilder,
                     request: SignatureRequest, timestamper: (any SignatureTimestamper)? = nil,
                     expectedDocumentSHA256: String? = nil) async throws -> SigningOutcome {
        try Self.checkDistinct(inputPath, outputPath)
        let source = try FileByteSource(path: inputPath)
        let writer = try AtomicFileWriter(path: outputPath)
        // One pass over the input: document digest, signature digest (the original part) and copy.
        var documentHasher = SHA256()
        var signatureHasher = builder.digest.makeHasher()
        try source.forEachChunk(offset: 0, length: source.length) { chunk in
            documentHasher.update(bufferPointer: chunk)
            signatureHasher.update(chunk)
            try writer.write(chunk)
        }
        let documentDigest = Hex.encode(Array(documentHasher.finalize()))
        if let expected = expectedDocumentSHA256 {
            try Self.checkApproved(documentDigest, expected: expected, path: inputPath)
        }
        // Parsed from the private copy: exactly the bytes hashed above.
        let copy = try FileByteSource(path: writer.temporaryPath, followSymlinks: false)
        guard copy.length == source.length else {
            throw SigningServiceError(code: .documentChanged, message: "the copy of \(inputPath) has \(copy.length) bytes, not \(source.length); nothing was signed")
        }
        let document = try PDFDocument(source: copy)
        let prepared = try prepare(document: document, builder: builder, request: request, reserve: timestamper?.reservedTokenSize ?? 0)
        guard prepared.base.fileLength == source.length else {
            throw SigningServiceError(code: .preparedLength, message: "the prepared update starts at \(prepared.base.fileLength), not at the end of the copied input (\(source.length)); nothing was signed")
        }
        let (head, tail) = prepared.coveredUpdateParts
        signatureHasher.update(head)
        signatureHasher.update(tail)
        let messageDigest = signatureHasher.finalize()
        let dtbs = try builder.dataToBeSigned(messageDigest: messageDigest)
        let signature = try await builder.signer.sign(dtbs, digest: builder.digest)
        let cms = try await assemble(builder: builder, messageDigest: messageDigest, dtbs: dtbs, signature: signature, timestamper: timestamper)
        try writer.write(try prepared.complete(cms: cms))
        try writer.commit()
        return SigningOutcome(
            outputPath: outputPath, fieldName: prepared.fieldName, byteRange: prepared.byteRange,
            messageDigest: Hex.encode(messageDigest), digestAlgorithm: builder.digest.rawValue,
            contentsCapacity: prepared.contentsCapacity, cmsSize: cms.count,
            level: timestamper == nil ? "B-B" : "B-T", warnings: document.warnings,
            originalLength: source.length, originalSha256: documentDigest)
    }

    /// Throws `document.changed` unless `actual` is the approved digest.
    static func checkApproved(_ actual: String, expected: String, path: String) throws {
        guard actual == expected.lowercased() else {
            throw SigningServiceError(code: .documentChanged, message: "\(path) hashes to SHA-256 \(actual), not the approved \(expected.lowercased()): the document changed after it was approved (did the producer keep writing to it, or keep a second name for it?); nothing was signed. Submit the job again with a new approval")
        }
    }

    // MARK: - Two phases (key held elsewhere)

    /// Phase one: prepares the update and returns the data to be signed with the state to keep.
    /// Reads the input once; writes nothing. The same inputs give the same state byte for byte.
    ///
    /// `expectedDocumentSHA256`: the approved digest, proven in the pass that hashes the input for
    /// the signature (`document.changed` otherwise). The caller should hand in a file nobody else
    /// can write (the daemon copies the document privately first), because the parse reads the
    /// input before that pass.
    public func prepareExternal(inputPath: String, builder: PAdESSignatureBuilder, request: SignatureRequest,
                                timestampReserve: Int = 0, expectedDocumentSHA256: String? = nil) throws -> ExternalSigningState {
        let source = try FileByteSource(path: inputPath)
        let document = try PDFDocument(source: source)
        let prepared = try prepare(document: document, builder: builder, request: request, reserve: timestampReserve)
        let (messageDigest, documentDigest) = try Self.hashSigned(source: source, prepared: prepared, digest: builder.digest, copyingTo: nil)
        if let expected = expectedDocumentSHA256 {
            try Self.checkApproved(documentDigest, expected: expected, path: inputPath)
        }
        var algorithm = DER.Serializer()
        try algorithm.serialize(try builder.signer.signatureAlgorithm(digest: builder.digest))
        return ExternalSigningState(
            prepared: prepared, digest: builder.digest, messageDigest: messageDigest,
            dataToBeSigned: try builder.dataToBeSigned(messageDigest: messageDigest),
            certificateDER: try builder.signer.certificate.derBytes(),
            chainDER: try builder.chain.map { try $0.derBytes() },
            signatureAlgorithmDER: algorithm.serializedBytes,
            maximumSignatureSize: builder.signer.maximumSignatureSize,
            warnings: document.warnings)
    }

    /// Phase two: checks the signature value over exactly the data handed out, re-reads the input
    /// (which must still hash to the prepared digest), embeds the CMS and writes the output.
    public func completeExternal(inputPath: String, outputPath: String, state: ExternalSigningState, signature: [UInt8],
                                 timestamper: (any SignatureTimestamper)? = nil, expectedDocumentSHA256: String? = nil) async throws -> SigningOutcome {
        try Self.checkDistinct(inputPath, outputPath)
        let builder = try Self.builder(for: state)
        let source = try FileByteSource(path: inputPath)
        guard source.length == state.prepared.base.fileLength else {
            throw PAdESError(.preparedStateMismatch, "\(inputPath) has \(source.length) bytes but was prepared with \(state.prepared.base.fileLength); the document changed between the two phases: prepare it again")
        }
        let writer = try AtomicFileWriter(path: outputPath)
        let (messageDigest, documentDigest) = try Self.hashSigned(source: source, prepared: state.prepared, digest: state.digest, copyingTo: writer)
        if let expected = expectedDocumentSHA256 {
            try Self.checkApproved(documentDigest, expected: expected, path: inputPath)
        }
        guard messageDigest == state.messageDigest else {
            throw PAdESError(.preparedStateMismatch, "\(inputPath) no longer hashes to the prepared digest; the document changed between the two phases: prepare it again")
        }
        let cms = try await assemble(builder: builder, messageDigest: messageDigest, dtbs: state.dataToBeSigned,
                                     signature: signature, timestamper: timestamper)
        try writer.write(try state.prepared.complete(cms: cms))
        try writer.commit()
        return SigningOutcome(
            outputPath: outputPath, fieldName: state.prepared.fieldName, byteRange: state.prepared.byteRange,
            messageDigest: Hex.encode(messageDigest), digestAlgorithm: state.digest.rawValue,
            contentsCapacity: state.prepared.contentsCapacity, cmsSize: cms.count,
            level: timestamper == nil ? "B-B" : "B-T", warnings: state.warnings,
            originalLength: state.prepared.base.fileLength, originalSha256: documentDigest)
    }

    static func builder(for state: ExternalSigningState) throws -> PAdESSignatureBuilder {
        let certificate = try Certificate(derEncoded: state.certificateDER)
        let algorithm = try CMSAlgorithmIdentifier(derEncoded: state.signatureAlgorithmDER)
        let signer = ExternalSigner(certificate: certificate, algorithm: algorithm, maximumSignatureSize: state.maximumSignatureSize)
        return PAdESSignatureBuilder(signer: signer, chain: try state.chainDER.map { try Certificate(derEncoded: $0) }, digest: state.digest)
    }

    // MARK: - Shared steps

    func prepare(document: PDFDocument, builder: PAdESSignatureBuilder, request: SignatureRequest, reserve: Int) throws -> PreparedSignature {
        let capacity = try builder.estimatedSize(unsignedReserve: reserve) + contentsMargin
        let seed = try Self.documentID(document: document, request: request, certificate: builder.signer.certificate)
        return try SignaturePreparer.prepare(document: document, request: request, contentsCapacity: capacity, documentID: seed)
    }

    /// Checks the signature value, adds the timestamp (B-T) and returns the DER CMS.
    func assemble(builder: PAdESSignatureBuilder, messageDigest: [UInt8], dtbs: [UInt8], signature: [UInt8],
                  timestamper: (any SignatureTimestamper)?) async throws -> [UInt8] {
        // Never embed a signature that does not verify (a broken HSM or device would go unnoticed).
        guard try SignatureValueVerifier.isValid(signature: signature, over: dtbs, algorithm: builder.signer.signatureAlgorithm(digest: builder.digest),
                                                 fallbackDigest: builder.digest, publicKey: builder.signer.certificate.publicKey) else {
            throw PAdESError(.signatureInvalid, "the signature value does not verify over the data to be signed with the certificate's public key (subject \(builder.signer.certificate.subject)); check that key and certificate belong together and that the exact DTBS was signed")
        }
        var unsigned: [CMSAttribute] = []
        if let timestamper {
            let token = try await timestamper.timestampToken(forSignatureValue: signature)
            unsigned.append(try .signatureTimeStampToken(ContentInfo(derEncoded: token)))
        }
        let signerInfo = try builder.assembleSignerInfo(messageDigest: messageDigest, signature: signature, unsignedAttributes: unsigned)
        return try builder.assemble(signerInfo: signerInfo)
    }

    /// Digest of the bytes the signature covers: the whole original file, then the update minus
    /// the `/Contents` token; and, in the same pass, the SHA-256 (hex) of the original file.
    /// Copies the original to `writer` in the same pass when given.
    static func hashSigned(source: FileByteSource, prepared: PreparedSignature, digest: DigestAlgorithm,
                           copyingTo writer: AtomicFileWriter?) throws -> (message: [UInt8], document: String) {
        var hasher = digest.makeHasher()
        var documentHasher = SHA256()
        try source.forEachChunk(offset: 0, length: prepared.base.fileLength) { chunk in
            hasher.update(chunk)
            documentHasher.update(bufferPointer: chunk)
            try writer?.write(chunk)
        }
        if source.length != prepared.base.fileLength {
            // Not the whole file: the document digest is over the file as it is now.
            try source.forEachChunk(offset: prepared.base.fileLength, length: source.length - prepared.base.fileLength) { documentHasher.update(bufferPointer: $0) }
        }
        let (head, tail) = prepared.coveredUpdateParts
        hasher.update(head)
        hasher.update(tail)
        return (hasher.finalize(), Hex.encode(Array(documentHasher.finalize())))
    }

    static func checkDistinct(_ inputPath: String, _ outputPath: String) throws {
        let inputURL = URL(fileURLWithPath: inputPath).standardizedFileURL.resolvingSymlinksInPath()
        let outputURL = URL(fileURLWithPath: outputPath).standardizedFileURL.resolvingSymlinksInPath()
        guard inputURL.path != outputURL.path else {
            throw SigningServiceError(code: .outputIsInput, message: "the output \(outputPath) is the input file; signd never overwrites its input: choose another output path")
        }
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

public struct SigningServiceError: SigndError, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }
        /// The bytes about to be signed (or signed) are not the approved ones.
        public static let documentChanged = Code(rawValue: "document.changed")
        /// The prepared update does not start at the end of the copied input.
        public static let preparedLength = Code(rawValue: "internal.preparedLength")
        /// The output path is the input path.
        public static let outputIsInput = Code(rawValue: "io.outputIsInput")
        /// The signed output did not pass signd's own verification.
        public static let selfCheckFailed = Code(rawValue: "signature.selfCheckFailed")
    }
    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public init(code: String, message: String) {
        self.init(code: Code(rawValue: code), message: message)
    }
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
    public var description: String { "[\(code)] \(message)" }
}
