import CertificateAuthority
import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import PKIStructures
import ServiceLifecycle
import SwiftASN1
import TestSupport
import X509
import XCTest

#if canImport(Glibc)
import Glibc
#endif

// A loopback HTTPS server (Hummingbird + NIOSSL, mutual TLS) that follows EJBCA's documented
// REST JSON for pkcs10enroll, revoke, revocationstatus and the CA certificate download, and
// issues with an EmbeddedCA. EJBCA itself cannot run here.

/// TLS material for the loopback server and the client: a test root, a server certificate for
/// 127.0.0.1/localhost and a client certificate, as PEM files.
struct TLSTestPKI {
    let rootPath: String
    let serverCertificatePath: String
    let serverKeyPath: String
    let clientCertificatePath: String
    let clientKeyPath: String
    let root: Certificate

    init(directory: String) throws {
        let now = Date()
        let rootKey = P256.Signing.PrivateKey()
        let rootName = try DistinguishedName { CommonName("fake EJBCA TLS root") }
        root = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(rootKey))
        func leaf(_ cn: String, eku: ExtendedKeyUsage.Usage, san: Bool) throws -> (Certificate, P256.Signing.PrivateKey) {
            let key = P256.Signing.PrivateKey()
            let cert = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
                issuer: rootName, subject: try DistinguishedName { CommonName(cn) }, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([eku])
                    if san {
                        SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                    }
                },
                issuerPrivateKey: .init(rootKey))
            return (cert, key)
        }
        let (server, serverKey) = try leaf("127.0.0.1", eku: .serverAuth, san: true)
        let (client, clientKey) = try leaf("signd RA admin", eku: .clientAuth, san: false)
        func write(_ name: String, _ text: String) throws -> String {
            let path = directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        rootPath = try write("tls-root.pem", try pem(root))
        serverCertificatePath = try write("server.pem", try pem(server))
        serverKeyPath = try write("server.key.pem", serverKey.pemRepresentation)
        clientCertificatePath = try write("client.pem", try pem(client))
        clientKeyPath = try write("client.key.pem", clientKey.pemRepresentation)
    }

    /// Server side: presents the server certificate and requires a client certificate from the root.
    func serverTLS() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(serverCertificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: serverKeyPath, format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootPath))
        return tls
    }
}

/// Wraps a Hummingbird child channel with a NIOSSL server handler (what HummingbirdTLS does;
/// that product is not a dependency of the test target).
struct TLSChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let context: NIOSSLContext

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// An in-process server on 127.0.0.1 and a free port.
final class LoopbackServer: Sendable {
    let port: Int
    private let task: Task<Void, Never>

    private init(port: Int, task: Task<Void, Never>) {
        self.port = port
        self.task = task
    }

    static func start(tls: TLSConfiguration?, configure: (Router<BasicRequestContext>) -> Void) async throws -> LoopbackServer {
        let router = Router()
        configure(router)
        var logger = Logger(label: "fake-ejbca")
        logger.logLevel = .critical
        let server: HTTPServerBuilder
        if let tls {
            let context = try NIOSSLContext(configuration: tls)
            server = HTTPServerBuilder { responder in TLSChildChannel(base: HTTP1Channel(responder: responder), context: context) }
        } else {
            server = .http1()
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try? await app.runService(gracefulShutdownSignals: [])
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw CATestError("the loopback server did not start")
        }
        return LoopbackServer(port: port, task: task)
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}


/// The fake EJBCA's behaviour and what it saw.
final class FakeEJBCA: @unchecked Sendable {
    enum Failure {
        /// EJBCA's error JSON with this HTTP status.
        case ejbcaError(status: Int, message: String)
        /// A bare status with a non-JSON body.
        case status(Int)
        /// 201 with a body that is not the documented JSON.
        case garbage
    }

    static let apiPrefix = "/ejbca/ejbca-rest-api"
    let ca: EmbeddedCA
    let issuerDN: String
    let password: String
    private let lock = NSLock()
    private var _failure: Failure?
    private var _enrollments: [[String: Any]] = []
    private var _revocations: [(serial: String, reason: String?, date: String?)] = []

    init(ca: EmbeddedCA, password: String) {
        self.ca = ca
        self.password = password
        // EJBCA's DN spelling: most specific first.
        self.issuerDN = "CN=\(Self.value(ca.issuingCertificate.subject, .RDNAttributeType.commonName)),O=\(Self.value(ca.issuingCertificate.subject, .RDNAttributeType.organizationName))"
    }

    static func value(_ name: DistinguishedName, _ type: ASN1ObjectIdentifier) -> String {
        name.flatMap { $0 }.first { $0.type == type }.flatMap { String($0.value) } ?? ""
    }

    var failure: Failure? {
        get { lock.lock(); defer { lock.unlock() }; return _failure }
        set { lock.lock(); _failure = newValue; lock.unlock() }
    }

    var enrollments: [[String: Any]] { lock.lock(); defer { lock.unlock() }; return _enrollments }
    var revocations: [(serial: String, reason: String?, date: String?)] { lock.lock(); defer { lock.unlock() }; return _revocations }

    private func record(enrollment: [String: Any]) { lock.lock(); _enrollments.append(enrollment); lock.unlock() }
    private func record(revocation: (String, String?, String?)) { lock.lock(); _revocations.append(revocation); lock.unlock() }

    static func json(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    static func error(_ status: Int, _ message: String) -> Response {
        json(HTTPResponse.Status(code: status), ["error_code": status, "error_message": message])
    }

    /// The canned failure, if one is set.
    private func failureResponse() -> Response? {
        switch failure {
        case .ejbcaError(let status, let message)?: return Self.error(status, message)
        case .status(let status)?:
            return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "text/html"],
                            body: .init(byteBuffer: ByteBuffer(string: "<html>Service Unavailable</html>")))
        case .garbage?:
            return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"certificate\": 42")))
        case nil: return nil
        }
    }

    func routes(_ router: Router<BasicRequestContext>) {
        let p = Self.apiPrefix
        router.post("\(p)/v1/certificate/pkcs10enroll") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                return Self.error(400, "Invalid JSON")
            }
            self.record(enrollment: json)
            if let failure = self.failureResponse() { return failure }
            for field in ["certificate_request", "certificate_profile_name", "end_entity_profile_name", "certificate_authority_name", "username", "password"] {
                guard json[field] is String else { return Self.error(400, "Missing \(field)") }
            }
            guard json["password"] as? String == self.password else { return Self.error(400, "Wrong username or password") }
            let csrPEM = json["certificate_request"] as! String
            let issued: IssuedCertificate
            do {
                let csr = try PEMDocument(pemString: csrPEM).derBytes
                issued = try self.ca.issue(EnrollmentRequest(csrDER: csr, profile: "default", userId: "ejbca", deviceId: json["username"] as! String))
            } catch let e as CertificateAuthorityError {
                return Self.error(400, "Error parsing certificate request: \(e.message)")
            }
            let format = (json["response_format"] as? String) ?? "DER"
            func encode(_ c: Certificate) throws -> String {
                format == "PEM" ? try pem(c) : Data(try der(c)).base64EncodedString()
            }
            let includeChain = json["include_chain"] as? Bool ?? false
            return Self.json(.created, [
                "certificate": try encode(issued.certificate),
                "serial_number": issued.certificate.serialNumber.bytes.map { String(format: "%02X", $0) }.joined(),
                "response_format": format,
                // EJBCA lists the chain root first is not guaranteed; send it reversed to exercise ordering.
                "certificate_chain": includeChain ? try issued.chain.reversed().map(encode) : [],
            ])
        }
        router.put("\(p)/v1/certificate/:issuer/:serial/revoke") { request, context -> Response in
            if let failure = self.failureResponse() { return failure }
            let issuer = context.parameters.get("issuer").map { $0.removingPercentEncoding ?? $0 }
            guard issuer == self.issuerDN else { return Self.error(404, "CA with DN: \(issuer ?? "") does not exist.") }
            let serial = context.parameters.get("serial") ?? ""
            let reasonName = request.uri.queryParameters["reason"].map { String($0).removingPercentEncoding ?? String($0) }
            let dateText = request.uri.queryParameters["date"].map { String($0).removingPercentEncoding ?? String($0) }
            self.record(revocation: (serial, reasonName, dateText))
            guard let reason = RevocationReason.allCases.first(where: { $0.ejbcaName == reasonName }) else {
                return Self.error(400, "Invalid revocation reason.")
            }
            let date = dateText.flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date()
            do {
                try self.ca.revoke(serialHex: serial, reason: reason, at: date)
            } catch let e as CertificateAuthorityError where e.code == .unknownCertificate {
                return Self.error(404, "Could not find certificate with serial number \(serial).")
            } catch let e as CertificateAuthorityError where e.code == .alreadyRevoked {
                return Self.error(409, "Certificate is already revoked.")
            }
            return Self.json(.ok, ["issuer_dn": self.issuerDN, "serial_number": serial, "revocation_reason": reason.ejbcaName,
                                   "revocation_date": ISO8601DateFormatter().string(from: date), "message": "Successfully revoked", "revoked": true])
        }
        router.get("\(p)/v1/certificate/:issuer/:serial/revocationstatus") { _, context -> Response in
            if let failure = self.failureResponse() { return failure }
            let serial = context.parameters.get("serial") ?? ""
            switch try self.ca.revocationStatus(serialHex: serial) {
            case .unknown:
                return Self.error(404, "Could not find certificate with serial number \(serial).")
            case .good:
                return Self.json(.ok, ["issuer_dn": self.issuerDN, "serial_number": serial, "revocation_reason": "NOT_REVOKED",
                                       "message": "Certificate is not revoked", "revoked": false])
            case .revoked(let at, let reason):
                return Self.json(.ok, ["issuer_dn": self.issuerDN, "serial_number": serial, "revocation_reason": reason.ejbcaName,
                                       "revocation_date": ISO8601DateFormatter().string(from: at), "message": "Certificate is revoked", "revoked": true])
            }
        }
        router.get("\(p)/v1/ca/:dn/certificate/download") { _, _ -> Response in
            if let failure = self.failureResponse() { return failure }
            let text = try pem(self.ca.rootCertificate) + pem(self.ca.issuingCertificate)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
