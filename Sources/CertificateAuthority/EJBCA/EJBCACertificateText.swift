import Foundation
import SwiftASN1
import X509

/// Certificates as EJBCA writes them in JSON: base64 of DER (`response_format` DER), PEM text,
/// or (seen in the wild) base64 of PEM text or base64 of base64 of DER. All are accepted.
enum EJBCACertificateText {
    static func decode(_ text: String) throws -> [Certificate] {
        try decode(Array(text.utf8), depth: 0)
    }

    private static func decode(_ bytes: [UInt8], depth: Int) throws -> [Certificate] {
        if bytes.first == 0x30 { return [try Certificate(derEncoded: bytes)] }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.contains("-----BEGIN") {
            let certificates = try PEMDocument.parseMultiple(pemString: text)
                .filter { $0.discriminator == "CERTIFICATE" }
                .map { try Certificate(derEncoded: $0.derBytes) }
            guard !certificates.isEmpty else { throw ASN1Error.invalidPEMDocument(reason: "no CERTIFICATE block") }
            return certificates
        }
        guard depth < 2, let decoded = Data(base64Encoded: text.filter { !$0.isWhitespace }) else {
            throw ASN1Error.invalidPEMDocument(reason: "neither PEM nor base64")
        }
        return try decode(Array(decoded), depth: depth + 1)
    }
}
