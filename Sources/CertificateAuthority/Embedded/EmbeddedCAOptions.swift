import Foundation

/// Settings of the embedded CA beyond its profiles; every key optional (JSON, camelCase).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `organization` | `signd` | O of both CA certificates |
/// | `country` | none | C of both CA certificates (two capital letters) |
/// | `rootCommonName` | `signd embedded root CA` | CN of the root |
/// | `issuingCommonName` | `signd embedded issuing CA` | CN of the issuing CA |
/// | `rootValiditySeconds` | 20 years | root certificate lifetime (from creation) |
/// | `issuingValiditySeconds` | 10 years | issuing CA certificate lifetime; leaf notAfter never exceeds it |
/// | `crlValiditySeconds` | 7 days | nextUpdate - thisUpdate of CRLs; a new CRL is made after half of it, or at once after any revocation change |
/// | `ocspValiditySeconds` | 1 hour | nextUpdate - thisUpdate of OCSP single responses |
///
/// Names and lifetimes apply when the CA is created; an existing CA keeps its certificates.
public struct EmbeddedCAOptions: Codable, Sendable, Hashable {
    public var organization: String
    public var country: String?
    public var rootCommonName: String
    public var issuingCommonName: String
    public var rootValiditySeconds: Int
    public var issuingValiditySeconds: Int
    public var crlValiditySeconds: Int
    public var ocspValiditySeconds: Int

    public init(organization: String = "signd", country: String? = nil,
                rootCommonName: String = "signd embedded root CA", issuingCommonName: String = "signd embedded issuing CA",
                rootValiditySeconds: Int = 20 * 365 * 86_400, issuingValiditySeconds: Int = 10 * 365 * 86_400,
                crlValiditySeconds: Int = 7 * 86_400, ocspValiditySeconds: Int = 3600) {
        self.organization = organization
        self.country = country
        self.rootCommonName = rootCommonName
        self.issuingCommonName = issuingCommonName
        self.rootValiditySeconds = rootValiditySeconds
        self.issuingValiditySeconds = issuingValiditySeconds
        self.crlValiditySeconds = crlValiditySeconds
        self.ocspValiditySeconds = ocspValiditySeconds
    }

    public init(from decoder: any Decoder) throws {
        let d = EmbeddedCAOptions()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            organization: try c.decodeIfPresent(String.self, forKey: .organization) ?? d.organization,
            country: try c.decodeIfPresent(String.self, forKey: .country),
            rootCommonName: try c.decodeIfPresent(String.self, forKey: .rootCommonName) ?? d.rootCommonName,
            issuingCommonName: try c.decodeIfPresent(String.self, forKey: .issuingCommonName) ?? d.issuingCommonName,
            rootValiditySeconds: try c.decodeIfPresent(Int.self, forKey: .rootValiditySeconds) ?? d.rootValiditySeconds,
            issuingValiditySeconds: try c.decodeIfPresent(Int.self, forKey: .issuingValiditySeconds) ?? d.issuingValiditySeconds,
            crlValiditySeconds: try c.decodeIfPresent(Int.self, forKey: .crlValiditySeconds) ?? d.crlValiditySeconds,
            ocspValiditySeconds: try c.decodeIfPresent(Int.self, forKey: .ocspValiditySeconds) ?? d.ocspValiditySeconds)
    }

    enum CodingKeys: String, CodingKey {
        case organization, country, rootCommonName, issuingCommonName, rootValiditySeconds, issuingValiditySeconds,
             crlValiditySeconds, ocspValiditySeconds
    }
}
