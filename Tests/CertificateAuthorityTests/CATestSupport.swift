import CertificateAuthority
import Crypto
import Foundation
import SigndCore
import SwiftASN1
import TestSupport
import X509
import XCTest

// Plumbing of the CA tests: KEKs, a settable clock, fresh CAs in temporary directories, CSRs
// made by `openssl req` or by swift-certificates, openssl invocations, and error assertions
// keyed on CertificateAuthorityError codes.

struct CATestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    /// Starts at the current time in whole seconds (openssl checks validity against the real clock).
    init(_ start: Date = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970))) { current = start }

    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(_ seconds: TimeInterval) {
        lock.lock()
        current += seconds
        lock.unlock()
    }

    var closure: @Sendable () -> Date { { self.now } }
}

func makeKEK() throws -> KeyEncryptionKey {
    try KeyEncryptionKey(rawKey: (0..<32).map { _ in UInt8.random(in: 0...255) }, origin: "test")
}

/// A CA in a fresh temporary directory (kept alive with the CA by the returned directory).
struct CAFixture {
    let directory: TemporaryDirectory
    let kek: KeyEncryptionKey
    let clock: TestClock
    let ca: EmbeddedCA

    init(profiles: [CertificateProfile] = [], keyAlgorithm: KeyType = .p256, options: EmbeddedCAOptions = EmbeddedCAOptions()) throws {
        directory = try TemporaryDirectory(prefix: "signd-ca-test")
        kek = try makeKEK()
        clock = TestClock()
        ca = try EmbeddedCA.loadOrCreate(dataDirectory: directory.path, kek: kek, profiles: try CertificateProfiles(profiles),
                                         keyAlgorithm: keyAlgorithm, options: options, now: clock.closure)
    }

    var caDirectory: String { directory.path + "/ca" }
    var rootPEM: String { caDirectory + "/root.pem" }
    var issuingPEM: String { caDirectory + "/issuing.pem" }

    /// Writes a file into the temporary directory and returns its path.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.file(name)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw CATestError("cannot write \(path)") }
        return path
    }

    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    /// Issues under `profile` from a fresh P-256 CSR with the given subject.
    func issue(subject: DistinguishedName? = nil, profile: String = "default", device: String = "device-1") throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let csr = try SwiftCSR.make(key: .init(key), subject: subject ?? DistinguishedName { CommonName("Jana Nováková"); CountryName("CZ") })
        return try ca.issue(EnrollmentRequest(csrDER: csr, profile: profile, userId: "user-1", deviceId: device))
    }
}

/// CSRs made in-process with swift-certificates.
enum SwiftCSR {
    static func make(key: Certificate.PrivateKey, subject: DistinguishedName) throws -> [UInt8] {
        let algorithm: Certificate.SignatureAlgorithm = key.supportedSignatureAlgorithms.contains(.ecdsaWithSHA256) ? .ecdsaWithSHA256 : .sha256WithRSAEncryption
        let csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: key, attributes: .init(), signatureAlgorithm: algorithm)
        var coder = DER.Serializer()
        try coder.serialize(csr)
        return coder.serializedBytes
    }
}

/// openssl(1), which the tests use as the independent implementation.
enum OpenSSL {
    /// Runs openssl in `cwd`; fails the test (throws) on a non-zero exit unless `allowFailure`.
    @discardableResult
    static func run(_ args: [String], cwd: String, allowFailure: Bool = false) throws -> ProcessOutput {
        let out = try ProcessRunner.run("openssl", args, cwd: cwd, timeout: 60)
        if out.status != 0 && !allowFailure {
            throw CATestError("openssl \(args.joined(separator: " ")) failed\n" + ProcessRunner.describe(out))
        }
        return out
    }

    /// A CSR (DER) and its key made by `openssl req`: `keySpec` is `ec:P-256`, `ec:P-521`,
    /// `rsa:2048`, `rsa:1024` ...; `subject` in openssl's `/CN=.../C=..` form.
    static func csr(in dir: String, name: String, keySpec: String, subject: String) throws -> (der: [UInt8], keyPath: String) {
        let keyPath = dir + "/\(name).key.pem", csrPath = dir + "/\(name).csr.der"
        let parts = keySpec.split(separator: ":").map(String.init)
        var keyArgs: [String]
        if parts[0] == "ec" {
            keyArgs = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(parts[1])", "-out", keyPath]
        } else {
            keyArgs = ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(parts[1])", "-out", keyPath]
        }
        try run(keyArgs, cwd: dir)
        try run(["req", "-new", "-key", keyPath, "-subj", subject, "-sha256", "-outform", "DER", "-out", csrPath], cwd: dir)
        guard let data = FileManager.default.contents(atPath: csrPath) else { throw CATestError("openssl wrote no CSR") }
        return (Array(data), keyPath)
    }
}

func pem(_ certificate: Certificate) throws -> String {
    try certificate.serializeAsPEM().pemString + "\n"
}

func der(_ certificate: Certificate) throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.serialize(certificate)
    return coder.serializedBytes
}

/// Asserts that `body` throws a CertificateAuthorityError with `code`; returns it.
@discardableResult
func assertCAError<T>(_ code: CertificateAuthorityError.Code, file: StaticString = #filePath, line: UInt = #line,
                      _ body: () throws -> T) -> CertificateAuthorityError? {
    do {
        let value = try body()
        XCTFail("expected [\(code)], got success: \(value)", file: file, line: line)
    } catch let e as CertificateAuthorityError {
        XCTAssertEqual(e.code, code, "wrong error: \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected CertificateAuthorityError [\(code)], got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}

@discardableResult
func assertCAErrorAsync<T>(_ code: CertificateAuthorityError.Code, file: StaticString = #filePath, line: UInt = #line,
                           _ body: () async throws -> T) async -> CertificateAuthorityError? {
    do {
        let value = try await body()
        XCTFail("expected [\(code)], got success: \(value)", file: file, line: line)
    } catch let e as CertificateAuthorityError {
        XCTAssertEqual(e.code, code, "wrong error: \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected CertificateAuthorityError [\(code)], got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}
