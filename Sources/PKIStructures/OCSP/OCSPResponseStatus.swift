/// The outcome of processing an OCSP request (RFC 6960 4.2.1):
///
/// ```
/// OCSPResponseStatus ::= ENUMERATED {
///     successful (0), malformedRequest (1), internalError (2), tryLater (3),
///     -- (4) is not used
///     sigRequired (5), unauthorized (6) }
/// ```
public enum OCSPResponseStatus: Int, Sendable, Hashable {
    case successful = 0
    case malformedRequest = 1
    case internalError = 2
    case tryLater = 3
    case sigRequired = 5
    case unauthorized = 6
}
