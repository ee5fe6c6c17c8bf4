import X509

/// One bit of the key usage extension (RFC 5280 4.2.1.3) that a profile may set in end-entity
/// certificates. `keyCertSign` and `cRLSign` are reserved for CA certificates and cannot be
/// configured.
public enum KeyUsageFlag: String, Codable, Sendable, CaseIterable, Hashable {
    case digitalSignature
    /// Also called contentCommitment in X.509 (2005+); PAdES validators expect it for signing.
    case nonRepudiation
    case keyEncipherment
    case dataEncipherment
    case keyAgreement

    /// The extension value with exactly the given bits.
    static func keyUsage(_ flags: [KeyUsageFlag]) -> KeyUsage {
        let set = Set(flags)
        return KeyUsage(digitalSignature: set.contains(.digitalSignature), nonRepudiation: set.contains(.nonRepudiation),
                        keyEncipherment: set.contains(.keyEncipherment), dataEncipherment: set.contains(.dataEncipherment),
                        keyAgreement: set.contains(.keyAgreement))
    }
}
