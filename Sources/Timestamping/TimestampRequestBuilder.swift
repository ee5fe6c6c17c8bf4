import CMSStructures
import CMSSigning
import SwiftASN1

/// Builds RFC 3161 requests: imprint over the data, a 64-bit nonce, certReq true.
public enum TimestampRequestBuilder {
    public static func request(for data: [UInt8], digest: DigestAlgorithm, nonce: UInt64, policy: ASN1ObjectIdentifier?) -> TimeStampReq {
        TimeStampReq(
            messageImprint: MessageImprint(hashAlgorithm: digest.identifier, hashedMessage: digest.hash(data)),
            reqPolicy: policy,
            nonce: TimeStampReq.nonce(nonce),
            certReq: true)
    }
}
