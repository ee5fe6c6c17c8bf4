import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PKIStructures
import SigndCore
import SwiftASN1
import X509

/// The production CA: EJBCA's REST API (`/ejbca/ejbca-rest-api`), over mutual TLS.
///
/// - `enroll`: `POST /v1/certificate/pkcs10enroll` (201) with the PEM CSR, the configured
///   certificate / end entity profiles and CA name, a stable username per device and the
///   enrollment password; the certificate comes back as base64 DER or PEM (`response_format`),
///   with the CA chain when `include_chain` is set. Before sending, the CSR's self-signature
///   and (when given) its key are checked locally; the returned certificate must carry the
///   CSR's key and the announced serial.
/// - `revoke`: `PUT /v1/certificate/{issuer_dn}/{serial_hex}/revoke?reason=...&date=...`.
/// - `revocationStatus`: `GET /v1/certificate/{issuer_dn}/{serial_hex}/revocationstatus`.
/// - `caChain`: the PEM file `caChainPath`, else `GET /v1/ca/{issuer_dn}/certificate/download`.
///
/// Errors: EJBCA's error JSON (`{"error_code", "error_message"}`) on 4xx becomes
/// `ca.rejected` carrying EJBCA's message (404 on revoke: `ca.unknownCertificate`; 409:
/// `ca.alreadyRevoked`); 5xx, 429, refused connections, TLS failures and timeouts are
/// `ca.unavailable` and retryable; an unparsable success body is `ca.badResponse`.
/// Connection failures are reported at once (no retrying until the deadline); retrying is
/// the caller's business (the renewal scheduler backs off on `retryable`).
public final class EJBCAClient: CertificateAuthorityService, Sendable {
    public let configuration: EJBCAConfiguration
    private let client: HTTPClient
    private let password: String
    private let baseURL: String
    private let state = ShutdownState()

    /// Loads TLS material and the enrollment password (`ca.configuration` when something is
    /// missing or unreadable). Call ``shutdown()`` when done.
    public init(configuration: EJBCAConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let url = URL(string: configuration.baseURL), let scheme = url.scheme?.lowercased(), ["https", "http"].contains(scheme), url.host != nil else {
            throw CertificateAuthorityError(.configuration, "the EJBCA baseURL '\(configuration.baseURL)' is not an https URL such as https://HOST/ejbca/ejbca-rest-api")
        }
        guard let password = try EJBCAConfiguration.secret(configuration.passwordEnvironmentVariable, environment: environment) else {
            throw CertificateAuthorityError(.configuration, "no EJBCA enrollment password: set \(configuration.passwordEnvironmentVariable) or \(configuration.passwordEnvironmentVariable)_FILE")
        }
        var httpConfig = HTTPClient.Configuration()
        httpConfig.tlsConfiguration = try EJBCATLS.configuration(configuration, environment: environment)
        httpConfig.connectionPool.retryConnectionEstablishment = false
        httpConfig.timeout.connect = .milliseconds(clampedTimeoutMilliseconds(min(configuration.timeoutSeconds, 10)))
        self.configuration = configuration
        self.password = password
        self.baseURL = configuration.baseURL.hasSuffix("/") ? String(configuration.baseURL.dropLast()) : configuration.baseURL
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfig)
    }

    /// Checks the TLS settings of a configuration (files readable, PEM/PKCS#12 valid) without
    /// connecting.
    public static func checkTLSConfiguration(_ configuration: EJBCAConfiguration,
                                             environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        _ = try EJBCATLS.configuration(configuration, environment: environment)
    }

    deinit {
        if state.markShutdown() { try? client.syncShutdown() }
    }

    public func shutdown() async throws {
        if state.markShutdown() { try await client.shutdown() }
    }

    /// The EJBCA end entity username of a device: `prefix + deviceId` when the id is made of
    /// letters, digits and `._@-` (at most 64 characters), else `prefix + "sha256-" +` the first
    /// 16 bytes of SHA-256 of the id in hex. Stable, so re-enrollment and renewal reuse the
    /// same end entity (EJBCA's "enforce unique DN" rejects a second username with the same DN).
    public static func username(deviceId: String, prefix: String = "signd-") -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")
        if !deviceId.isEmpty, deviceId.count <= 64, deviceId.allSatisfy(allowed.contains) {
            return prefix + deviceId
        }
        return prefix + "sha256-" + Hex.encode(Array(SHA256.hash(data: Array(deviceId.utf8))).prefix(16))
    }

    // MARK: - CertificateAuthorityService

    public func enroll(_ request: EnrollmentRequest) async throws -> IssuedCertificate {
        var expected: Certificate.PublicKey?
        if let spki = request.expectedPublicKeyDER {
            expected = try? Certificate.PublicKey(derEncoded: spki)
            if expected == nil {
                throw CertificateAuthorityError(.csrKeyMismatch, "the device's registered public key cannot be parsed, so the CSR's key cannot be matched to it")
            }
        }
        let (der, csr) = try CSRValidator.verifyProofOfPossession(request.csrDER, expectedPublicKey: expected)
        let body = EJBCAEnrollRequest(
            certificateRequest: PEMDocument(type: "CERTIFICATE REQUEST", derBytes: der).pemString,
            certificateProfileName: configuration.certificateProfile(for: request.profile),
            endEntityProfileName: configuration.endEntityProfileName,
            certificateAuthorityName: configuration.certificateAuthorityName,
            username: Self.username(deviceId: request.deviceId, prefix: configuration.usernamePrefix),
            password: password, includeChain: configuration.includeChain, email: configuration.email,
            responseFormat: configuration.responseFormat.rawValue)
        let response = try await send(.POST, "/v1/certificate/pkcs10enroll", json: try JSONEncoder().encode(body), operation: "enrollment")
        let decoded: EJBCACertificateResponse
        do {
            decoded = try JSONDecoder().decode(EJBCACertificateResponse.self, from: Data(response))
        } catch {
            throw CertificateAuthorityError(.badResponse, "EJBCA's enrollment answer is not the documented JSON ({certificate, serial_number, response_format, certificate_chain}): \(error)")
        }
        let certificate: Certificate
        do {
            guard let first = try EJBCACertificateText.decode(decoded.certificate).first else { throw ASN1Error.invalidPEMDocument(reason: "empty") }
            certificate = first
        } catch {
            throw CertificateAuthorityError(.badResponse, "EJBCA's enrollment answer holds no readable certificate (response_format \(decoded.responseFormat ?? "absent")): \(error)")
        }
        guard certificate.publicKey == csr.publicKey else {
            throw CertificateAuthorityError(.badResponse, "EJBCA returned a certificate for another public key than the CSR's (subject \(certificate.subject))")
        }
        if let announced = decoded.serialNumber, let normalized = try? SerialNumberText.normalize(announced),
           normalized != SerialNumberText.of(certificate.serialNumber) {
            throw CertificateAuthorityError(.badResponse, "EJBCA announced serial \(announced) but the certificate has \(SerialNumberText.of(certificate.serialNumber))")
        }
        var chain: [Certificate] = []
        do {
            chain = try (decoded.certificateChain ?? []).flatMap { try EJBCACertificateText.decode($0) }
        } catch {
            throw CertificateAuthorityError(.badResponse, "EJBCA's certificate_chain holds an unreadable certificate: \(error)")
        }
        chain = ChainOrder.order(chain, leaf: certificate)
        if chain.isEmpty {
            // The certificate is issued already: a missing chain must not lose it.
            chain = (try? await caChain()) ?? []
        }
        return IssuedCertificate(certificate: certificate, chain: chain)
    }

    public func revoke(serialHex: String, reason: RevocationReason, at date: Date) async throws {
        let serial = try SerialNumberText.normalize(serialHex)
        var query = "reason=\(reason.ejbcaName)"
        if configuration.sendRevocationDate {
            query += "&date=" + Self.percentEncoded(Self.iso8601(date))
        }
        _ = try await send(.PUT, "/v1/certificate/\(try issuerPathComponent())/\(serial)/revoke?\(query)", json: nil, operation: "revocation",
                           notFound: .unknownCertificate, conflict: .alreadyRevoked)
    }

    public func revocationStatus(serialHex: String) async throws -> RevocationStatus {
        let serial = try SerialNumberText.normalize(serialHex)
        let body: [UInt8]
        do {
            body = try await send(.GET, "/v1/certificate/\(try issuerPathComponent())/\(serial)/revocationstatus", json: nil,
                                  operation: "revocation status query", notFound: .unknownCertificate)
        } catch let e as CertificateAuthorityError where e.code == .unknownCertificate {
            return .unknown
        }
        let status: EJBCARevocationStatusResponse
        do {
            status = try JSONDecoder().decode(EJBCARevocationStatusResponse.self, from: Data(body))
        } catch {
            throw CertificateAuthorityError(.badResponse, "EJBCA's revocation status is not the documented JSON: \(error)")
        }
        guard status.revoked else { return .good }
        guard let text = status.revocationDate, let date = Self.parseISO8601(text) else {
            throw CertificateAuthorityError(.badResponse, "EJBCA reports serial \(serial) revoked without a readable revocation_date")
        }
        let reason = RevocationReason.allCases.first { $0.ejbcaName == status.revocationReason?.uppercased() } ?? .unspecified
        return .revoked(at: date, reason: reason)
    }

    public func caChain() async throws -> [Certificate] {
        if let path = configuration.caChainPath {
            do {
                return ChainOrder.order(try KeyFiles.certificates(path: path), leaf: nil)
            } catch {
                throw CertificateAuthorityError(.configuration, "caChainPath \(path) cannot be read as PEM certificates: \(error)")
            }
        }
        let body = try await send(.GET, "/v1/ca/\(try issuerPathComponent())/certificate/download", json: nil, operation: "CA certificate download")
        do {
            return ChainOrder.order(try EJBCACertificateText.decode(String(decoding: body, as: UTF8.self)), leaf: nil)
        } catch {
            throw CertificateAuthorityError(.badResponse, "EJBCA's CA certificate download is not PEM: \(error)")
        }
    }

    // MARK: - HTTP

    private func issuerPathComponent() throws -> String {
        guard let dn = configuration.certificateAuthorityDN, !dn.isEmpty else {
            throw CertificateAuthorityError(.configuration, "certificateAuthorityDN is not configured; EJBCA addresses certificates by issuer DN and serial")
        }
        return Self.percentEncoded(dn)
    }

    /// Sends a request and returns the body of a 2xx answer; maps everything else (see the type
    /// documentation).
    private func send(_ method: HTTPMethod, _ path: String, json: Data?, operation: String,
                      notFound: CertificateAuthorityError.Code = .rejected,
                      conflict: CertificateAuthorityError.Code = .rejected) async throws -> [UInt8] {
        let url = baseURL + path
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Array(json)))
        }
        let status: Int
        let body: [UInt8]
        do {
            let response = try await client.execute(request, timeout: .milliseconds(clampedTimeoutMilliseconds(configuration.timeoutSeconds)))
            status = Int(response.status.code)
            body = Array(try await response.body.collect(upTo: 4 << 20).readableBytesView)
        } catch {
            throw CertificateAuthorityError(.unavailable, "EJBCA \(operation) failed: cannot reach \(baseURL) (\(Self.describe(error)))", retryable: true)
        }
        if (200..<300).contains(status) { return body }
        let ejbca = try? JSONDecoder().decode(EJBCAErrorResponse.self, from: Data(body))
        let detail = ejbca?.errorMessage.map { "EJBCA says: \($0)" }
            ?? "body: \(String(decoding: body.prefix(200), as: UTF8.self))"
        if status >= 500 || status == 429 {
            throw CertificateAuthorityError(.unavailable, "EJBCA \(operation) failed with HTTP \(status); try again later (\(detail))", retryable: true)
        }
        if (400..<500).contains(status) {
            let code: CertificateAuthorityError.Code = status == 404 ? notFound : status == 409 ? conflict : .rejected
            if let message = ejbca?.errorMessage {
                throw CertificateAuthorityError(code, "EJBCA rejected the \(operation) (HTTP \(status)): \(message)")
            }
            throw CertificateAuthorityError(code, "EJBCA rejected the \(operation) with HTTP \(status) (\(detail))")
        }
        throw CertificateAuthorityError(.badResponse, "EJBCA answered the \(operation) with HTTP \(status)")
    }

    private static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return "\(e)" }
        if let e = error as? NIOSSLError { return "TLS: \(e)" }
        if let e = error as? BoringSSLError { return "TLS: \(e)" }
        return "\(error)"
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    static func parseISO8601(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
}

/// Whether the HTTP client was shut down (so it is shut down exactly once).
private final class ShutdownState: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    /// True the first time only.
    func markShutdown() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}
