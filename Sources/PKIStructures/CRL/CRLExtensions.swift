import SwiftASN1
import X509

/// Builders for the CRL and CRL entry extensions the embedded CA writes (RFC 5280 5.2, 5.3).
package enum CRLExtensions {
    /// id-ce-cRLNumber (5.2.3): a monotonically increasing INTEGER, non-critical.
    package static let crlNumberOID: ASN1ObjectIdentifier = [2, 5, 29, 20]
    /// id-ce-cRLReasons (5.3.1): ENUMERATED CRLReason, non-critical.
    package static let reasonCodeOID: ASN1ObjectIdentifier = [2, 5, 29, 21]

    package static func crlNumber(_ number: Int64) throws -> Certificate.Extension {
        var coder = DER.Serializer()
        try coder.serialize(number)
        return Certificate.Extension(oid: crlNumberOID, critical: false, value: coder.serializedBytes[...])
    }

    package static func reasonCode(_ reason: RevocationReason) throws -> Certificate.Extension {
        var coder = DER.Serializer()
        try CADER.serializeEnumerated(reason.code, into: &coder)
        return Certificate.Extension(oid: reasonCodeOID, critical: false, value: coder.serializedBytes[...])
    }

    /// id-ce-authorityKeyIdentifier (5.2.1) with the issuer's key identifier, non-critical.
    package static func authorityKeyIdentifier(_ keyIdentifier: [UInt8]) throws -> Certificate.Extension {
        try Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: keyIdentifier[...]), critical: false)
    }
}
