import Foundation
import PDFSignatures
import PDFSyntax
import TestSupport
import XCTest

final class SignatureFieldTests: XCTestCase {
    let time = Date(timeIntervalSince1970: 1_790_000_000)
    let id = [UInt8](repeating: 7, count: 16)

    func prepare(_ bytes: [UInt8], field: String? = nil, page: Int = 0) throws -> (PDFDocument, PreparedSignature) {
        let doc = try PDFDocument(source: InMemoryByteSource(bytes))
        let prepared = try SignaturePreparer.prepare(document: doc, request: SignatureRequest(fieldName: field, pageIndex: page, signingTime: time), contentsCapacity: 64, documentID: id)
        let signed = try PDFDocument(source: InMemoryByteSource(bytes + (try prepared.complete(cms: [0x30, 0x00]))))
        return (signed, prepared)
    }

    func testNewFieldIsInvisibleMergedWidgetOnPageOne() throws {
        let (doc, prepared) = try prepare(MinimalPDF.make())
        XCTAssertEqual(prepared.fieldName, "Signature1")
        let fields = try FormFields.all(in: doc)
        XCTAssertEqual(fields.count, 1)
        let w = fields[0].dictionary
        XCTAssertEqual(w["FT"], .name("Sig"))
        XCTAssertEqual(w["Subtype"], .name("Widget"))
        XCTAssertEqual(w["F"], .integer(132))
        XCTAssertEqual(w["Rect"], .array([.integer(0), .integer(0), .integer(0), .integer(0)]))
        XCTAssertEqual(w["P"], .reference(PDFReference(3)))
        let page = try doc.page(at: 0).1
        XCTAssertEqual(page["Annots"], .array([.reference(fields[0].reference)]))
        let acro = try XCTUnwrap(try doc.resolveDictionary(try doc.catalog()["AcroForm"]))
        XCTAssertEqual(acro["SigFlags"], .integer(3))
        let sig = try XCTUnwrap(try doc.resolveDictionary(w["V"]))
        XCTAssertEqual(sig["SubFilter"], .name("ETSI.CAdES.detached"))
        XCTAssertEqual(sig["M"]?.string?.text, PDFDate.format(time))
        XCTAssertNil(sig["Cert"])
    }

    func testTrailerKeepsFirstIDAndReplacesSecond() throws {
        let (doc, _) = try prepare(MinimalPDF.make())
        let ids = try XCTUnwrap(doc.trailer["ID"]?.array)
        XCTAssertEqual(ids[0].string?.bytes.count, 16)
        XCTAssertEqual(ids[0].string?.bytes.first, 0x00)
        XCTAssertEqual(ids[1].string?.bytes, id)
    }

    func testUniqueNameAvoidsExistingFields() throws {
        let bytes = MinimalPDF.make(catalogExtra: " /AcroForm << /Fields [5 0 R] >>", pageExtra: " /Annots [5 0 R]",
                                    extraObjects: [(5, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (Signature1) /Rect [0 0 10 10] /P 3 0 R >>")])
        let (doc, prepared) = try prepare(bytes)
        XCTAssertEqual(prepared.fieldName, "Signature2")
        XCTAssertEqual(try FormFields.all(in: doc).map(\.name), ["Signature1", "Signature2"])
        XCTAssertEqual(try doc.page(at: 0).1["Annots"]?.array?.count, 2)
    }

    func testEmptySignatureFieldIsFilled() throws {
        let bytes = MinimalPDF.make(catalogExtra: " /AcroForm 6 0 R", pageExtra: " /Annots [5 0 R]",
                                    extraObjects: [(5, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Approval) /Rect [10 10 100 50] /P 3 0 R >>"),
                                                   (6, "<< /Fields [5 0 R] >>")])
        let (doc, prepared) = try prepare(bytes, field: "Approval")
        XCTAssertEqual(prepared.fieldName, "Approval")
        let fields = try FormFields.all(in: doc)
        XCTAssertEqual(fields.count, 1)
        XCTAssertEqual(fields[0].reference, PDFReference(5))
        XCTAssertNotNil(fields[0].dictionary["V"])
        XCTAssertEqual(fields[0].dictionary["Rect"], .array([.integer(10), .integer(10), .integer(100), .integer(50)]))
    }

    func testAlreadySignedFieldIsRejected() throws {
        let bytes = MinimalPDF.make(catalogExtra: " /AcroForm << /Fields [5 0 R] >>",
                                    extraObjects: [(5, "<< /FT /Sig /T (Done) /V 6 0 R >>"), (6, "<< /Type /Sig >>")])
        XCTAssertThrowsError(try prepare(bytes, field: "Done")) {
            XCTAssertEqual(($0 as? SignatureEmbeddingError)?.code, .fieldAlreadySigned)
        }
    }

    func testNonSignatureFieldIsRejected() throws {
        let bytes = MinimalPDF.make(catalogExtra: " /AcroForm << /Fields [5 0 R] >>", extraObjects: [(5, "<< /FT /Tx /T (Name) >>")])
        XCTAssertThrowsError(try prepare(bytes, field: "Name")) {
            XCTAssertEqual(($0 as? SignatureEmbeddingError)?.code, .fieldNotSignature)
        }
    }

    func testMissingPageIsRejected() {
        XCTAssertThrowsError(try prepare(MinimalPDF.make(), page: 3)) {
            XCTAssertEqual(($0 as? SignatureEmbeddingError)?.code, .pageOutOfRange)
        }
    }

    func testFieldNameWithPeriodIsRejected() {
        XCTAssertThrowsError(try prepare(MinimalPDF.make(), field: "a.b")) {
            XCTAssertEqual(($0 as? SignatureEmbeddingError)?.code, .invalidFieldName)
        }
    }

    func testPDFDateRoundTrip() {
        let text = PDFDate.format(time)
        XCTAssertTrue(text.hasPrefix("D:2026"))
        XCTAssertTrue(text.hasSuffix("+00'00'"))
        XCTAssertEqual(PDFDate.parse(text), time)
        XCTAssertEqual(PDFDate.parse("D:20260102030405+01'00'"), PDFDate.parse("D:20260102020405Z"))
    }
}
