import CMSSigning
import CMSStructures
import Foundation
import PAdES
import PDFSignatures
import PDFSyntax
import TestSupport
import XCTest

/// Hostile numbers in signatures and in the signing state (issue 11 §5): never a trap, always a
/// code (thrown, or in the report's problems). One named test per rule; files built byte by byte.
final class HostileSignatureTests: XCTestCase {
    let time = Date(timeIntervalSince1970: 1_790_000_000)

    /// A one-page document with a signed-looking field whose signature dictionary has
    /// `byteRange` and a short, unusable `/Contents`.
    func signedLooking(byteRange: String, m: String = "") -> [UInt8] {
        MinimalPDF.make(catalogExtra: " /AcroForm << /Fields [5 0 R] /SigFlags 3 >>", pageExtra: " /Annots [5 0 R]",
                        extraObjects: [(5, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 6 0 R /Rect [0 0 0 0] /P 3 0 R >>"),
                                       (6, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange \(byteRange) /Contents <3000>\(m) >>")])
    }

    func testByteRangeNearInt64MaxIsMalformedNotATrap() throws {
        let doc = try PDFDocument(source: InMemoryByteSource(signedLooking(byteRange: "[0 1 9223372036854775807 1]")))
        let sigs = try SignatureInspector.signatures(in: doc)
        XCTAssertEqual(sigs.count, 1)
        XCTAssertTrue(sigs[0].problems.contains("byteRange.malformed"), "\(sigs[0].problems)")
        XCTAssertNil(sigs[0].revisionSection)
    }

    func testNegativeByteRangeIsMalformed() throws {
        let doc = try PDFDocument(source: InMemoryByteSource(signedLooking(byteRange: "[0 -9223372036854775807 9223372036854775807 9223372036854775807]")))
        let sigs = try SignatureInspector.signatures(in: doc)
        XCTAssertTrue(sigs[0].problems.contains("byteRange.malformed"), "\(sigs[0].problems)")
    }

    func testVerifierReportsAnOverflowingByteRangeInsteadOfTrapping() async throws {
        let doc = try PDFDocument(source: InMemoryByteSource(signedLooking(byteRange: "[0 1 9223372036854775807 1]")))
        let report = try await PAdESVerifier(trustRoots: nil, validationTime: time).verify(document: doc, fileName: "hostile.pdf")
        XCTAssertEqual(report.signatures.count, 1)
        XCTAssertFalse(report.signatures[0].intact)
        XCTAssertTrue(report.signatures[0].problems.contains("byteRange.malformed"), "\(report.signatures[0].problems)")
    }

    func testSigningTimeWithOffsetBeyondEighteenHoursIsMalformed() throws {
        XCTAssertNil(PDFDate.parse("D:20240101120000+99'00'"))
        XCTAssertNotNil(PDFDate.parse("D:20240101120000+02'00'"))
    }

    func testVerifierReadsASignatureWhoseTimeZoneIsAbsurd() async throws {
        let doc = try PDFDocument(source: InMemoryByteSource(signedLooking(byteRange: "[0 1 2 3]", m: " /M (D:20240101120000-99'59')")))
        let report = try await PAdESVerifier(trustRoots: nil, validationTime: time).verify(document: doc, fileName: "hostile.pdf")
        XCTAssertNil(report.signatures[0].signingTime)
        XCTAssertEqual(report.signatures[0].signingTimeRaw, "D:20240101120000-99'59'")
    }

    func testContentsCapacityOutOfRangeIsRefused() throws {
        let doc = try PDFDocument(source: InMemoryByteSource(MinimalPDF.make()))
        for capacity in [-1, 0, Int.max / 2] {
            XCTAssertThrowsError(try SignaturePreparer.prepare(document: doc, request: SignatureRequest(signingTime: time), contentsCapacity: capacity, documentID: [UInt8](repeating: 1, count: 16))) {
                XCTAssertEqual(($0 as? SignatureEmbeddingError)?.code, .capacityOutOfRange, "\($0)")
            }
        }
    }

    func testPlaceholderSizesOutOfRangeAreRefused() throws {
        let certificate = try TestPKI(now: time).p256Signer().certificate
        for (maximumSignatureSize, reserve) in [(-1, 0), (72, -1), (72, Int.max)] {
            let builder = PAdESSignatureBuilder(
                signer: ExternalSigner(certificate: certificate, algorithm: .ecdsaWithSHA256, maximumSignatureSize: maximumSignatureSize),
                chain: [], digest: .sha256)
            XCTAssertThrowsError(try builder.estimatedSize(unsignedReserve: reserve)) {
                XCTAssertEqual(($0 as? PAdESError)?.code, .sizeOutOfRange, "\($0)")
            }
        }
    }

    func testDamagedPreparedStateIsRefusedWhenDecoded() throws {
        let doc = try PDFDocument(source: InMemoryByteSource(MinimalPDF.make()))
        let prepared = try SignaturePreparer.prepare(document: doc, request: SignatureRequest(signingTime: time), contentsCapacity: 64, documentID: [UInt8](repeating: 1, count: 16))
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(prepared)) as? [String: Any])
        // Round trip first: an intact state decodes.
        XCTAssertEqual(try JSONDecoder().decode(PreparedSignature.self, from: JSONEncoder().encode(prepared)), prepared)
        json["contentsTokenStart"] = prepared.update.count + 1_000
        let damaged = try JSONSerialization.data(withJSONObject: json)
        // Before: decoded fine, then embedding wrote past the end of the update.
        XCTAssertThrowsError(try JSONDecoder().decode(PreparedSignature.self, from: damaged).complete(cms: [0x30, 0x00])) {
            guard case DecodingError.dataCorrupted = $0 else { return XCTFail("expected dataCorrupted, got \($0)") }
        }
    }
}
