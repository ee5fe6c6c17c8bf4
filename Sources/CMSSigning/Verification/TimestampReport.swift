/// What checking a signature timestamp token found (`signd verify`'s `timestamp` field,
/// docs/verify-json.md; fields are only ever added, never renamed).
public struct TimestampReport: Codable, Sendable {
    public var genTime: String
    public var tsa: String?
    public var imprintValid: Bool
    public var signatureValid: Bool
    public var trusted: Bool?
    public var problems: [String]

    public init(genTime: String, tsa: String?, imprintValid: Bool, signatureValid: Bool, trusted: Bool?, problems: [String]) {
        self.genTime = genTime
        self.tsa = tsa
        self.imprintValid = imprintValid
        self.signatureValid = signatureValid
        self.trusted = trusted
        self.problems = problems
    }
}
