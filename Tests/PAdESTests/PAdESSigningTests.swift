import CMSSigning
import CMSStructures
import DocumentSigning
import Foundation
import PAdES
import PDFSignatures
import PDFSyntax
import SigndCore
import SwiftASN1
import TestSupport
import X509
import XCTest

final class PAdESSigningTests: XCTestCase {
    var dir: URL!
    let time = Date(timeIntervalSince1970: 1_790_000_000)

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pades-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
    func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func signedCMS(_ path: String) throws -> (EmbeddedSignature, SignerInfo) {
        let doc = try PDFDocument(source: InMemoryByteSource(try read(path)))
        let sig = try XCTUnwrap(try SignatureInspector.signatures(in: doc).last)
        let sd = try ContentInfo(derEncoded: sig.contents).signedData()
        return (sig, sd.signerInfos[0])
    }

    func sign(_ input: String, _ output: String, signer: any CMSSigner, field: String? = nil, digest: DigestAlgorithm = .sha256) async throws -> SigningOutcome {
        let builder = PAdESSignatureBuilder(signer: signer, chain: [], digest: digest)
        return try await PDFSigningService().sign(inputPath: input, outputPath: output, builder: builder,
                                                  request: SignatureRequest(fieldName: field, signingTime: time))
    }

    func testSignedAttributesAreExactlyTheBaselineSet() async throws {
        let pki = try TestPKI()
        let input = try write(MinimalPDF.make(), "in.pdf")
        _ = try await sign(input, dir.appendingPathComponent("out.pdf").path, signer: try pki.p256Signer())
        let (_, si) = try signedCMS(dir.appendingPathComponent("out.pdf").path)
        let oids = Set((si.signedAttrs ?? []).map(\.attrType))
        XCTAssertEqual(oids, [CMSObjectIdentifiers.contentType, CMSObjectIdentifiers.messageDigest, CMSObjectIdentifiers.signingCertificateV2])
        XCTAssertTrue(si.signedAttribute(CMSObjectIdentifiers.signingTime).isEmpty)
        XCTAssertEqual(si.version, 1)
        XCTAssertTrue(si.unsignedAttrs.isEmpty)
    }

    func testSigningCertificateV2ValueIsTheSequenceItself() async throws {
        let pki = try TestPKI()
        let signer = try pki.p256Signer()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let out = dir.appendingPathComponent("out.pdf").path
        _ = try await sign(input, out, signer: signer)
        let (_, si) = try signedCMS(out)
        let attr = try XCTUnwrap(si.signedAttribute(CMSObjectIdentifiers.signingCertificateV2).first)
        var s = DER.Serializer()
        try s.serialize(attr.attrValues[0])
        XCTAssertEqual(s.serializedBytes.first, 0x30, "value must be a SEQUENCE, not an OCTET STRING")
        let v2 = try XCTUnwrap(try si.signingCertificateV2)
        XCTAssertEqual(v2.certs.first?.certHash, DigestAlgorithm.sha256.hash(try signer.certificate.derBytes()))
        XCTAssertTrue(v2.certs.first?.issuerSerial?.matches(signer.certificate) ?? false)
    }

    func testECDSASignatureValueIsDERSequence() async throws {
        let pki = try TestPKI()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let out = dir.appendingPathComponent("out.pdf").path
        _ = try await sign(input, out, signer: try pki.p256Signer())
        let (_, si) = try signedCMS(out)
        XCTAssertEqual(si.signature.first, 0x30)
        XCTAssertEqual(si.signatureAlgorithm.algorithm, CMSObjectIdentifiers.ecdsaWithSHA256)
        XCTAssertNil(si.signatureAlgorithm.parameters)
    }

    func testByteRangeGapIsExactlyTheContentsToken() async throws {
        let pki = try TestPKI()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let out = dir.appendingPathComponent("out.pdf").path
        let outcome = try await sign(input, out, signer: try pki.p256Signer())
        let bytes = try read(out)
        let br = outcome.byteRange
        XCTAssertEqual(br[0], 0)
        XCTAssertEqual(bytes[Int(br[1])], UInt8(ascii: "<"))
        XCTAssertEqual(bytes[Int(br[2]) - 1], UInt8(ascii: ">"))
        XCTAssertEqual(br[2] + br[3], Int64(bytes.count))
        // The original is an untouched prefix.
        let original = try read(input)
        XCTAssertEqual(Array(bytes[0..<original.count]), original)
    }

    func testOneStepAndTwoPhaseGiveIdenticalBytes() async throws {
        let pki = try TestPKI()
        let signer = try pki.rsaSigner()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let a = dir.appendingPathComponent("a.pdf").path, b = dir.appendingPathComponent("b.pdf").path, c = dir.appendingPathComponent("c.pdf").path
        _ = try await sign(input, a, signer: signer)
        _ = try await sign(input, b, signer: signer)
        XCTAssertEqual(try read(a), try read(b), "the same inputs must give byte-identical output")

        let service = PDFSigningService()
        let builder = PAdESSignatureBuilder(signer: signer, chain: [], digest: .sha256)
        let request = SignatureRequest(signingTime: time)
        let state1 = try service.prepareExternal(inputPath: input, builder: builder, request: request)
        let state2 = try service.prepareExternal(inputPath: input, builder: builder, request: request)
        XCTAssertEqual(state1, state2)
        // The state survives serialisation.
        let decoded = try JSONDecoder().decode(ExternalSigningState.self, from: try JSONEncoder().encode(state1))
        XCTAssertEqual(decoded, state1)
        let signature = try await signer.sign(decoded.dataToBeSigned, digest: .sha256)
        _ = try await service.completeExternal(inputPath: input, outputPath: c, state: decoded, signature: signature)
        XCTAssertEqual(try read(a), try read(c))
    }

    func testTwoPhaseRejectsSignatureOverOtherBytes() async throws {
        let pki = try TestPKI()
        let signer = try pki.p256Signer()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let service = PDFSigningService()
        let state = try service.prepareExternal(inputPath: input, builder: PAdESSignatureBuilder(signer: ExternalSigner.p256(certificate: signer.certificate), chain: [], digest: .sha256), request: SignatureRequest(signingTime: time))
        let wrong = try await signer.sign(Array("other bytes".utf8), digest: .sha256)
        let out = dir.appendingPathComponent("out.pdf").path
        do {
            _ = try await service.completeExternal(inputPath: input, outputPath: out, state: state, signature: wrong)
            XCTFail("a signature over other bytes was accepted")
        } catch let e as PAdESError {
            XCTAssertEqual(e.code, .signatureInvalid)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // The right signature completes.
        let right = try await signer.sign(state.dataToBeSigned, digest: .sha256)
        _ = try await service.completeExternal(inputPath: input, outputPath: out, state: state, signature: right)
        let report = try await PAdESVerifier(trustRoots: [pki.root], validationTime: Date()).verify(document: PDFDocument(source: InMemoryByteSource(try read(out))), fileName: out)
        XCTAssertTrue(report.allIntact)
        XCTAssertEqual(report.allTrusted, true)
    }

    func testTwoPhaseRejectsDocumentChangedBetweenPhases() async throws {
        let pki = try TestPKI()
        let signer = try pki.p256Signer()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let service = PDFSigningService()
        let state = try service.prepareExternal(inputPath: input, builder: PAdESSignatureBuilder(signer: signer, chain: [], digest: .sha256), request: SignatureRequest(signingTime: time))
        var changed = try read(input)
        changed[20] ^= 0x01
        _ = try write(changed, "in.pdf")
        let signature = try await signer.sign(state.dataToBeSigned, digest: .sha256)
        do {
            _ = try await service.completeExternal(inputPath: input, outputPath: dir.appendingPathComponent("o.pdf").path, state: state, signature: signature)
            XCTFail("a changed document was completed")
        } catch let e as PAdESError {
            XCTAssertEqual(e.code, .preparedStateMismatch)
        }
    }

    func testContentsTooSmallFailsWithSizes() throws {
        let doc = try PDFDocument(source: InMemoryByteSource(MinimalPDF.make()))
        let prepared = try SignaturePreparer.prepare(document: doc, request: SignatureRequest(signingTime: time), contentsCapacity: 16, documentID: [UInt8](repeating: 1, count: 16))
        XCTAssertThrowsError(try prepared.complete(cms: [UInt8](repeating: 0x30, count: 17))) {
            XCTAssertEqual(($0 as? SignatureEmbeddingError)?.code, .contentsTooSmall)
            XCTAssertTrue(($0 as? SignatureEmbeddingError)?.message.contains("16") ?? false)
        }
        XCTAssertNoThrow(try prepared.complete(cms: [UInt8](repeating: 0x30, count: 16)))
    }

    func testVerifierDetectsFlippedByteAndAppendedRevision() async throws {
        let pki = try TestPKI()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let out = dir.appendingPathComponent("out.pdf").path
        _ = try await sign(input, out, signer: try pki.p256Signer())
        var bytes = try read(out)
        let verifier = PAdESVerifier(trustRoots: nil, validationTime: Date())
        let ok = try await verifier.verify(document: PDFDocument(source: InMemoryByteSource(bytes)), fileName: "x")
        XCTAssertTrue(ok.allIntact)
        XCTAssertEqual(ok.signatures.first?.level, "B-B")
        bytes[60] ^= 0x20 // inside the original objects, covered by the first range
        let bad = try await verifier.verify(document: PDFDocument(source: InMemoryByteSource(bytes)), fileName: "x")
        XCTAssertFalse(bad.allIntact)
        XCTAssertEqual(bad.signatures.first?.messageDigestValid, false)
    }

    func testLaterContentChangeIsReported() async throws {
        let pki = try TestPKI()
        let input = try write(MinimalPDF.make(), "in.pdf")
        let out = dir.appendingPathComponent("out.pdf").path
        _ = try await sign(input, out, signer: try pki.p256Signer())
        let signed = try read(out)
        let doc = try PDFDocument(source: InMemoryByteSource(signed))
        var update = try IncrementalUpdate(document: doc)
        var page = try doc.page(at: 0).1
        page["Rotate"] = .integer(90)
        update.set(PDFReference(3), .dictionary(page))
        let changed = signed + (try update.serialize().bytes)
        let report = try await PAdESVerifier(trustRoots: nil, validationTime: Date()).verify(document: PDFDocument(source: InMemoryByteSource(changed)), fileName: "x")
        XCTAssertEqual(report.signatures.first?.laterChanges, "content")
        XCTAssertEqual(report.signatures.first?.intact, false)
        // Adding a second signature is not a content change.
        let second = try write(signed, "signed.pdf")
        let out2 = dir.appendingPathComponent("out2.pdf").path
        _ = try await sign(second, out2, signer: try pki.p256Signer())
        let twice = try await PAdESVerifier(trustRoots: nil, validationTime: Date()).verify(document: PDFDocument(source: InMemoryByteSource(try read(out2))), fileName: "x")
        XCTAssertEqual(twice.signatures.map(\.laterChanges), ["signatures-only", "none"])
        XCTAssertTrue(twice.allIntact)
    }
}
