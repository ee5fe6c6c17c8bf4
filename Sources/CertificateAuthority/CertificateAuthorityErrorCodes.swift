import SigndCore

extension CertificateAuthorityError: SigndError {
    public var operatorMessage: String { message }
}

/// CertificateAuthority's documented codes (``CertificateAuthorityError/Code``; docs/ca.md).
public enum CertificateAuthorityErrorCodes {
    typealias C = CertificateAuthorityError.Code
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(C.csrMalformed.rawValue, .certificateAuthority, meaning: "not a DER/PEM PKCS#10 request"),
        ErrorCodeInfo(C.csrBadSignature.rawValue, .certificateAuthority, meaning: "the self-signature does not verify"),
        ErrorCodeInfo(C.csrKeyNotAllowed.rawValue, .certificateAuthority, meaning: "key type/size not allowed by the profile (or not supported)"),
        ErrorCodeInfo(C.csrKeyMismatch.rawValue, .certificateAuthority, meaning: "the CSR's key is not the device's registered key"),
        ErrorCodeInfo(C.csrMissingAttribute.rawValue, .certificateAuthority, meaning: "a required subject attribute is missing"),
        ErrorCodeInfo(C.csrAttributeNotAllowed.rawValue, .certificateAuthority, meaning: "a subject attribute is not allowed (or repeated)"),
        ErrorCodeInfo(C.csrInvalidAttributeValue.rawValue, .certificateAuthority, meaning: "an attribute value is empty, too long or not encodable (C must be two capitals)"),
        ErrorCodeInfo(C.unknownProfile.rawValue, .certificateAuthority, meaning: "no profile with that name"),
        ErrorCodeInfo(C.invalidProfile.rawValue, .certificateAuthority, meaning: "a configured profile is inconsistent"),
        ErrorCodeInfo(C.unknownCertificate.rawValue, .certificateAuthority, meaning: "no certificate with that serial (or not a hex serial)"),
        ErrorCodeInfo(C.alreadyRevoked.rawValue, .certificateAuthority, meaning: "revoked already (only a hold can change)"),
        ErrorCodeInfo(C.invalidRevocation.rawValue, .certificateAuthority, meaning: "removeFromCRL for a certificate not on hold"),
        ErrorCodeInfo(C.identity.rawValue, .certificateAuthority, meaning: "the embedded CA's files are damaged, mismatched or expired"),
        ErrorCodeInfo(C.storage.rawValue, .certificateAuthority, meaning: "the CA registry cannot be read or written"),
        ErrorCodeInfo(C.configuration.rawValue, .certificateAuthority, meaning: "EJBCA settings incomplete, TLS files or password unreadable"),
        ErrorCodeInfo(C.rejected.rawValue, .certificateAuthority, meaning: "EJBCA refused the request (its message included)"),
        ErrorCodeInfo(C.unavailable.rawValue, .certificateAuthority, retryable: true, meaning: "EJBCA unreachable, TLS failure, timeout, HTTP 5xx/429"),
        ErrorCodeInfo(C.badResponse.rawValue, .certificateAuthority, meaning: "EJBCA's success answer cannot be used"),
        ErrorCodeInfo("kek.*", .certificateAuthority, meaning: "the KEK cannot open the CA keys (Secrets above)"),
    ]
}
