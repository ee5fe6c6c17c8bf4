import SwiftASN1
import X509

/// Chain-validation policy for TSA certificates: the leaf's critical extendedKeyUsage must be
/// exactly id-kp-timeStamping (RFC 3161 2.3). Declares the EKU extension handled so that RFC 5280
/// path validation accepts it as critical.
struct TimeStampingPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        guard let eku = try? chain.leaf.extensions.extendedKeyUsage, Array(eku) == [.timeStamping] else {
            return .failsToMeetPolicy(reason: "the TSA certificate's extendedKeyUsage is not exactly id-kp-timeStamping")
        }
        return .meetsPolicy
    }
}
