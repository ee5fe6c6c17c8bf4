import CMSStructures
import Foundation
import CMSSigning
import SwiftASN1
import X509

/// Hands out TSA serial numbers that are never reused, across restarts.
public protocol TSASerialSource: Sendable {
    func next() async throws -> [UInt8]
}

/// The embedded RFC 3161 time-stamping authority: parses a request, checks it, and answers with
/// a signed token or a rejection carrying the right failInfo. Time and serials are injected.
public actor TimeStampAuthority {
    public let signer: PrivateKeySigner
    /// Certificates sent with the TSA certificate when certReq is set (issuer first).
    public let chain: [Certificate]
    public let policy: ASN1ObjectIdentifier
    public let accuracy: Accuracy?
    let serials: any TSASerialSource
    let clock: @Sendable () -> Date

    /// The default policy OID under signd's documentation arc (see docs/timestamps.md).
    public static let defaultPolicy: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 99999, 3161, 1]

    public init(signer: PrivateKeySigner, chain: [Certificate], policy: ASN1ObjectIdentifier = TimeStampAuthority.defaultPolicy,
                accuracy: Accuracy? = try? Accuracy(seconds: 1), serials: any TSASerialSource,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.signer = signer
        self.chain = chain
        self.policy = policy
        self.accuracy = accuracy
        self.serials = serials
        self.clock = clock
    }

    /// Answers a DER TimeStampReq with a DER TimeStampResp. Never throws: every failure is a
    /// rejection reply (badDataFormat, badAlg, unacceptedPolicy, unacceptedExtension, systemFailure).
    public func respond(to requestDER: [UInt8]) async -> [UInt8] {
        let request: TimeStampReq
        do { request = try TimeStampReq(derEncoded: requestDER) } catch {
            return Self.rejection(.badDataFormat, "the request is not a DER TimeStampReq")
        }
        guard let digest = DigestAlgorithm(identifier: request.messageImprint.hashAlgorithm),
              request.messageImprint.hashedMessage.count == digest.length else {
            return Self.rejection(.badAlg, "unsupported imprint algorithm or wrong imprint length; use SHA-256, SHA-384 or SHA-512")
        }
        if let asked = request.reqPolicy, asked != policy {
            return Self.rejection(.unacceptedPolicy, "policy \(asked) is not offered; this TSA issues under \(policy)")
        }
        if request.extensions != nil {
            return Self.rejection(.unacceptedExtension, "request extensions are not supported")
        }
        do {
            let token = try await issueToken(imprint: request.messageImprint, nonce: request.nonce, includeCertificates: request.certReq)
            let response = try TimeStampResp(status: PKIStatusInfo(status: .granted), timeStampToken: token)
            return try response.derEncoded()
        } catch {
            return Self.rejection(.systemFailure, "the TSA could not issue a token")
        }
    }

    func issueToken(imprint: MessageImprint, nonce: ArraySlice<UInt8>?, includeCertificates: Bool) async throws -> ContentInfo {
        let serial = try await serials.next()
        let info = TSTInfo(policy: policy, messageImprint: imprint, serialNumber: serial[...],
                           genTime: try Self.generalizedTime(clock()), accuracy: accuracy, nonce: nonce)
        let content = try info.derEncoded()
        let digest = DigestAlgorithm.sha256
        let essCertID = ESSCertIDv2(hashAlgorithm: digest.identifier, certHash: digest.hash(try signer.certificate.derBytes()),
                                    issuerSerial: IssuerSerial(certificate: signer.certificate))
        let attributes: [CMSAttribute] = [
            try .contentType(CMSObjectIdentifiers.idCTTSTInfo),
            try .messageDigest(digest.hash(content)),
            try .signingCertificateV2(SigningCertificateV2(certs: [essCertID])),
        ]
        let dtbs = try SignerInfo.signedAttrsDER(for: attributes)
        let signature = try await signer.sign(dtbs, digest: digest)
        let signerInfo = try SignerInfo(sid: SignerIdentifier(issuerAndSerialNumberOf: signer.certificate), digestAlgorithm: digest.identifier,
                                        signedAttrs: attributes, signatureAlgorithm: signer.signatureAlgorithm(digest: digest), signature: signature)
        let signedData = try SignedData(digestAlgorithms: [digest.identifier],
                                        encapContentInfo: EncapsulatedContentInfo(eContentType: CMSObjectIdentifiers.idCTTSTInfo, eContent: content),
                                        x509Certificates: includeCertificates ? [signer.certificate] + chain : [],
                                        signerInfos: [signerInfo])
        return try ContentInfo(signedData: signedData)
    }

    static func rejection(_ failure: PKIFailureInfo, _ text: String) -> [UInt8] {
        let response = try? TimeStampResp(status: PKIStatusInfo(status: .rejection, statusString: [text], failInfo: failure))
        return (try? response?.derEncoded()) ?? []
    }

    /// A GeneralizedTime in UTC with whole seconds (DER form, "YYYYMMDDHHMMSSZ").
    public static func generalizedTime(_ date: Date) throws -> GeneralizedTime {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return try GeneralizedTime(year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!, seconds: c.second!, fractionalSeconds: 0)
    }
}
