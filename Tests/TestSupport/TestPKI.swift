import CMSSigning
import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// An in-memory PKI for unit tests: a P-256 root and signer certificates issued by it.
public struct TestPKI: @unchecked Sendable {
    public let rootKey: P256.Signing.PrivateKey
    public let root: Certificate

    public init(now: Date = Date()) throws {
        rootKey = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("signd unit-test root"); OrganizationName("signd tests") }
        root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(rootKey.publicKey),
            notValidBefore: now.addingTimeInterval(-86_400), notValidAfter: now.addingTimeInterval(86_400 * 365),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(rootKey))
    }

    /// Issues a certificate for `publicKey` with the given key usage and extra extensions.
    public func issue(publicKey: Certificate.PublicKey, commonName: String, now: Date = Date(),
                      keyUsage: KeyUsage = KeyUsage(digitalSignature: true, nonRepudiation: true),
                      extendedKeyUsage: ExtendedKeyUsage? = nil, criticalEKU: Bool = true,
                      validity: TimeInterval = 86_400 * 30) throws -> Certificate {
        try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(validity),
            issuer: root.subject,
            subject: try DistinguishedName { CommonName(commonName); OrganizationName("signd tests"); CountryName("CZ") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(keyUsage)
                if let eku = extendedKeyUsage {
                    if criticalEKU { Critical(eku) } else { eku }
                }
            },
            issuerPrivateKey: .init(rootKey))
    }

    /// A P-256 signer with a certificate from this PKI.
    public func p256Signer(commonName: String = "Unit Signer P256") throws -> PrivateKeySigner {
        let key = P256.Signing.PrivateKey()
        let cert = try issue(publicKey: .init(key.publicKey), commonName: commonName)
        return try PrivateKeySigner(key: .p256(key), certificate: cert)
    }

    /// An RSA-2048 signer (PKCS#1 v1.5 is deterministic: useful for golden outputs).
    public func rsaSigner(padding: RSAPadding = .pkcs1v15) throws -> PrivateKeySigner {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let cert = try issue(publicKey: .init(key.publicKey), commonName: "Unit Signer RSA")
        return try PrivateKeySigner(key: .rsa(key), certificate: cert, rsaPadding: padding)
    }
}

/// Small, valid PDFs written for unit tests (classic xref table).
public enum MinimalPDF {
    /// A one-page document; `extraObjects` are added as `n 0 obj` bodies after the page objects,
    /// `catalogExtra` is appended inside the catalog dictionary.
    public static func make(catalogExtra: String = "", pageExtra: String = "", extraObjects: [(Int, String)] = []) -> [UInt8] {
        var objects: [(Int, String)] = [
            (1, "<< /Type /Catalog /Pages 2 0 R\(catalogExtra) >>"),
            (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R\(pageExtra) >>"),
            (4, "<< /Length 8 >>\nstream\nBT ET q\nendstream"),
        ]
        objects += extraObjects
        var out = Array("%PDF-1.7\n%\u{00E2}\u{00E3}\n".utf8)
        var offsets: [Int: Int] = [:]
        for (n, body) in objects {
            offsets[n] = out.count
            out += Array("\(n) 0 obj\n\(body)\nendobj\n".utf8)
        }
        let xref = out.count
        let size = (objects.map { $0.0 }.max() ?? 0) + 1
        out += Array("xref\n0 \(size)\n0000000000 65535 f \n".utf8)
        for n in 1..<size {
            let s = String(offsets[n] ?? 0)
            let kind = offsets[n] == nil ? "f" : "n"
            out += Array((String(repeating: "0", count: 10 - s.count) + s + " 00000 \(kind) \n").utf8)
        }
        out += Array("trailer\n<< /Size \(size) /Root 1 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>] >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return out
    }
}
