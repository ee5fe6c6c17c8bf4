import SigndCore

extension TimestampError: SigndError {
    /// With the TSA URL.
    public var operatorMessage: String { description }
}

/// Timestamping's documented codes (``TimestampError/Code``).
public enum TimestampErrorCodes {
    typealias C = TimestampError.Code
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(C.unreachable.rawValue, .timestamps, retryable: true, meaning: "connection failed"),
        ErrorCodeInfo(C.timeout.rawValue, .timestamps, retryable: true, meaning: "no answer within the timeout"),
        ErrorCodeInfo(C.httpStatus.rawValue, .timestamps, retryable: true, retryNote: "5xx yes, else no", meaning: "HTTP status other than 200"),
        ErrorCodeInfo(C.contentType.rawValue, .timestamps, meaning: "reply is not `application/timestamp-reply` (or `-response`)"),
        ErrorCodeInfo(C.malformedResponse.rawValue, .timestamps, meaning: "reply is not a DER TimeStampResp / token"),
        ErrorCodeInfo(C.rejected.rawValue, .timestamps, meaning: "PKIStatus rejection (status text and failInfo in the message)"),
        ErrorCodeInfo(C.noToken.rawValue, .timestamps, meaning: "granted without a token"),
        ErrorCodeInfo(C.wrongContentType.rawValue, .timestamps, meaning: "token eContentType is not id-ct-TSTInfo"),
        ErrorCodeInfo(C.signerInfoCount.rawValue, .timestamps, meaning: "token has not exactly one SignerInfo"),
        ErrorCodeInfo(C.signatureInvalid.rawValue, .timestamps, meaning: "the TSA's signature (or message digest) does not verify"),
        ErrorCodeInfo(C.imprintMismatch.rawValue, .timestamps, meaning: "imprint differs from the request"),
        ErrorCodeInfo(C.nonceMismatch.rawValue, .timestamps, meaning: "nonce differs (replay or foreign response)"),
        ErrorCodeInfo(C.policyMismatch.rawValue, .timestamps, meaning: "policy differs from the requested / accepted ones"),
        ErrorCodeInfo(C.certificateMissing.rawValue, .timestamps, meaning: "TSA certificate not in the token"),
        ErrorCodeInfo(C.extendedKeyUsage.rawValue, .timestamps, meaning: "TSA certificate lacks exactly one critical EKU id-kp-timeStamping"),
        ErrorCodeInfo(C.essMismatch.rawValue, .timestamps, meaning: "ESS signing-certificate(-v2) does not bind the TSA certificate"),
        ErrorCodeInfo(C.genTimeOutsideValidity.rawValue, .timestamps, meaning: "genTime outside the TSA certificate validity"),
        ErrorCodeInfo(C.clockSkew.rawValue, .timestamps, meaning: "genTime too far from local time"),
        ErrorCodeInfo(C.untrusted.rawValue, .timestamps, meaning: "TSA certificate does not chain to a configured anchor"),
        ErrorCodeInfo(C.noTSAConfigured.rawValue, .timestamps, meaning: "no TSA URL"),
        ErrorCodeInfo(C.identity.rawValue, .timestamps, meaning: "the embedded TSA's key/certificate cannot be loaded"),
    ]
}
