import CertificateAuthority
import Crypto
import Foundation
import PKIStructures
import SwiftASN1
import TestSupport
import X509
import XCTest

/// The EJBCA client against a loopback HTTPS server with mutual TLS that follows EJBCA's
/// documented REST JSON (see FakeEJBCA.swift); EJBCA itself cannot run in the test suite.
final class EJBCAClientTests: XCTestCase {
    static let password = "enrolment-secret"

    struct Harness {
        let f: CAFixture
        let tls: TLSTestPKI
        let fake: FakeEJBCA
        let server: LoopbackServer
        var baseURL: String { "https://127.0.0.1:\(server.port)/ejbca/ejbca-rest-api" }

        func configuration(format: EJBCAConfiguration.ResponseFormat = .der, includeChain: Bool = true,
                           clientCertificate: Bool = true) -> EJBCAConfiguration {
            EJBCAConfiguration(
                baseURL: baseURL, certificateProfileName: "SIGND_DEVICE", endEntityProfileName: "SIGND_EE",
                certificateAuthorityName: "SigndIssuingCA", certificateAuthorityDN: fake.issuerDN,
                clientCertificatePath: clientCertificate ? tls.clientCertificatePath : nil,
                clientKeyPath: clientCertificate ? tls.clientKeyPath : nil,
                trustRootsPath: tls.rootPath, certificateProfileNames: ["qualified": "SIGND_QUALIFIED"],
                includeChain: includeChain, responseFormat: format, timeoutSeconds: 5)
        }

        func client(_ configuration: EJBCAConfiguration? = nil) throws -> EJBCAClient {
            try EJBCAClient(configuration: configuration ?? self.configuration(), environment: ["SIGND_EJBCA_ENROLLMENT_PASSWORD": EJBCAClientTests.password])
        }
    }

    func harness() async throws -> Harness {
        let f = try CAFixture()
        let tls = try TLSTestPKI(directory: f.directory.path)
        let fake = FakeEJBCA(ca: f.ca, password: Self.password)
        let server = try await LoopbackServer.start(tls: try tls.serverTLS(), configure: fake.routes)
        return Harness(f: f, tls: tls, fake: fake, server: server)
    }

    func request(profile: String = "default", device: String = "device-42") throws -> (EnrollmentRequest, P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let csr = try SwiftCSR.make(key: .init(key), subject: DistinguishedName { CountryName("CZ"); CommonName("Eva Dvořáková") })
        return (EnrollmentRequest(csrDER: csr, profile: profile, userId: "user-7", deviceId: device), key)
    }

    func testEnrollWithDERAndPEMResponseFormats() async throws {
        let h = try await harness()
        for format in [EJBCAConfiguration.ResponseFormat.der, .pem] {
            let client = try h.client(h.configuration(format: format))
            let (req, key) = try request()
            let issued = try await client.enroll(req)
            try await client.shutdown()
            XCTAssertEqual(issued.certificate.publicKey, Certificate.PublicKey(key.publicKey), "\(format)")
            XCTAssertEqual(issued.chain, [h.f.ca.issuingCertificate, h.f.ca.rootCertificate], "chain ordered issuing first (\(format))")
            let sent = try XCTUnwrap(h.fake.enrollments.last)
            XCTAssertEqual(sent["response_format"] as? String, format.rawValue)
            XCTAssertEqual(sent["certificate_profile_name"] as? String, "SIGND_DEVICE")
            XCTAssertEqual(sent["end_entity_profile_name"] as? String, "SIGND_EE")
            XCTAssertEqual(sent["certificate_authority_name"] as? String, "SigndIssuingCA")
            XCTAssertEqual(sent["username"] as? String, "signd-device-42")
            XCTAssertEqual(sent["password"] as? String, Self.password)
            XCTAssertEqual(sent["include_chain"] as? Bool, true)
            XCTAssertTrue((sent["certificate_request"] as? String)?.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----") ?? false)
        }
        await h.server.stop()
    }

    func testProfileMappingAndChainDownloadWhenNotIncluded() async throws {
        let h = try await harness()
        let client = try h.client(h.configuration(includeChain: false))
        let issued = try await client.enroll(try request(profile: "qualified").0)
        XCTAssertEqual(h.fake.enrollments.last?["certificate_profile_name"] as? String, "SIGND_QUALIFIED")
        XCTAssertEqual(h.fake.enrollments.last?["include_chain"] as? Bool, false)
        XCTAssertEqual(issued.chain, [h.f.ca.issuingCertificate, h.f.ca.rootCertificate], "fetched from /v1/ca/{dn}/certificate/download")
        let chain = try await client.caChain()
        XCTAssertEqual(chain, [h.f.ca.issuingCertificate, h.f.ca.rootCertificate])
        try await client.shutdown()
        await h.server.stop()
    }

    func testEJBCAErrorJSONIsRejectedWithItsMessage() async throws {
        let h = try await harness()
        h.fake.failure = .ejbcaError(status: 400, message: "Subject DN field 'SERIALNUMBER' must exist.")
        let client = try h.client()
        let e = await assertCAErrorAsync(.rejected) { try await client.enroll(try self.request().0) }
        XCTAssertTrue(e?.message.contains("Subject DN field 'SERIALNUMBER' must exist.") ?? false, e?.message ?? "")
        XCTAssertEqual(e?.retryable, false)
        try await client.shutdown()
        await h.server.stop()
    }

    func testServiceUnavailableIsRetryable() async throws {
        let h = try await harness()
        h.fake.failure = .status(503)
        let client = try h.client()
        let e = await assertCAErrorAsync(.unavailable) { try await client.enroll(try self.request().0) }
        XCTAssertEqual(e?.retryable, true)
        h.fake.failure = .ejbcaError(status: 500, message: "Internal error: database down")
        let e2 = await assertCAErrorAsync(.unavailable) { try await client.enroll(try self.request().0) }
        XCTAssertEqual(e2?.retryable, true)
        XCTAssertTrue(e2?.message.contains("database down") ?? false)
        // And after EJBCA recovers, the same client enrolls.
        h.fake.failure = nil
        _ = try await client.enroll(try request().0)
        try await client.shutdown()
        await h.server.stop()
    }

    func testUnparsableSuccessIsBadResponse() async throws {
        let h = try await harness()
        h.fake.failure = .garbage
        let client = try h.client()
        await assertCAErrorAsync(.badResponse) { try await client.enroll(try self.request().0) }
        try await client.shutdown()
        await h.server.stop()
    }

    func testConnectionRefusedIsUnavailableAndFast() async throws {
        let f = try CAFixture()
        let tls = try TLSTestPKI(directory: f.directory.path)
        let config = EJBCAConfiguration(
            baseURL: "https://127.0.0.1:\(try closedLoopbackPort())/ejbca/ejbca-rest-api", certificateProfileName: "P",
            endEntityProfileName: "E", certificateAuthorityName: "C", clientCertificatePath: tls.clientCertificatePath,
            clientKeyPath: tls.clientKeyPath, trustRootsPath: tls.rootPath, timeoutSeconds: 5)
        let client = try EJBCAClient(configuration: config, environment: ["SIGND_EJBCA_ENROLLMENT_PASSWORD": "x"])
        let started = Date()
        let e = await assertCAErrorAsync(.unavailable) { try await client.enroll(try self.request().0) }
        XCTAssertEqual(e?.retryable, true)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5, "a refused connection is reported at once, not at the 5 s deadline")
        try await client.shutdown()
    }

    func testClientWithoutCertificateIsRefusedByMutualTLS() async throws {
        let h = try await harness()
        let client = try h.client(h.configuration(clientCertificate: false))
        await assertCAErrorAsync(.unavailable) { try await client.enroll(try self.request().0) }
        XCTAssertTrue(h.fake.enrollments.isEmpty, "the request never reached the application")
        try await client.shutdown()
        await h.server.stop()
    }

    func testRevokeAndRevocationStatus() async throws {
        let h = try await harness()
        let client = try h.client()
        let issued = try await client.enroll(try request().0)
        let serial = issued.certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
        let status = try await client.revocationStatus(serialHex: serial)
        XCTAssertEqual(status, .good)
        let when = Date(timeIntervalSince1970: 1_767_225_000)
        try await client.revoke(serialHex: serial, reason: .keyCompromise, at: when)
        let revocation = try XCTUnwrap(h.fake.revocations.last)
        XCTAssertEqual(revocation.reason, "KEY_COMPROMISE")
        XCTAssertEqual(revocation.date, "2025-12-31T23:50:00Z")
        let revokedStatus = try await client.revocationStatus(serialHex: serial)
        XCTAssertEqual(revokedStatus, .revoked(at: when, reason: .keyCompromise))
        await assertCAErrorAsync(.alreadyRevoked) { try await client.revoke(serialHex: serial, reason: .superseded, at: when) }
        await assertCAErrorAsync(.unknownCertificate) { try await client.revoke(serialHex: "0abc", reason: .superseded, at: when) }
        let unknown = try await client.revocationStatus(serialHex: "0abc")
        XCTAssertEqual(unknown, .unknown)
        try await client.shutdown()
        await h.server.stop()
    }

    func testLocalChecksBeforeSending() async throws {
        let h = try await harness()
        let client = try h.client()
        var (req, _) = try request()
        req.csrDER[req.csrDER.count - 1] ^= 1
        await assertCAErrorAsync(.csrBadSignature) { try await client.enroll(req) }
        var (req2, _) = try request()
        var other = DER.Serializer()
        try other.serialize(Certificate.PublicKey(P256.Signing.PrivateKey().publicKey))
        req2.expectedPublicKeyDER = other.serializedBytes
        await assertCAErrorAsync(.csrKeyMismatch) { try await client.enroll(req2) }
        XCTAssertTrue(h.fake.enrollments.isEmpty, "nothing was sent")
        try await client.shutdown()
        await h.server.stop()
    }

    func testConfigurationLoading() throws {
        let dir = try TemporaryDirectory(prefix: "signd-ejbca-config")
        let tls = try TLSTestPKI(directory: dir.path)
        var config = EJBCAConfiguration(baseURL: "https://ejbca.example/ejbca/ejbca-rest-api", certificateProfileName: "P",
                                        endEntityProfileName: "E", certificateAuthorityName: "C",
                                        clientCertificatePath: tls.clientCertificatePath, clientKeyPath: tls.clientKeyPath, trustRootsPath: tls.rootPath)
        XCTAssertNoThrow(try EJBCAClient.checkTLSConfiguration(config))

        var missing = config
        missing.clientKeyPath = dir.file("nope.pem")
        assertCAError(.configuration) { try EJBCAClient.checkTLSConfiguration(missing) }
        var onlyCert = config
        onlyCert.clientKeyPath = nil
        assertCAError(.configuration) { try EJBCAClient.checkTLSConfiguration(onlyCert) }
        var badRoots = config
        badRoots.trustRootsPath = tls.clientKeyPath
        assertCAError(.configuration) { try EJBCAClient.checkTLSConfiguration(badRoots) }

        // PKCS#12 with its password from a *_FILE variable.
        let p12 = dir.file("client.p12")
        try OpenSSL.run(["pkcs12", "-export", "-in", tls.clientCertificatePath, "-inkey", tls.clientKeyPath, "-out", p12,
                         "-passout", "pass:p12-secret"], cwd: dir.path)
        let passwordFile = dir.file("p12.pass")
        try "p12-secret\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        config.clientCertificatePath = nil
        config.clientKeyPath = nil
        config.clientPKCS12Path = p12
        XCTAssertNoThrow(try EJBCAClient.checkTLSConfiguration(config, environment: ["SIGND_EJBCA_PKCS12_PASSWORD_FILE": passwordFile]))
        assertCAError(.configuration) { try EJBCAClient.checkTLSConfiguration(config, environment: ["SIGND_EJBCA_PKCS12_PASSWORD": "wrong"]) }

        // The enrollment password is required, from the variable or its _FILE.
        assertCAError(.configuration) { try EJBCAClient(configuration: config, environment: ["SIGND_EJBCA_PKCS12_PASSWORD": "p12-secret"]) }
        let enrolFile = dir.file("enrol.pass")
        try "s3cret".write(toFile: enrolFile, atomically: true, encoding: .utf8)
        let client = try EJBCAClient(configuration: config, environment: ["SIGND_EJBCA_PKCS12_PASSWORD": "p12-secret",
                                                                          "SIGND_EJBCA_ENROLLMENT_PASSWORD_FILE": enrolFile])
        XCTAssertEqual(client.configuration.baseURL, config.baseURL)
        var badURL = config
        badURL.baseURL = "ejbca.example"
        assertCAError(.configuration) { try EJBCAClient(configuration: badURL, environment: ["SIGND_EJBCA_PKCS12_PASSWORD": "p12-secret", "SIGND_EJBCA_ENROLLMENT_PASSWORD": "x"]) }

        // JSON with defaults.
        let json = #"{"baseURL": "https://h/ejbca/ejbca-rest-api", "certificateProfileName": "P", "endEntityProfileName": "E", "certificateAuthorityName": "C"}"#
        let decoded = try JSONDecoder().decode(EJBCAConfiguration.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.includeChain, true)
        XCTAssertEqual(decoded.responseFormat, .der)
        XCTAssertEqual(decoded.usernamePrefix, "signd-")
        XCTAssertEqual(decoded.passwordEnvironmentVariable, "SIGND_EJBCA_ENROLLMENT_PASSWORD")
    }

    func testUsernameIsStablePerDevice() {
        XCTAssertEqual(EJBCAClient.username(deviceId: "device-42"), "signd-device-42")
        XCTAssertEqual(EJBCAClient.username(deviceId: "device-42", prefix: "bank-"), "bank-device-42")
        let odd = EJBCAClient.username(deviceId: "Jana's phone / 2")
        XCTAssertTrue(odd.hasPrefix("signd-sha256-"), odd)
        XCTAssertEqual(odd.count, "signd-sha256-".count + 32)
        XCTAssertEqual(odd, EJBCAClient.username(deviceId: "Jana's phone / 2"), "stable")
        XCTAssertNotEqual(odd, EJBCAClient.username(deviceId: "Jana's phone / 3"))
    }
}
