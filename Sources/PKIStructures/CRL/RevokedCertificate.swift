import Foundation
import SwiftASN1
import X509

/// One entry of a CRL's revokedCertificates list (RFC 5280 5.1.2.6, entry extensions 5.3):
///
/// ```
/// SEQUENCE {
///     userCertificate    CertificateSerialNumber,
///     revocationDate     Time,
///     crlEntryExtensions Extensions OPTIONAL }
/// ```
///
/// The reason is carried as the reasonCode entry extension (5.3.1), omitted for `unspecified`
/// as RFC 5280 recommends.
public struct RevokedCertificate: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    /// Big-endian magnitude of the serial number (no leading zero octets).
    public var serialNumber: ArraySlice<UInt8>
    public var revocationDate: Date
    public var extensions: [Certificate.Extension]

    public init(serialNumber: ArraySlice<UInt8>, revocationDate: Date, reason: RevocationReason?) throws {
        self.serialNumber = serialNumber
        self.revocationDate = revocationDate
        if let reason, reason != .unspecified {
            extensions = [try CRLExtensions.reasonCode(reason)]
        } else {
            extensions = []
        }
    }

    /// The reasonCode entry extension's value, if present and known.
    public var reason: RevocationReason? {
        guard let ext = extensions.first(where: { $0.oid == CRLExtensions.reasonCodeOID }),
              let code = try? CADER.enumerated(try DER.parse(ext.value)) else { return nil }
        return RevocationReason.allCases.first { $0.code == code }
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            guard let timeNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "revokedCertificate without revocationDate") }
            let date = try X509Time(derEncoded: timeNode).date
            var extensions: [Certificate.Extension] = []
            if nodes.peekIsPresent() {
                extensions = try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, nodes: &nodes)
            }
            var entry = try RevokedCertificate(serialNumber: serial, revocationDate: date, reason: nil)
            entry.extensions = extensions
            return entry
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(serialNumber)
            try coder.serialize(try X509Time(revocationDate))
            if !extensions.isEmpty {
                try coder.serializeSequenceOf(extensions)
            }
        }
    }
}

extension ASN1NodeCollection.Iterator {
    /// Whether another node follows (without consuming it).
    package func peekIsPresent() -> Bool {
        var copy = self
        return copy.next() != nil
    }

    /// The identifier of the next node, if any (without consuming it).
    package func peekIdentifier() -> ASN1Identifier? {
        var copy = self
        return copy.next()?.identifier
    }
}
