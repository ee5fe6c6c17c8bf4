/// Body of `POST /v1/certificate/pkcs10enroll` (EJBCA REST, EnrollCertificateRestRequest).
struct EJBCAEnrollRequest: Codable, Sendable {
    /// PEM PKCS#10 request.
    var certificateRequest: String
    var certificateProfileName: String
    var endEntityProfileName: String
    var certificateAuthorityName: String
    var username: String
    var password: String
    var includeChain: Bool
    var email: String?
    /// `DER` (certificate as base64 DER) or `PEM`.
    var responseFormat: String

    enum CodingKeys: String, CodingKey {
        case certificateRequest = "certificate_request"
        case certificateProfileName = "certificate_profile_name"
        case endEntityProfileName = "end_entity_profile_name"
        case certificateAuthorityName = "certificate_authority_name"
        case username, password
        case includeChain = "include_chain"
        case email
        case responseFormat = "response_format"
    }
}
