import CMSSigning
import CMSStructures
import SwiftASN1
import X509

/// The PAdES baseline recipe (ETSI EN 319 142-1, B-B) for the CMS inside `/Contents`.
///
/// Signed attributes, exactly one each: content-type (id-data), message-digest (over the
/// ByteRange bytes) and signing-certificate-v2 (RFC 5035). No signing-time: the claimed time is
/// `/M` of the signature dictionary. One SignerInfo (version 1, issuerAndSerialNumber); the signer
/// certificate and the given chain are embedded; encapContentInfo is id-data without content.
public struct PAdESSignatureBuilder: Sendable {
    public let signer: any CMSSigner
    /// Certificates to embed besides the signer's (intermediates, optionally the root).
    public let chain: [Certificate]
    public let digest: DigestAlgorithm

    public init(signer: any CMSSigner, chain: [Certificate], digest: DigestAlgorithm) {
        self.signer = signer
        self.chain = chain.filter { $0 != signer.certificate }
        self.digest = digest
    }

    /// The signed attributes for a document digest.
    public func signedAttributes(messageDigest: [UInt8]) throws -> [CMSAttribute] {
        let certDER = try signer.certificate.derBytes()
        let essCertID = ESSCertIDv2(
            hashAlgorithm: digest.identifier,
            certHash: digest.hash(certDER),
            issuerSerial: IssuerSerial(certificate: signer.certificate))
        return [
            try .contentType(CMSObjectIdentifiers.idData),
            try .messageDigest(messageDigest),
            try .signingCertificateV2(SigningCertificateV2(certs: [essCertID])),
        ]
    }

    /// The data to be signed: the DER of the signed attributes as a SET (tag 0x31).
    public func dataToBeSigned(messageDigest: [UInt8]) throws -> [UInt8] {
        try SignerInfo.signedAttrsDER(for: signedAttributes(messageDigest: messageDigest))
    }

    /// The DER `ContentInfo` for a signature value produced over ``dataToBeSigned(messageDigest:)``.
    public func assemble(messageDigest: [UInt8], signature: [UInt8], unsignedAttributes: [CMSAttribute] = []) throws -> [UInt8] {
        let signerInfo = try assembleSignerInfo(messageDigest: messageDigest, signature: signature, unsignedAttributes: unsignedAttributes)
        return try assemble(signerInfo: signerInfo)
    }

    public func assembleSignerInfo(messageDigest: [UInt8], signature: [UInt8], unsignedAttributes: [CMSAttribute] = []) throws -> SignerInfo {
        try SignerInfo(
            sid: SignerIdentifier(issuerAndSerialNumberOf: signer.certificate),
            digestAlgorithm: digest.identifier,
            signedAttrs: signedAttributes(messageDigest: messageDigest),
            signatureAlgorithm: signer.signatureAlgorithm(digest: digest),
            signature: signature,
            unsignedAttrs: unsignedAttributes)
    }

    public func assemble(signerInfo: SignerInfo) throws -> [UInt8] {
        let signedData = try SignedData(
            digestAlgorithms: [digest.identifier],
            encapContentInfo: EncapsulatedContentInfo(eContentType: CMSObjectIdentifiers.idData),
            x509Certificates: [signer.certificate] + chain,
            signerInfos: [signerInfo])
        return try ContentInfo(signedData: signedData).derEncoded()
    }

    /// Size of the CMS when the signature has its maximum size, plus `unsignedReserve` bytes for
    /// unsigned attributes (a timestamp token) added later. Used to size `/Contents` by a dry run.
    /// Both sizes are bounded (``maximumPlaceholderPart``): they may come from a saved state or a
    /// configuration, and a negative or huge one is `signature.sizeOutOfRange`, never a trap or a
    /// gigabyte placeholder.
    public func estimatedSize(unsignedReserve: Int = 0) throws -> Int {
        let maxSignature = signer.maximumSignatureSize
        guard (0...Self.maximumPlaceholderPart).contains(maxSignature) else {
            throw PAdESError(.sizeOutOfRange, "the signer's maximum signature size \(maxSignature) is outside 0...\(Self.maximumPlaceholderPart) bytes")
        }
        guard (0...Self.maximumPlaceholderPart).contains(unsignedReserve) else {
            throw PAdESError(.sizeOutOfRange, "the reserve for unsigned attributes (timestamp token) \(unsignedReserve) is outside 0...\(Self.maximumPlaceholderPart) bytes")
        }
        let dummy = [UInt8](repeating: 0xFF, count: maxSignature)
        let size = try assemble(messageDigest: [UInt8](repeating: 0, count: digest.length), signature: dummy).count
        return size + unsignedReserve
    }

    /// Upper bound for the maximum signature size and for the unsigned-attribute reserve: 1 MiB
    /// each, far beyond any real signature or timestamp token.
    public static let maximumPlaceholderPart = 1 << 20
}
