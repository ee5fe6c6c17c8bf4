import CMSSigning
import CMSStructures
import Foundation
import PDFSignatures
import PDFSyntax
import SwiftASN1
import X509

/// Verifies every signature of a document: byte range, message digest, CMS signature,
/// signing-certificate-v2, key usage, chain to trust roots, and what later revisions changed.
///
/// Pure: reads only through the document's byte source; the validation time is a parameter.
public struct PAdESVerifier: Sendable {
    static let iso8601Style = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)
    static func iso8601(_ date: Date) -> String { date.formatted(iso8601Style) }

    public var trustRoots: [Certificate]?
    public var validationTime: Date
    /// Checks timestamp tokens found in signatures (set by the timestamp layer).
    public var timestampChecker: (@Sendable (_ token: [UInt8], _ signatureValue: [UInt8]) async -> TimestampReport)?

    public init(trustRoots: [Certificate]?, validationTime: Date,
                timestampChecker: (@Sendable (_ token: [UInt8], _ signatureValue: [UInt8]) async -> TimestampReport)? = nil) {
        self.trustRoots = trustRoots
        self.validationTime = validationTime
        self.timestampChecker = timestampChecker
    }

    public func verify(document: PDFDocument, fileName: String) async throws -> VerificationReport {
        let embedded = try SignatureInspector.signatures(in: document)
        var reports: [SignatureReport] = []
        // Per revision, not per signature: many signatures of one revision compare it once.
        var laterChanges: [Int: LaterChanges?] = [:]
        for section in Set(embedded.compactMap(\.revisionSection)) {
            laterChanges.updateValue(try? SignatureInspector.laterChanges(after: section, in: document), forKey: section)
        }
        for sig in embedded {
            reports.append(await verify(sig, in: document, laterChanges: laterChanges))
        }
        let allIntact = !reports.isEmpty && reports.allSatisfy(\.intact)
        let allTrusted: Bool? = trustRoots == nil ? nil : (!reports.isEmpty && reports.allSatisfy { $0.trusted == true })
        var warnings = document.warnings
        if reports.isEmpty { warnings.append("the document has no signatures") }
        if let lastEnd = try SignatureInspector.revisionEndOffsets(document).first, lastEnd > 0, lastEnd < document.source.length {
            warnings.append("\(document.source.length - lastEnd) byte(s) after the last revision's %%EOF are not covered by any signature")
        }
        return VerificationReport(file: fileName, revisions: document.sections.count, signatures: reports,
                                  allIntact: allIntact, allTrusted: allTrusted, warnings: warnings)
    }

    /// - Parameter laterChanges: what the revisions after each signed one changed, when already
    ///   known (nil inside: unreadable); computed here otherwise.
    func verify(_ sig: EmbeddedSignature, in document: PDFDocument, laterChanges: [Int: LaterChanges?] = [:]) async -> SignatureReport {
        var problems = sig.problems
        var report = SignatureReport(
            field: sig.fieldName, type: sig.type, subFilter: sig.subFilter,
            signingTime: sig.signingTimeText.flatMap(PDFDate.parse).map { PAdESVerifier.iso8601($0) },
            signingTimeRaw: sig.signingTimeText, reason: sig.reason, location: sig.location,
            revision: sig.revisionNumber,
            coversWholeRevision: sig.gapIsContentsToken && sig.revisionSection != nil,
            laterRevisions: (sig.revisionSection ?? 0) > 0, laterChanges: LaterChanges.none.rawValue,
            messageDigestValid: false, signatureValid: false, signingCertificateV2Valid: false, keyUsageValid: false,
            trusted: nil, level: "none", problems: [], intact: false)
        if let section = sig.revisionSection {
            let changes = laterChanges[section] ?? (try? SignatureInspector.laterChanges(after: section, in: document))
            if let changes {
                report.laterChanges = changes.rawValue
                if changes == .content { problems.append("revision.contentChangedAfterSignature") }
            } else {
                report.laterChanges = LaterChanges.content.rawValue
                problems.append("revision.unreadable")
            }
        }

        // Digest of the signed byte ranges, streamed through the source.
        let signerInfo: SignerInfo
        let signedData: SignedData
        do {
            signedData = try ContentInfo(derEncoded: sig.contents).signedData()
            guard signedData.signerInfos.count == 1 else {
                problems.append("cms.signerInfoCount")
                report.problems = problems
                return report
            }
            signerInfo = signedData.signerInfos[0]
        } catch {
            problems.append("cms.malformed")
            report.problems = problems
            return report
        }
        guard let digest = DigestAlgorithm(identifier: signerInfo.digestAlgorithm) else {
            problems.append("cms.unsupportedDigest")
            report.problems = problems
            return report
        }
        report.digestAlgorithm = digest.rawValue
        report.signatureAlgorithm = "\(signerInfo.signatureAlgorithm.algorithm)"

        // Only a range that lies inside the file is hashed: its numbers are untrusted, and
        // `offset + length` of `[0 9223372036854775807 ...]` must not trap (it is
        // `byteRange.malformed` already).
        if let segments = ByteRangeCheck.segments(of: sig.byteRange, fileLength: document.source.length) {
            do {
                var hasher = digest.makeHasher()
                for (offset, length) in segments {
                    var pos = offset
                    let end = offset + length // checked by ByteRangeCheck: ≤ the file length
                    while pos < end {
                        let chunk = try document.source.read(offset: pos, count: Int(min(1 << 20, end - pos)))
                        if chunk.isEmpty { throw PDFError(.truncated, "byte range beyond end of file") }
                        hasher.update(chunk)
                        pos += Int64(chunk.count)
                    }
                }
                let computed = hasher.finalize()
                report.messageDigestValid = (try? signerInfo.messageDigest) == computed
            } catch {
                problems.append("byteRange.unreadable")
            }
        }
        if !report.messageDigestValid { problems.append("cms.messageDigestMismatch") }

        // Signer certificate.
        let certificates = (try? signedData.x509Certificates()) ?? []
        let signerCert = CMSSignerChecks.signerCertificate(for: signerInfo, in: certificates)
        guard let signerCert else {
            problems.append("cms.signerCertificateMissing")
            report.problems = problems
            return report
        }
        report.signer = signerCert.subject.description
        report.issuer = signerCert.issuer.description
        report.signerSerial = signerCert.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()

        if let dtbs = signerInfo.signedAttrsDERForSignature {
            report.signatureValid = (try? SignatureValueVerifier.isValid(
                signature: signerInfo.signature, over: dtbs, algorithm: signerInfo.signatureAlgorithm,
                fallbackDigest: digest, publicKey: signerCert.publicKey)) ?? false
        } else {
            problems.append("cms.noSignedAttributes")
        }
        if !report.signatureValid { problems.append("cms.signatureInvalid") }
        if (try? signerInfo.contentType) != CMSObjectIdentifiers.idData { problems.append("cms.contentTypeNotData") }

        // signing-certificate-v2 binds the signer certificate.
        if (try? signerInfo.signingCertificateV2) ?? nil != nil {
            report.signingCertificateV2Valid = CMSSignerChecks.essBinding(signerInfo, certificate: signerCert) ?? false
        }
        if !report.signingCertificateV2Valid { problems.append("cms.signingCertificateV2") }

        // Key usage: digitalSignature or nonRepudiation.
        if let ku = try? signerCert.extensions.keyUsage {
            report.keyUsageValid = ku.digitalSignature || ku.nonRepudiation
        } else {
            report.keyUsageValid = true // absent key usage places no restriction (RFC 5280 4.2.1.3)
        }
        if !report.keyUsageValid { problems.append("certificate.keyUsage") }

        if let roots = trustRoots {
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                RFC5280Policy(validationTime: validationTime)
            }
            let result = await verifier.validate(leaf: signerCert, intermediates: CertificateStore(certificates))
            switch result {
            case .validCertificate where report.keyUsageValid:
                report.trusted = true
            case .validCertificate:
                report.trusted = false
                report.trustProblem = "the signer certificate's key usage allows neither digitalSignature nor nonRepudiation"
            case .couldNotValidate(let failures):
                report.trusted = false
                let reasons = failures.map { "\($0.policyFailureReason)" }.filter { !$0.isEmpty }
                report.trustProblem = reasons.isEmpty
                    ? "no chain from the signer certificate (issuer \(signerCert.issuer)) to a trusted root could be built from the embedded certificates"
                    : reasons.joined(separator: "; ")
                problems.append("certificate.untrusted")
            }
        }

        // Timestamp (B-T).
        let tokens = signerInfo.unsignedAttribute(CMSObjectIdentifiers.signatureTimeStampToken)
        if let attr = tokens.first, let value = attr.attrValues.first, let checker = timestampChecker {
            var serializer = DER.Serializer()
            if (try? serializer.serialize(value)) != nil {
                let ts = await checker(serializer.serializedBytes, signerInfo.signature)
                report.timestamp = ts
                problems.append(contentsOf: ts.problems.map { "timestamp." + $0 })
            }
        }

        // PAdES baseline level.
        let baseline = sig.subFilter == "ETSI.CAdES.detached" && report.signingCertificateV2Valid
            && signerInfo.signedAttribute(CMSObjectIdentifiers.signingTime).isEmpty
            && sig.signingTimeText != nil
        if sig.subFilter == "ETSI.CAdES.detached" && !signerInfo.signedAttribute(CMSObjectIdentifiers.signingTime).isEmpty {
            problems.append("pades.signingTimePresent")
        }
        if baseline {
            if let ts = report.timestamp, ts.imprintValid, ts.signatureValid {
                report.level = "B-T"
            } else {
                report.level = "B-B"
            }
        }

        report.intact = report.coversWholeRevision && report.messageDigestValid && report.signatureValid
            && report.laterChanges != LaterChanges.content.rawValue
            && !problems.contains("cms.contentTypeNotData")
        report.problems = problems
        return report
    }
}
