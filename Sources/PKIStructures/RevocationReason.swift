/// RFC 5280 5.3.1 revocation reasons (`CRLReason`), by name; `code` is the ENUMERATED value
/// (7 is not used). The EJBCA names are in CertificateAuthority (`ejbcaName`).
public enum RevocationReason: String, Sendable, CaseIterable, Codable {
    case unspecified, keyCompromise, caCompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, aaCompromise

    public var code: Int {
        switch self {
        case .unspecified: return 0
        case .keyCompromise: return 1
        case .caCompromise: return 2
        case .affiliationChanged: return 3
        case .superseded: return 4
        case .cessationOfOperation: return 5
        case .certificateHold: return 6
        case .removeFromCRL: return 8
        case .privilegeWithdrawn: return 9
        case .aaCompromise: return 10
        }
    }
}
