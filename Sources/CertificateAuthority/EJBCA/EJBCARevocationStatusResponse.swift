/// Body of `GET .../revocationstatus` and of `PUT .../revoke` (EJBCA REST,
/// RevokeStatusRestResponse): `{issuer_dn, serial_number, revocation_reason, revocation_date,
/// message, revoked}`.
struct EJBCARevocationStatusResponse: Codable, Sendable {
    var issuerDN: String?
    var serialNumber: String?
    var revocationReason: String?
    var revocationDate: String?
    var message: String?
    var revoked: Bool

    enum CodingKeys: String, CodingKey {
        case issuerDN = "issuer_dn"
        case serialNumber = "serial_number"
        case revocationReason = "revocation_reason"
        case revocationDate = "revocation_date"
        case message, revoked
    }
}
