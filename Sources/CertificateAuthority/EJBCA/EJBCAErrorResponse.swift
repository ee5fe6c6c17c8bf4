/// EJBCA's error body (ExceptionErrorRestResponse): `{"error_code": 400, "error_message": "..."}`.
struct EJBCAErrorResponse: Codable, Sendable {
    var errorCode: Int?
    var errorMessage: String?

    enum CodingKeys: String, CodingKey {
        case errorCode = "error_code"
        case errorMessage = "error_message"
    }
}
