import Foundation
import SwiftASN1
import X509

/// What the embedded CA puts into the certificates it issues under one name, and what it accepts
/// from CSRs. Decoded from configuration (JSON object, camelCase keys); every key except `name`
/// may be omitted and then takes the default shown.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `name` | (required) | profile name requested at enrollment (`--profile`) |
/// | `validitySeconds` | 31 536 000 (365 days) | notAfter = notBefore + this, capped at the issuing CA's notAfter (RFC 5280 4.1.2.5) |
/// | `backdateSeconds` | 0 | notBefore = issuance time - this (tolerates relying parties' clock skew) |
/// | `keyUsage` | `["digitalSignature", "nonRepudiation"]` | key usage bits, always critical (RFC 5280 4.2.1.3) |
/// | `extendedKeyUsage` | none | names (`clientAuth`, `emailProtection`, `documentSigning`, `codeSigning`, `timeStamping`, `serverAuth`, `ocspSigning`) or dotted OIDs (RFC 5280 4.2.1.12) |
/// | `extendedKeyUsageCritical` | false | mark the EKU extension critical |
/// | `requiredSubjectAttributes` | `["CN"]` | the CSR subject must carry each of these |
/// | `allowedSubjectAttributes` | `["CN", "serialNumber", "givenName", "surname", "O", "OU", "organizationIdentifier", "C"]` | any other CSR subject attribute is rejected |
/// | `allowedKeyTypes` | `["P-256", "P-384", "RSA-2048", "RSA-3072", "RSA-4096"]` | accepted CSR public keys |
/// | `crlDistributionPointURL` | none | put into the CRL distribution points extension (RFC 5280 4.2.1.13) |
/// | `ocspURL` | none | put into authority information access as id-ad-ocsp (RFC 5280 4.2.2.1) |
/// | `caIssuersURL` | none | put into authority information access as id-ad-caIssuers |
/// | `certificatePolicies` | `[]` | policy OIDs for the certificate policies extension (RFC 5280 4.2.1.4) |
///
/// Every issued end-entity certificate also carries basicConstraints CA:FALSE (critical,
/// RFC 5280 4.2.1.9), subjectKeyIdentifier (4.2.1.2) and authorityKeyIdentifier (4.2.1.1).
/// Extensions requested in the CSR are ignored: the profile alone decides.
public struct CertificateProfile: Codable, Sendable, Hashable {
    public var name: String
    public var validitySeconds: Int
    public var backdateSeconds: Int
    public var keyUsage: [KeyUsageFlag]
    public var extendedKeyUsage: [String]?
    public var extendedKeyUsageCritical: Bool
    public var requiredSubjectAttributes: [String]
    public var allowedSubjectAttributes: [String]
    public var allowedKeyTypes: [KeyType]
    public var crlDistributionPointURL: String?
    public var ocspURL: String?
    public var caIssuersURL: String?
    public var certificatePolicies: [String]

    public static let defaultValiditySeconds = 365 * 86_400
    public static let defaultKeyUsage: [KeyUsageFlag] = [.digitalSignature, .nonRepudiation]
    public static let defaultRequiredSubjectAttributes = ["CN"]
    public static let defaultAllowedSubjectAttributes = ["CN", "serialNumber", "givenName", "surname", "O", "OU", "organizationIdentifier", "C"]
    public static let defaultAllowedKeyTypes: [KeyType] = [.p256, .p384, .rsa2048, .rsa3072, .rsa4096]

    /// The built-in `default` profile: 365 days, digitalSignature + nonRepudiation, CN required.
    public static let `default` = CertificateProfile(name: "default")

    public init(name: String,
                validitySeconds: Int = defaultValiditySeconds,
                backdateSeconds: Int = 0,
                keyUsage: [KeyUsageFlag] = defaultKeyUsage,
                extendedKeyUsage: [String]? = nil,
                extendedKeyUsageCritical: Bool = false,
                requiredSubjectAttributes: [String] = defaultRequiredSubjectAttributes,
                allowedSubjectAttributes: [String] = defaultAllowedSubjectAttributes,
                allowedKeyTypes: [KeyType] = defaultAllowedKeyTypes,
                crlDistributionPointURL: String? = nil,
                ocspURL: String? = nil,
                caIssuersURL: String? = nil,
                certificatePolicies: [String] = []) {
        self.name = name
        self.validitySeconds = validitySeconds
        self.backdateSeconds = backdateSeconds
        self.keyUsage = keyUsage
        self.extendedKeyUsage = extendedKeyUsage
        self.extendedKeyUsageCritical = extendedKeyUsageCritical
        self.requiredSubjectAttributes = requiredSubjectAttributes
        self.allowedSubjectAttributes = allowedSubjectAttributes
        self.allowedKeyTypes = allowedKeyTypes
        self.crlDistributionPointURL = crlDistributionPointURL
        self.ocspURL = ocspURL
        self.caIssuersURL = caIssuersURL
        self.certificatePolicies = certificatePolicies
    }

    enum CodingKeys: String, CodingKey {
        case name, validitySeconds, backdateSeconds, keyUsage, extendedKeyUsage, extendedKeyUsageCritical,
             requiredSubjectAttributes, allowedSubjectAttributes, allowedKeyTypes, crlDistributionPointURL, ocspURL,
             caIssuersURL, certificatePolicies
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name),
            validitySeconds: try c.decodeIfPresent(Int.self, forKey: .validitySeconds) ?? Self.defaultValiditySeconds,
            backdateSeconds: try c.decodeIfPresent(Int.self, forKey: .backdateSeconds) ?? 0,
            keyUsage: try c.decodeIfPresent([KeyUsageFlag].self, forKey: .keyUsage) ?? Self.defaultKeyUsage,
            extendedKeyUsage: try c.decodeIfPresent([String].self, forKey: .extendedKeyUsage),
            extendedKeyUsageCritical: try c.decodeIfPresent(Bool.self, forKey: .extendedKeyUsageCritical) ?? false,
            requiredSubjectAttributes: try c.decodeIfPresent([String].self, forKey: .requiredSubjectAttributes) ?? Self.defaultRequiredSubjectAttributes,
            allowedSubjectAttributes: try c.decodeIfPresent([String].self, forKey: .allowedSubjectAttributes) ?? Self.defaultAllowedSubjectAttributes,
            allowedKeyTypes: try c.decodeIfPresent([KeyType].self, forKey: .allowedKeyTypes) ?? Self.defaultAllowedKeyTypes,
            crlDistributionPointURL: try c.decodeIfPresent(String.self, forKey: .crlDistributionPointURL),
            ocspURL: try c.decodeIfPresent(String.self, forKey: .ocspURL),
            caIssuersURL: try c.decodeIfPresent(String.self, forKey: .caIssuersURL),
            certificatePolicies: try c.decodeIfPresent([String].self, forKey: .certificatePolicies) ?? [])
    }

    // MARK: - Checks and resolved values

    /// Named extended key usages (RFC 5280 4.2.1.12; documentSigning is RFC 9336).
    static let namedExtendedKeyUsages: [String: ASN1ObjectIdentifier] = [
        "serverAuth": [1, 3, 6, 1, 5, 5, 7, 3, 1],
        "clientAuth": [1, 3, 6, 1, 5, 5, 7, 3, 2],
        "codeSigning": [1, 3, 6, 1, 5, 5, 7, 3, 3],
        "emailProtection": [1, 3, 6, 1, 5, 5, 7, 3, 4],
        "timeStamping": [1, 3, 6, 1, 5, 5, 7, 3, 8],
        "ocspSigning": [1, 3, 6, 1, 5, 5, 7, 3, 9],
        "documentSigning": [1, 3, 6, 1, 5, 5, 7, 3, 36],
    ]

    /// Throws `ca.invalidProfile` naming the first inconsistency.
    public func validate() throws {
        func invalid(_ message: String) -> CertificateAuthorityError {
            CertificateAuthorityError(.invalidProfile, "certificate profile '\(name)': \(message)")
        }
        guard !name.isEmpty else { throw CertificateAuthorityError(.invalidProfile, "a certificate profile has an empty name") }
        guard validitySeconds > 0 else { throw invalid("validitySeconds must be positive") }
        guard backdateSeconds >= 0 else { throw invalid("backdateSeconds must not be negative") }
        guard !keyUsage.isEmpty else { throw invalid("keyUsage must name at least one usage") }
        guard !allowedKeyTypes.isEmpty else { throw invalid("allowedKeyTypes must name at least one key type") }
        _ = try allowedAttributeTypes()
        let required = try requiredAttributeTypes()
        let allowed = Set(try allowedAttributeTypes())
        for type in required where !allowed.contains(type) {
            throw invalid("required subject attribute \(type.name) is not among allowedSubjectAttributes")
        }
        _ = try extendedKeyUsageOIDs()
        _ = try policyOIDs()
        for (key, url) in [("crlDistributionPointURL", crlDistributionPointURL), ("ocspURL", ocspURL), ("caIssuersURL", caIssuersURL)] {
            guard let url else { continue }
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https", "ldap"].contains(scheme),
                  parsed.host != nil, url.allSatisfy({ $0.isASCII }) else {
                throw invalid("\(key) '\(url)' is not an absolute http(s) or ldap URL")
            }
        }
    }

    func requiredAttributeTypes() throws -> [SubjectAttributeType] { try resolve(requiredSubjectAttributes, key: "requiredSubjectAttributes") }
    func allowedAttributeTypes() throws -> [SubjectAttributeType] { try resolve(allowedSubjectAttributes, key: "allowedSubjectAttributes") }

    private func resolve(_ names: [String], key: String) throws -> [SubjectAttributeType] {
        try names.map { n in
            guard let type = SubjectAttributeType.named(n) else {
                throw CertificateAuthorityError(.invalidProfile, "certificate profile '\(name)': \(key) names unknown attribute '\(n)'; known: \(SubjectAttributeType.all.map(\.name).joined(separator: ", "))")
            }
            return type
        }
    }

    func extendedKeyUsageOIDs() throws -> [ASN1ObjectIdentifier]? {
        try extendedKeyUsage.map { list in
            try list.map { entry in
                if let oid = Self.namedExtendedKeyUsages[entry] { return oid }
                guard let oid = try? ASN1ObjectIdentifier(dotRepresentation: entry) else {
                    throw CertificateAuthorityError(.invalidProfile, "certificate profile '\(name)': extended key usage '\(entry)' is neither a known name (\(Self.namedExtendedKeyUsages.keys.sorted().joined(separator: ", "))) nor a dotted OID")
                }
                return oid
            }
        }
    }

    func policyOIDs() throws -> [ASN1ObjectIdentifier] {
        try certificatePolicies.map { entry in
            guard let oid = try? ASN1ObjectIdentifier(dotRepresentation: entry) else {
                throw CertificateAuthorityError(.invalidProfile, "certificate profile '\(name)': certificate policy '\(entry)' is not a dotted OID")
            }
            return oid
        }
    }
}
