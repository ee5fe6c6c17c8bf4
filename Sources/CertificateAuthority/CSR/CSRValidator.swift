import Foundation
import SwiftASN1
import X509

/// Checks a PKCS#10 certificate request (RFC 2986) against a ``CertificateProfile`` before
/// anything is issued. In order:
///
/// 1. it parses (PEM or DER), else `csr.malformed`; a key type swift-certificates cannot even
///    load (RSA under 2048 bits, other curves, Ed25519) is `csr.keyNotAllowed`;
/// 2. the self-signature verifies with the CSR's own key (RFC 2986 3, proof of possession),
///    else `csr.badSignature`;
/// 3. the key type is among the profile's `allowedKeyTypes`, else `csr.keyNotAllowed`;
/// 4. when an expected key is given (the device's registered key), the CSR's key is that key,
///    else `csr.keyMismatch`;
/// 5. every subject attribute is known and allowed (`csr.attributeNotAllowed`; a repeated
///    attribute other than OU/DC too), its value is valid for its type
///    (`csr.invalidAttributeValue`), and every required attribute is present
///    (`csr.missingAttribute`).
///
/// Requested extensions (PKCS#9 extensionRequest) are ignored: the profile decides extensions.
public struct CSRValidator: Sendable {
    public let profile: CertificateProfile

    public init(profile: CertificateProfile) {
        self.profile = profile
    }

    /// The DER of a request given as DER or as PEM (`CERTIFICATE REQUEST`, or the legacy
    /// `NEW CERTIFICATE REQUEST`).
    public static func der(from bytes: [UInt8]) throws -> [UInt8] {
        guard bytes.first != 0x30 else { return bytes }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("-----BEGIN") else {
            throw CertificateAuthorityError(.csrMalformed, "the certificate request is neither DER nor PEM")
        }
        do {
            let documents = try PEMDocument.parseMultiple(pemString: text)
            guard let doc = documents.first(where: { $0.discriminator == "CERTIFICATE REQUEST" || $0.discriminator == "NEW CERTIFICATE REQUEST" }) else {
                throw CertificateAuthorityError(.csrMalformed, "the PEM text holds no CERTIFICATE REQUEST block")
            }
            return doc.derBytes
        } catch let e as CertificateAuthorityError {
            throw e
        } catch {
            throw CertificateAuthorityError(.csrMalformed, "the PEM certificate request cannot be decoded: \(error)")
        }
    }

    /// Runs every check; see the type documentation for the order and codes.
    public func validate(_ bytes: [UInt8], expectedPublicKey: Certificate.PublicKey? = nil) throws -> ValidatedCSR {
        let der = try Self.der(from: bytes)
        let csr = try parse(der)
        try Self.checkSignature(csr)
        guard let keyType = KeyType(publicKey: csr.publicKey), profile.allowedKeyTypes.contains(keyType) else {
            throw keyNotAllowed(KeyType.describe(csr.publicKey))
        }
        try Self.checkKey(csr, expected: expectedPublicKey)
        let (subject, attributes) = try buildSubject(csr.subject)
        return ValidatedCSR(request: csr, der: der, keyType: keyType, subject: subject, subjectAttributes: attributes)
    }

    /// Only the checks that do not depend on a profile (steps 1, 2 and 4): the request parses,
    /// its self-signature verifies, and its key is `expectedPublicKey` when given. Used before
    /// handing a CSR to an external CA, which applies its own profiles.
    public static func verifyProofOfPossession(_ bytes: [UInt8], expectedPublicKey: Certificate.PublicKey? = nil) throws -> (der: [UInt8], request: CertificateSigningRequest) {
        let der = try der(from: bytes)
        let csr = try CSRValidator(profile: CertificateProfile(name: "external CA", allowedKeyTypes: KeyType.allCases)).parse(der)
        try checkSignature(csr)
        try checkKey(csr, expected: expectedPublicKey)
        return (der, csr)
    }

    private static func checkSignature(_ csr: CertificateSigningRequest) throws {
        guard csr.version == .v1 else {
            throw CertificateAuthorityError(.csrMalformed, "the certificate request has version \(csr.version); only v1 (RFC 2986) exists")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw CertificateAuthorityError(.csrBadSignature, "the certificate request's self-signature does not verify with its own public key; the request was altered or signed with another key")
        }
    }

    private static func checkKey(_ csr: CertificateSigningRequest, expected: Certificate.PublicKey?) throws {
        if let expected, expected != csr.publicKey {
            throw CertificateAuthorityError(.csrKeyMismatch, "the certificate request's public key (\(KeyType.describe(csr.publicKey))) is not the key registered for the device; the CSR must be signed with the device's own key")
        }
    }

    private func parse(_ der: [UInt8]) throws -> CertificateSigningRequest {
        do {
            return try CertificateSigningRequest(derEncoded: der)
        } catch {
            guard let inspection = try? CSRInspection(der: der) else {
                throw CertificateAuthorityError(.csrMalformed, "the certificate request is not a DER PKCS#10 CertificationRequest (RFC 2986): \(error)")
            }
            if !inspection.keyIsKnownType { throw keyNotAllowed(inspection.keyDescription) }
            if inspection.signatureIsMalformed {
                throw CertificateAuthorityError(.csrBadSignature, "the certificate request's signature value is not a valid ECDSA signature encoding")
            }
            throw CertificateAuthorityError(.csrMalformed, "the certificate request cannot be parsed: \(error)")
        }
    }

    private func keyNotAllowed(_ description: String) -> CertificateAuthorityError {
        CertificateAuthorityError(.csrKeyNotAllowed, "a \(description) key is not allowed by certificate profile '\(profile.name)'; allowed: \(profile.allowedKeyTypes.map(\.rawValue).joined(separator: ", "))")
    }

    private func buildSubject(_ dn: DistinguishedName) throws -> (DistinguishedName, [(name: String, value: String)]) {
        let allowed = Set(try profile.allowedAttributeTypes())
        let allowedNames = profile.allowedSubjectAttributes.joined(separator: ", ")
        var seen = Set<SubjectAttributeType>()
        var rdns: [RelativeDistinguishedName] = []
        var pairs: [(name: String, value: String)] = []
        for rdn in dn {
            for attribute in rdn {
                guard let type = SubjectAttributeType.forOID(attribute.type) else {
                    throw CertificateAuthorityError(.csrAttributeNotAllowed, "the subject attribute \(attribute.type) is not allowed by certificate profile '\(profile.name)' (allowed: \(allowedNames))")
                }
                guard allowed.contains(type) else {
                    throw CertificateAuthorityError(.csrAttributeNotAllowed, "the subject attribute \(type.name) is not allowed by certificate profile '\(profile.name)' (allowed: \(allowedNames))")
                }
                guard let value = String(attribute.value) else {
                    throw CertificateAuthorityError(.csrInvalidAttributeValue, "the subject attribute \(type.name) does not hold a string")
                }
                if let problem = type.problem(with: value) {
                    throw CertificateAuthorityError(.csrInvalidAttributeValue, "the subject attribute \(type.name) \(problem)")
                }
                if !seen.insert(type).inserted, type != .organizationalUnit, type != .domainComponent {
                    throw CertificateAuthorityError(.csrAttributeNotAllowed, "the subject attribute \(type.name) appears more than once")
                }
                rdns.append(RelativeDistinguishedName(try type.attribute(value)))
                pairs.append((type.name, value))
            }
        }
        for type in try profile.requiredAttributeTypes() where !seen.contains(type) {
            throw CertificateAuthorityError(.csrMissingAttribute, "the certificate request's subject lacks \(type.name), which certificate profile '\(profile.name)' requires")
        }
        return (DistinguishedName(rdns), pairs)
    }
}
