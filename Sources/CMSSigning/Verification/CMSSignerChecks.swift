import CMSStructures
import Crypto
import X509

/// Checks shared by every CMS signature signd reads (document signatures and timestamp tokens).
public enum CMSSignerChecks {
    /// The certificate that `signerInfo.sid` names, among `certificates`.
    public static func signerCertificate(for signerInfo: SignerInfo, in certificates: [Certificate]) -> Certificate? {
        certificates.first { cert in
            switch signerInfo.sid {
            case .issuerAndSerialNumber(let ias):
                return ias.issuer == cert.issuer && ias.serialNumber == cert.serialNumber
            case .subjectKeyIdentifier(let ski):
                return (try? cert.extensions.subjectKeyIdentifier)??.keyIdentifier == ski.keyIdentifier
            }
        }
    }

    /// Whether an ESS signing-certificate-v2 (RFC 5035) or, failing that, signing-certificate
    /// (RFC 2634, SHA-1) attribute binds `certificate`. Returns nil when neither is present.
    public static func essBinding(_ signerInfo: SignerInfo, certificate: Certificate) -> Bool? {
        guard let der = try? certificate.derBytes() else { return false }
        if let v2 = (try? signerInfo.signingCertificateV2) ?? nil {
            guard let first = v2.certs.first, let h = DigestAlgorithm(identifier: first.hashAlgorithm) else { return false }
            var ok = h.hash(der) == first.certHash
            if let issuerSerial = first.issuerSerial { ok = ok && issuerSerial.matches(certificate) }
            return ok
        }
        if let v1 = (try? signerInfo.signingCertificate) ?? nil {
            guard let first = v1.certs.first else { return false }
            var ok = Array(Insecure.SHA1.hash(data: der)) == first.certHash
            if let issuerSerial = first.issuerSerial { ok = ok && issuerSerial.matches(certificate) }
            return ok
        }
        return nil
    }
}
