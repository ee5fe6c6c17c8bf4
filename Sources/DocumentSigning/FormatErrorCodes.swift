import CMSSigning
import CMSStructures
import PAdES
import PDFSignatures
import PDFSyntax
import SigndCore

// The format modules do not depend on SigndCore; their errors become SigndErrors here.

extension PDFError: SigndError {
    public var retryable: Bool { false }
    /// With the object number and offset.
    public var operatorMessage: String { description }
}

extension SignatureEmbeddingError: SigndError {
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
}

extension PAdESError: SigndError {
    public var retryable: Bool { false }
    public var operatorMessage: String { message }
}

extension CMSStructuresError: SigndError {
    public var retryable: Bool { false }
    public var operatorMessage: String { description }
}

/// PDFSyntax's documented codes (``PDFError/Code``).
public enum PDFErrorCodes {
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(PDFError.Code.notPDF.rawValue, .pdfSyntax, meaning: "no `%PDF-` header in the first 1024 bytes, or unknown version", action: "send a PDF"),
        ErrorCodeInfo(PDFError.Code.truncated.rawValue, .pdfSyntax, meaning: "the file ends early (no `%%EOF`, object or stream cut)", action: "the upload/copy was incomplete: resend the whole file"),
        ErrorCodeInfo(PDFError.Code.syntax.rawValue, .pdfSyntax, meaning: "invalid token or object", action: "re-save with a PDF tool (`qpdf in.pdf out.pdf`)"),
        ErrorCodeInfo(PDFError.Code.startxrefMissing.rawValue, .pdfSyntax, meaning: "no usable `startxref`", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.xref.rawValue, .pdfSyntax, meaning: "cross-reference section malformed or at the wrong offset", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.xrefLoop.rawValue, .pdfSyntax, meaning: "`/Prev` chain loops", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.objectNotFound.rawValue, .pdfSyntax, meaning: "an object the structure needs is missing", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.objectMismatch.rawValue, .pdfSyntax, meaning: "xref points at a different object", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.limitExceeded.rawValue, .pdfSyntax, meaning: "a safety limit was exceeded (docs/pdf-support.md), including a stream that decodes to more than the reader needs from it (a decompression bomb)", action: "check the file; contact support if genuine"),
        ErrorCodeInfo(PDFError.Code.numberOutOfRange.rawValue, .pdfSyntax, meaning: "a number the file states (offset, length, count, object number, generation, `/Size`, `/W`, `/Index`, `/N`, `/First`) is negative, makes an offset computation overflow (e.g. `startxref 9223372036854775800` after a junk prefix), or claims more objects than the file can hold (one per byte, at least 65,536); also when signing would need an object number beyond that allowance", action: "re-save the file with a PDF tool (`qpdf in.pdf out.pdf`); the message names the value and offset"),
        ErrorCodeInfo(PDFError.Code.encrypted.rawValue, .pdfSyntax, meaning: "the document is encrypted", action: "send an unencrypted copy"),
        ErrorCodeInfo(PDFError.Code.unsupportedFilter.rawValue, .pdfSyntax, meaning: "an xref/object stream uses a filter other than FlateDecode", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.decode.rawValue, .pdfSyntax, meaning: "stream data could not be decoded", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.structure.rawValue, .pdfSyntax, meaning: "catalog, page tree or form structure invalid", action: "re-save the file"),
        ErrorCodeInfo(PDFError.Code.io.rawValue, .pdfSyntax, meaning: "the file cannot be opened or read", action: "check path and permissions"),
    ]
}

/// PDFSignatures' documented codes (``SignatureEmbeddingError/Code``).
public enum SignatureEmbeddingErrorCodes {
    typealias C = SignatureEmbeddingError.Code
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(C.contentsTooSmall.rawValue, .signatureEmbedding, meaning: "the CMS (with timestamp) does not fit the reserved `/Contents`; the message gives both sizes"),
        ErrorCodeInfo(C.fieldAlreadySigned.rawValue, .signatureEmbedding, meaning: "the named field already holds a signature"),
        ErrorCodeInfo(C.fieldNotSignature.rawValue, .signatureEmbedding, meaning: "the named field is not a signature field"),
        ErrorCodeInfo(C.pageOutOfRange.rawValue, .signatureEmbedding, meaning: "the page for the widget does not exist"),
        ErrorCodeInfo(C.invalidFieldName.rawValue, .signatureEmbedding, meaning: "empty name, or a name with `.`"),
        ErrorCodeInfo(C.malformedSignature.rawValue, .signatureEmbedding, meaning: "internal: placeholders not found"),
        ErrorCodeInfo(C.capacityOutOfRange.rawValue, .signatureEmbedding, meaning: "the requested `/Contents` capacity is not 1 byte to 32 MiB (internal or a damaged saved state)"),
        // signature.preparedStateMismatch: documented with PAdES (same code, same meaning).
    ]
}

/// PAdES's documented codes (``PAdESError/Code``).
public enum PAdESErrorCodes {
    typealias C = PAdESError.Code
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(C.unsupportedKey.rawValue, .signing, meaning: "not a supported PEM private key (EC P-256/384/521, RSA 2048–4096)"),
        ErrorCodeInfo(C.encryptedKey.rawValue, .signing, meaning: "the PEM key is password-protected"),
        ErrorCodeInfo(C.keyCertificateMismatch.rawValue, .signing, meaning: "the key does not belong to the certificate"),
        ErrorCodeInfo(C.badCertificate.rawValue, .signing, meaning: "a certificate file cannot be parsed"),
        ErrorCodeInfo(C.keyUsageNotForSigning.rawValue, .signing, meaning: "the certificate's key usage does not allow signing documents (also a `signd verify` problem)"),
        ErrorCodeInfo(C.unsupportedAlgorithm.rawValue, .signing, meaning: "key/digest combination not supported"),
        ErrorCodeInfo(C.signerFailed.rawValue, .signing, meaning: "the key holder failed"),
        ErrorCodeInfo(C.signatureInvalid.rawValue, .signing, meaning: "the signature value does not verify over the data to be signed (never embedded)"),
        ErrorCodeInfo(C.preparedStateMismatch.rawValue, .signing, meaning: "two-phase: the document changed between prepare and complete; a saved prepared state whose `/Contents` token or `/ByteRange` does not match its bytes is refused when it is decoded (a `DecodingError` whose text carries this code)"),
        ErrorCodeInfo(C.sizeOutOfRange.rawValue, .signing, meaning: "a size that sizes the `/Contents` placeholder (the signer's maximum signature size, the timestamp reserve) is negative or above 1 MiB, e.g. from a damaged external-signing state"),
    ]

    /// `signd verify` problem codes (PDFSignatures and the PAdES verifier).
    public static let verificationProblems: [ErrorCodeInfo] = [
        "byteRange.malformed", "byteRange.gapNotContents", "byteRange.notRevisionEnd", "byteRange.unreadable",
        "revision.contentChangedAfterSignature", "revision.unreadable", "cms.malformed", "cms.signerInfoCount",
        "cms.unsupportedDigest", "cms.messageDigestMismatch", "cms.signerCertificateMissing", "cms.noSignedAttributes",
        "cms.signatureInvalid", "cms.contentTypeNotData", "cms.signingCertificateV2", "certificate.keyUsage",
        "certificate.untrusted", "pades.signingTimePresent", "timestamp.<tsa code without prefix>", "timestamp.imprintMismatch",
    ].map { ErrorCodeInfo($0, .verification, meaning: "a `signd verify` problem (docs/verify-json.md)") }
}

/// CMSStructures' documented codes (``CMSStructuresError/Code``).
public enum CMSStructuresErrorCodes {
    typealias C = CMSStructuresError.Code
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(C.malformed.rawValue, .cms, meaning: "the bytes are not a well-formed DER encoding of the expected structure (wrong tag, missing field, truncated, bad INTEGER)"),
        ErrorCodeInfo(C.trailingBytes.rawValue, .cms, meaning: "bytes remain after the single top-level element"),
        ErrorCodeInfo(C.notDER.rawValue, .cms, meaning: "valid BER that breaks a DER rule (unsorted SET OF, DEFAULT value encoded, non-minimal BIT STRING)"),
        ErrorCodeInfo(C.unsupportedVersion.rawValue, .cms, meaning: "a `version` field the RFC does not allow for this structure"),
        ErrorCodeInfo(C.unexpectedContentType.rawValue, .cms, meaning: "a content type / eContentType other than the one required here"),
        ErrorCodeInfo(C.invalidAttribute.rawValue, .cms, meaning: "an attribute is malformed (wrong number or type of values)"),
        ErrorCodeInfo(C.valueOutOfRange.rawValue, .cms, meaning: "a value outside the range the grammar permits (e.g. Accuracy.millis not in 1...999)"),
        ErrorCodeInfo(C.unsupportedAlgorithm.rawValue, .cms, meaning: "an algorithm identifier the operation does not support"),
        ErrorCodeInfo(C.serializationFailed.rawValue, .cms, meaning: "internal: a value could not be serialized"),
    ]
}

/// DocumentSigning's documented codes (``SigningServiceError``).
public enum DocumentSigningErrorCodes {
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(SigningServiceError.Code.selfCheckFailed.rawValue, .spoolJobs, meaning: "the output did not pass signd's own verification; nothing delivered"),
        ErrorCodeInfo(SigningServiceError.Code.outputIsInput.rawValue, .signing, meaning: "output path equals input path (signd never overwrites its input)"),
        ErrorCodeInfo(SigningServiceError.Code.preparedLength.rawValue, .signing, meaning: "internal: the prepared update does not start at the end of the copied input; nothing was signed (report it with the daemon log)"),
    ]
}
