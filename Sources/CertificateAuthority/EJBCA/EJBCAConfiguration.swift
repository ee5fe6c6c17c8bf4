import Foundation

/// How signd reaches an EJBCA CA over its REST API (`ca.kind = "ejbca"`). JSON object with
/// camelCase keys; the EJBCA request field each setting feeds is named in parentheses.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `baseURL` | (required) | e.g. `https://ejbca.bank.example/ejbca/ejbca-rest-api` |
/// | `clientCertificatePath` | none | PEM client certificate (chain) for mutual TLS; EJBCA maps it to an admin role |
/// | `clientKeyPath` | none | PEM private key of that certificate (unencrypted; file mode 0600) |
/// | `clientPKCS12Path` | none | instead of the two above: a PKCS#12 file; its password from `pkcs12PasswordEnvironmentVariable` |
/// | `trustRootsPath` | system trust store | PEM roots that must sign EJBCA's TLS server certificate |
/// | `certificateProfileName` | (required) | EJBCA certificate profile (`certificate_profile_name`) |
/// | `certificateProfileNames` | `{}` | per signd profile name, another EJBCA certificate profile |
/// | `endEntityProfileName` | (required) | EJBCA end entity profile (`end_entity_profile_name`) |
/// | `certificateAuthorityName` | (required) | EJBCA CA name (`certificate_authority_name`) |
/// | `certificateAuthorityDN` | none | the CA's subject DN as EJBCA spells it; needed for revoke, revocation status and the CA chain download |
/// | `includeChain` | true | ask for the CA chain with each certificate (`include_chain`) |
/// | `responseFormat` | `DER` | `DER` (base64) or `PEM` (`response_format`) |
/// | `usernamePrefix` | `signd-` | end entity username = prefix + device id (stable per device; see ``EJBCAClient/username(deviceId:prefix:)``) |
/// | `passwordEnvironmentVariable` | `SIGND_EJBCA_ENROLLMENT_PASSWORD` | where the end entity enrollment password (`password`) comes from; `<NAME>_FILE` names a file holding it |
/// | `pkcs12PasswordEnvironmentVariable` | `SIGND_EJBCA_PKCS12_PASSWORD` | same, for the PKCS#12 password |
/// | `email` | none | end entity e-mail (`email`) |
/// | `caChainPath` | none | PEM CA chain used by `caChain()` instead of downloading it |
/// | `sendRevocationDate` | true | pass the revocation time as `date=`; EJBCA needs "allow backdated revocation" in the certificate profile for past times |
/// | `timeoutSeconds` | 30 | per HTTP request |
public struct EJBCAConfiguration: Codable, Sendable, Hashable {
    public enum ResponseFormat: String, Codable, Sendable, Hashable {
        case der = "DER"
        case pem = "PEM"
    }

    public var baseURL: String
    public var clientCertificatePath: String?
    public var clientKeyPath: String?
    public var clientPKCS12Path: String?
    public var trustRootsPath: String?
    public var certificateProfileName: String
    public var certificateProfileNames: [String: String]
    public var endEntityProfileName: String
    public var certificateAuthorityName: String
    public var certificateAuthorityDN: String?
    public var includeChain: Bool
    public var responseFormat: ResponseFormat
    public var usernamePrefix: String
    public var passwordEnvironmentVariable: String
    public var pkcs12PasswordEnvironmentVariable: String
    public var email: String?
    public var caChainPath: String?
    public var sendRevocationDate: Bool
    public var timeoutSeconds: Double

    public init(baseURL: String, certificateProfileName: String, endEntityProfileName: String, certificateAuthorityName: String,
                certificateAuthorityDN: String? = nil, clientCertificatePath: String? = nil, clientKeyPath: String? = nil,
                clientPKCS12Path: String? = nil, trustRootsPath: String? = nil, certificateProfileNames: [String: String] = [:],
                includeChain: Bool = true, responseFormat: ResponseFormat = .der, usernamePrefix: String = "signd-",
                passwordEnvironmentVariable: String = "SIGND_EJBCA_ENROLLMENT_PASSWORD",
                pkcs12PasswordEnvironmentVariable: String = "SIGND_EJBCA_PKCS12_PASSWORD", email: String? = nil,
                caChainPath: String? = nil, sendRevocationDate: Bool = true, timeoutSeconds: Double = 30) {
        self.baseURL = baseURL
        self.clientCertificatePath = clientCertificatePath
        self.clientKeyPath = clientKeyPath
        self.clientPKCS12Path = clientPKCS12Path
        self.trustRootsPath = trustRootsPath
        self.certificateProfileName = certificateProfileName
        self.certificateProfileNames = certificateProfileNames
        self.endEntityProfileName = endEntityProfileName
        self.certificateAuthorityName = certificateAuthorityName
        self.certificateAuthorityDN = certificateAuthorityDN
        self.includeChain = includeChain
        self.responseFormat = responseFormat
        self.usernamePrefix = usernamePrefix
        self.passwordEnvironmentVariable = passwordEnvironmentVariable
        self.pkcs12PasswordEnvironmentVariable = pkcs12PasswordEnvironmentVariable
        self.email = email
        self.caChainPath = caChainPath
        self.sendRevocationDate = sendRevocationDate
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case baseURL, clientCertificatePath, clientKeyPath, clientPKCS12Path, trustRootsPath, certificateProfileName,
             certificateProfileNames, endEntityProfileName, certificateAuthorityName, certificateAuthorityDN, includeChain,
             responseFormat, usernamePrefix, passwordEnvironmentVariable, pkcs12PasswordEnvironmentVariable, email, caChainPath,
             sendRevocationDate, timeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            baseURL: try c.decode(String.self, forKey: .baseURL),
            certificateProfileName: try c.decode(String.self, forKey: .certificateProfileName),
            endEntityProfileName: try c.decode(String.self, forKey: .endEntityProfileName),
            certificateAuthorityName: try c.decode(String.self, forKey: .certificateAuthorityName),
            certificateAuthorityDN: try c.decodeIfPresent(String.self, forKey: .certificateAuthorityDN),
            clientCertificatePath: try c.decodeIfPresent(String.self, forKey: .clientCertificatePath),
            clientKeyPath: try c.decodeIfPresent(String.self, forKey: .clientKeyPath),
            clientPKCS12Path: try c.decodeIfPresent(String.self, forKey: .clientPKCS12Path),
            trustRootsPath: try c.decodeIfPresent(String.self, forKey: .trustRootsPath),
            certificateProfileNames: try c.decodeIfPresent([String: String].self, forKey: .certificateProfileNames) ?? [:],
            includeChain: try c.decodeIfPresent(Bool.self, forKey: .includeChain) ?? true,
            responseFormat: try c.decodeIfPresent(ResponseFormat.self, forKey: .responseFormat) ?? .der,
            usernamePrefix: try c.decodeIfPresent(String.self, forKey: .usernamePrefix) ?? "signd-",
            passwordEnvironmentVariable: try c.decodeIfPresent(String.self, forKey: .passwordEnvironmentVariable) ?? "SIGND_EJBCA_ENROLLMENT_PASSWORD",
            pkcs12PasswordEnvironmentVariable: try c.decodeIfPresent(String.self, forKey: .pkcs12PasswordEnvironmentVariable) ?? "SIGND_EJBCA_PKCS12_PASSWORD",
            email: try c.decodeIfPresent(String.self, forKey: .email),
            caChainPath: try c.decodeIfPresent(String.self, forKey: .caChainPath),
            sendRevocationDate: try c.decodeIfPresent(Bool.self, forKey: .sendRevocationDate) ?? true,
            timeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 30)
    }

    /// A secret from the environment variable `name`, or from the file named by `<name>_FILE`
    /// (trailing newline removed). Nil when neither is set.
    static func secret(_ name: String, environment: [String: String]) throws -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        guard let path = environment[name + "_FILE"], !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CertificateAuthorityError(.configuration, "cannot read \(name)_FILE (\(path)); check the path and that signd may read it")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// The EJBCA certificate profile for a signd profile name.
    func certificateProfile(for profile: String) -> String {
        certificateProfileNames[profile] ?? certificateProfileName
    }
}
