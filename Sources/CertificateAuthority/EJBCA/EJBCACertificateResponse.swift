/// Body of a successful enrollment (EJBCA REST, CertificateRestResponse):
/// `{certificate, serial_number, response_format, certificate_chain}`.
struct EJBCACertificateResponse: Codable, Sendable {
    var certificate: String
    var serialNumber: String?
    var responseFormat: String?
    var certificateChain: [String]?

    enum CodingKeys: String, CodingKey {
        case certificate
        case serialNumber = "serial_number"
        case responseFormat = "response_format"
        case certificateChain = "certificate_chain"
    }
}
