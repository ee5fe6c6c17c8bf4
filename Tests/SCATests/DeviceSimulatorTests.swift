import Crypto
import DeviceSimulation
import Foundation
import Jobs
import SCA
import StateStore
import SwiftASN1
import TestSupport
import X509
import XCTest

final class DeviceSimulatorTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    func testCreateWritesAPrivateKeyOnlyTheOwnerCanRead() throws {
        let dir = try TemporaryDirectory()
        let sim = try DeviceSimulator.create(directory: dir.path + "/phone")
        let keyPath = dir.path + "/phone/" + DeviceSimulator.privateKeyFileName
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        let publicPEM = try String(contentsOfFile: try XCTUnwrap(sim.publicKeyPath), encoding: .utf8)
        XCTAssertEqual(try P256.Signing.PublicKey(pemRepresentation: publicPEM).rawRepresentation, sim.publicKey.rawRepresentation)
        // Loading gives the same key.
        XCTAssertEqual(try DeviceSimulator(directory: dir.path + "/phone").publicKey.rawRepresentation, sim.publicKey.rawRepresentation)
    }

    func testCreateRefusesToReplaceAnExistingKey() throws {
        let dir = try TemporaryDirectory()
        _ = try DeviceSimulator.create(directory: dir.path)
        XCTAssertThrowsError(try DeviceSimulator.create(directory: dir.path)) {
            XCTAssertEqual(($0 as? SCAError)?.code, "sim.exists")
        }
    }

    func testLoadingWithoutAKeyExplainsWhatToDo() throws {
        let dir = try TemporaryDirectory()
        XCTAssertThrowsError(try DeviceSimulator(directory: dir.path)) {
            XCTAssertEqual(($0 as? SCAError)?.code, "sim.noDevice")
        }
    }

    func testCSRIsSignedByTheDeviceKeyWithTheGivenSubject() throws {
        let sim = DeviceSimulator()
        let csr = try CertificateSigningRequest(derEncoded: try sim.csr(subject: "CN=Jana Novakova,serialNumber=PNOCZ-1234,C=CZ"))
        XCTAssertTrue(csr.publicKey.isValidSignature(csr.signature, for: csr))
        var spki = DER.Serializer()
        try spki.serialize(csr.publicKey)
        XCTAssertEqual(spki.serializedBytes, Array(sim.publicKey.derRepresentation), "the CSR carries the device key")
        let attributes = csr.subject.flatMap { Array($0) }
        XCTAssertEqual(attributes.map(\.type), [[2, 5, 4, 6], [2, 5, 4, 5], [2, 5, 4, 3]], "RFC 4514 lists the last RDN first")
        let serial = try XCTUnwrap(attributes.first { $0.type == [2, 5, 4, 5] })
        XCTAssertEqual(String(serial.value), "PNOCZ-1234")
        let pem = try sim.csrPEM(subject: "CN=x")
        XCTAssertTrue(pem.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----"))
    }

    func testSubjectEscapesAndUTF8() throws {
        let name = try SubjectName.parse("CN=Nov\\C3\\A1k\\, Jan,O=Banka a.s.,C=CZ")
        let cn = try XCTUnwrap(name.flatMap { Array($0) }.first { $0.type == [2, 5, 4, 3] })
        XCTAssertEqual(String(cn.value), "Novák, Jan")
    }

    func testSubjectErrors() {
        for bad in ["", "CN", "XX=1", "C=CZE", "CN=a+O=b", "serialNumber=ä"] {
            XCTAssertThrowsError(try SubjectName.parse(bad), bad) {
                XCTAssertEqual(($0 as? SCAError)?.code, "subject.invalid", bad)
            }
        }
    }

    func testAuthorizationVerifiesOverTheCanonicalBytes() throws {
        let sim = DeviceSimulator()
        let statement = DeviceSimulator.statement(jobId: "job-1", documentSHA256: sha256Hex("pdf"), userId: "u", deviceId: "d",
                                                  level: .bb, now: now)
        XCTAssertEqual(statement.expiresAt - statement.notBefore, 300)
        XCTAssertEqual(statement.nonce.count, 24)
        let auth = try sim.authorize(statement)
        let sig = try P256.Signing.ECDSASignature(derRepresentation: Data(base64Encoded: auth.signature!)!)
        XCTAssertTrue(sim.publicKey.isValidSignature(sig, for: statement.canonicalBytes))
        XCTAssertEqual(String(decoding: statement.canonicalBytes, as: UTF8.self), """
            SIGND-SCA-STATEMENT-V2
            job=job-1
            doc-sha256=\(sha256Hex("pdf"))
            device=d
            user=u
            level=B-B
            mode=cloud
            appearance-sha256=\(ApprovedAppearance.sha256Hex(nil))
            not-before=1750000000
            expires=1750000300
            nonce=\(statement.nonce)

            """)
    }

    func testNoncesAreFresh() {
        let nonces = Set((0..<100).map { _ in DeviceSimulator.makeNonce() })
        XCTAssertEqual(nonces.count, 100)
        XCTAssertTrue(nonces.allSatisfy { $0.count == 24 && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } })
    }

    func testManifestForAPDFIsValidAndAuthorized() async throws {
        let dir = try TemporaryDirectory()
        let pdf = dir.path + "/contract.pdf"
        try Data("%PDF-1.7\n% test\n%%EOF\n".utf8).write(to: URL(fileURLWithPath: pdf))
        let sim = DeviceSimulator()
        let manifest = try sim.manifest(pdfPath: pdf, jobId: "job-42", userId: "user-1", deviceId: "phone-1", now: now)
        let digest = try FileDigest.sha256Hex(path: pdf)
        XCTAssertEqual(manifest.document.file, "contract.pdf")
        XCTAssertEqual(manifest.document.sha256, digest)
        XCTAssertEqual(manifest.level, .bt)
        XCTAssertEqual(manifest.mode, .cloud)
        // Round trip through JSON and the strict validator.
        let parsed = try ManifestValidator.parse(try JSONEncoder().encode(manifest))
        XCTAssertEqual(parsed, manifest)

        let db = try StateDatabase()
        try DeviceRegistry(database: db).register(deviceId: "phone-1", userId: "user-1", publicKey: sim.publicKey, now: now)
        let outcome = await DeviceSignatureAuthorizer(database: db).authorize(manifest: parsed, documentSHA256: digest, now: now, consume: true)
        assertAuthorized(outcome)
    }

    func testExternalModeManifestHasNoAuthorization() throws {
        let dir = try TemporaryDirectory()
        let pdf = dir.path + "/a.pdf"
        try Data("%PDF-1.7\n%%EOF\n".utf8).write(to: URL(fileURLWithPath: pdf))
        let manifest = try DeviceSimulator().manifest(pdfPath: pdf, jobId: "job-1", userId: "u", deviceId: "d", mode: .external, now: now)
        XCTAssertNil(manifest.authorization)
        XCTAssertNoThrow(try ManifestValidator.validate(manifest))
    }

    func testSignDTBSSignsTheSignedAttributesWithSHA256() throws {
        let sim = DeviceSimulator()
        let dtbs: [UInt8] = [0x31, 0x03, 0x02, 0x01, 0x05]
        let pending = try JSONSerialization.data(withJSONObject: ["jobId": "job-7", "dtbs": Data(dtbs).base64EncodedString(), "level": "B-T"])
        let answer = try sim.signPending(pending)
        XCTAssertEqual(answer.jobId, "job-7")
        let sig = try P256.Signing.ECDSASignature(derRepresentation: Data(base64Encoded: answer.signature)!)
        XCTAssertTrue(sim.publicKey.isValidSignature(sig, for: dtbs))
    }

    func testSignDTBSRefusesNonBase64() throws {
        let pending = try JSONSerialization.data(withJSONObject: ["jobId": "job-7", "dtbs": "!!"])
        XCTAssertThrowsError(try DeviceSimulator().signPending(pending)) {
            XCTAssertEqual(($0 as? SCAError)?.code, "sim.badDTBS")
        }
    }
}
