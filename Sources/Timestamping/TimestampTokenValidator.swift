import CMSStructures
import Crypto
import Foundation
import CMSSigning
import SigndCore
import SwiftASN1
import X509

/// A timestamp token that passed every check.
public struct ValidatedTimestamp: Sendable {
    /// DER `ContentInfo` of the token.
    public var token: [UInt8]
    public var tstInfo: TSTInfo
    public var genTime: Date
    public var tsaCertificate: Certificate
    public var url: String?
}

/// Checks RFC 3161 responses and tokens before anything uses them (RFC 3161 2.4.2, ETSI EN
/// 319 422): status, token shape, the TSA's CMS signature, imprint, nonce, policy, TSA
/// certificate (present, exactly one critical EKU id-kp-timeStamping), ESS binding, genTime
/// within the certificate's validity and near local time, and the chain to trust anchors.
public struct TimestampTokenValidator: Sendable {
    public var trustAnchors: [Certificate]
    /// Largest accepted difference between genTime and local time.
    public var clockTolerance: TimeInterval
    /// Policies accepted when the request named none (empty: any).
    public var acceptablePolicies: [ASN1ObjectIdentifier]

    public init(trustAnchors: [Certificate], clockTolerance: TimeInterval = 300, acceptablePolicies: [ASN1ObjectIdentifier] = []) {
        self.trustAnchors = trustAnchors
        self.clockTolerance = clockTolerance
        self.acceptablePolicies = acceptablePolicies
    }

    /// Validates a TimeStampResp for `request`, at local time `now`.
    public func validate(response der: [UInt8], for request: TimeStampReq, url: String?, now: Date) async throws -> ValidatedTimestamp {
        let response: TimeStampResp
        do { response = try TimeStampResp(derEncoded: der) } catch {
            throw TimestampError(.malformedResponse, "the reply is not a DER TimeStampResp (\(error))", url: url)
        }
        guard response.status.status.isGranted else {
            let text = response.status.statusString?.joined(separator: "; ") ?? ""
            let fail = response.status.failInfo.map { " failInfo \($0.rawValue)" } ?? ""
            throw TimestampError(.rejected, "the TSA rejected the request: status \(response.status.status)\(fail) \(text)", url: url)
        }
        guard let token = response.timeStampToken else {
            throw TimestampError(.noToken, "the TSA granted the request but sent no token", url: url)
        }
        let validated = try await validate(token: try token.derEncoded(), url: url, now: now, checkClock: true)
        let info = validated.tstInfo
        guard info.messageImprint.hashedMessage == request.messageImprint.hashedMessage,
              info.messageImprint.hashAlgorithm.algorithm == request.messageImprint.hashAlgorithm.algorithm else {
            throw TimestampError(.imprintMismatch, "the token's message imprint is not the one requested", url: url)
        }
        guard info.nonce == request.nonce else {
            throw TimestampError(.nonceMismatch, "the token's nonce differs from the request's (replayed or foreign response)", url: url)
        }
        if let policy = request.reqPolicy, info.policy != policy {
            throw TimestampError(.policyMismatch, "the token's policy \(info.policy) is not the requested \(policy)", url: url)
        }
        if request.reqPolicy == nil, !acceptablePolicies.isEmpty, !acceptablePolicies.contains(info.policy) {
            throw TimestampError(.policyMismatch, "the token's policy \(info.policy) is not among the accepted policies", url: url)
        }
        return validated
    }

    /// Validates a token on its own (structure, signature, certificate, chain). The imprint is
    /// checked by the caller, who knows what was timestamped.
    public func validate(token der: [UInt8], url: String?, now: Date, checkClock: Bool) async throws -> ValidatedTimestamp {
        let signedData: SignedData
        let info: TSTInfo
        do {
            let contentInfo = try ContentInfo(derEncoded: der)
            signedData = try contentInfo.signedData()
            guard signedData.encapContentInfo.eContentType == CMSObjectIdentifiers.idCTTSTInfo else {
                throw TimestampError(.wrongContentType, "the token's content type is \(signedData.encapContentInfo.eContentType), not id-ct-TSTInfo", url: url)
            }
            info = try TSTInfo(signedData: signedData)
        } catch let e as TimestampError {
            throw e
        } catch {
            throw TimestampError(.malformedResponse, "the token is not a CMS SignedData with a TSTInfo (\(error))", url: url)
        }
        guard signedData.signerInfos.count == 1 else {
            throw TimestampError(.signerInfoCount, "the token has \(signedData.signerInfos.count) SignerInfos; exactly one is required", url: url)
        }
        let signerInfo = signedData.signerInfos[0]
        let certificates = (try? signedData.x509Certificates()) ?? []
        guard let tsaCert = CMSSignerChecks.signerCertificate(for: signerInfo, in: certificates) else {
            throw TimestampError(.certificateMissing, "the token does not carry the TSA certificate (certReq was set)", url: url)
        }
        // The TSA's signature over the signed attributes, and message-digest over the TSTInfo.
        guard let digest = DigestAlgorithm(identifier: signerInfo.digestAlgorithm),
              let dtbs = signerInfo.signedAttrsDERForSignature,
              let content = signedData.encapContentInfo.eContent,
              (try? signerInfo.messageDigest) == digest.hash(content),
              (try? signerInfo.contentType) == CMSObjectIdentifiers.idCTTSTInfo,
              (try? SignatureValueVerifier.isValid(signature: signerInfo.signature, over: dtbs, algorithm: signerInfo.signatureAlgorithm,
                                                   fallbackDigest: digest, publicKey: tsaCert.publicKey)) == true else {
            throw TimestampError(.signatureInvalid, "the TSA's signature on the token does not verify", url: url)
        }
        // Exactly one EKU, critical, id-kp-timeStamping (RFC 3161 2.3).
        guard let ekuExt = tsaCert.extensions[oid: .X509ExtensionID.extendedKeyUsage], ekuExt.critical,
              let eku = try? ExtendedKeyUsage(ekuExt), Array(eku) == [ExtendedKeyUsage.Usage.timeStamping] else {
            throw TimestampError(.extendedKeyUsage, "the TSA certificate (\(tsaCert.subject)) must have exactly one, critical, extendedKeyUsage id-kp-timeStamping", url: url)
        }
        guard CMSSignerChecks.essBinding(signerInfo, certificate: tsaCert) == true else {
            throw TimestampError(.essMismatch, "the token's ESS signing-certificate attribute does not bind the TSA certificate", url: url)
        }
        guard let genTime = GeneralizedTimeConversion.date(info.genTime) else {
            throw TimestampError(.malformedResponse, "genTime is not a valid time", url: url)
        }
        guard genTime >= tsaCert.notValidBefore, genTime <= tsaCert.notValidAfter else {
            throw TimestampError(.genTimeOutsideValidity, "genTime \(genTime) lies outside the TSA certificate's validity (\(tsaCert.notValidBefore) to \(tsaCert.notValidAfter))", url: url)
        }
        if checkClock, abs(genTime.timeIntervalSince(now)) > clockTolerance {
            throw TimestampError(.clockSkew, "genTime \(genTime) differs from local time by more than \(Int(clockTolerance)) s; check both clocks", url: url)
        }
        var verifier = Verifier(rootCertificates: CertificateStore(trustAnchors)) {
            RFC5280Policy(validationTime: genTime)
            TimeStampingPolicy()
        }
        switch await verifier.validate(leaf: tsaCert, intermediates: CertificateStore(certificates)) {
        case .validCertificate: break
        case .couldNotValidate:
            throw TimestampError(.untrusted, "the TSA certificate (\(tsaCert.subject)) does not chain to a configured TSA trust anchor; add its root with --tsa-trust", url: url)
        }
        return ValidatedTimestamp(token: der, tstInfo: info, genTime: genTime, tsaCertificate: tsaCert, url: url)
    }

    /// The report `signd verify` shows for a signature-time-stamp over `signatureValue`.
    public func report(token: [UInt8], signatureValue: [UInt8]) async -> TimestampReport {
        do {
            let v = try await validate(token: token, url: nil, now: Date(), checkClock: false)
            let imprintAlg = DigestAlgorithm(identifier: v.tstInfo.messageImprint.hashAlgorithm)
            let imprintOK = imprintAlg.map { $0.hash(signatureValue) == v.tstInfo.messageImprint.hashedMessage } ?? false
            return TimestampReport(genTime: Timestamps.iso8601(v.genTime), tsa: v.tsaCertificate.subject.description,
                                   imprintValid: imprintOK, signatureValid: true, trusted: true,
                                   problems: imprintOK ? [] : ["imprintMismatch"])
        } catch let e as TimestampError {
            // Re-read what can be read, to show it, but report the failure.
            var genTime = "?"
            var tsa: String?
            var imprintOK = false
            if let ci = try? ContentInfo(derEncoded: token), let info = try? TSTInfo(timeStampToken: ci) {
                if let d = GeneralizedTimeConversion.date(info.genTime) { genTime = Timestamps.iso8601(d) }
                if let alg = DigestAlgorithm(identifier: info.messageImprint.hashAlgorithm) { imprintOK = alg.hash(signatureValue) == info.messageImprint.hashedMessage }
                if let sd = try? ci.signedData(), let si = sd.signerInfos.first,
                   let c = CMSSignerChecks.signerCertificate(for: si, in: (try? sd.x509Certificates()) ?? []) { tsa = c.subject.description }
            }
            let untrusted = e.code == .untrusted
            var problems = [String(e.code.rawValue.dropFirst(4))]
            if !imprintOK { problems.append("imprintMismatch") }
            return TimestampReport(genTime: genTime, tsa: tsa, imprintValid: imprintOK, signatureValid: untrusted,
                                   trusted: untrusted ? false : nil, problems: problems)
        } catch {
            return TimestampReport(genTime: "?", tsa: nil, imprintValid: false, signatureValid: false, trusted: nil, problems: ["malformed"])
        }
    }
}

/// Conversion of ASN.1 GeneralizedTime to Date (UTC).
public enum GeneralizedTimeConversion {
    public static func date(_ t: GeneralizedTime) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let base = calendar.date(from: DateComponents(year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds))
        return base.map { $0.addingTimeInterval(t.fractionalSeconds) }
    }
}
