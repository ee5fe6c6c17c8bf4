import CMSStructures
import Foundation
import FuzzTargets
import Jobs
import PDFSyntax
import XCTest

/// Replays the fuzz seed corpus and the fuzz regression corpus (every crash, timeout or memory
/// blow-up `make fuzz` found, plus hand-made hostile inputs) through the same functions the
/// libFuzzer targets call (docs/testing.md, "Fuzzing"). An input that traps ends the test
/// process, which fails the run; one that takes too long fails the test.
final class FuzzRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    /// Generous for a debug build on a busy machine; libFuzzer's own limit (`make fuzz`) is 10 s
    /// with the sanitizers on.
    static let secondsPerInput = 20.0

    func testPDFReader() throws { try replay("pdf-reader") }
    func testCMSTSP() throws { try replay("cms-tsp") }
    func testManifest() throws { try replay("manifest") }

    func testEveryTargetHasATest() {
        XCTAssertEqual(FuzzTargets.names, ["pdf-reader", "cms-tsp", "manifest"])
    }

    /// The seeds are valid inputs, so fuzzing starts inside the parsers, not at their first check.
    func testSeedsAreValidInputs() throws {
        for (file, data) in try inputs("Seeds", "pdf-reader") {
            let document = try PDFDocument(source: InMemoryByteSource(data))
            XCTAssertNoThrow(try document.catalog(), file.lastPathComponent)
        }
        for (file, data) in try inputs("Seeds", "manifest") {
            XCTAssertNoThrow(try ManifestValidator.parseJob(Data(data)), file.lastPathComponent)
        }
        for (file, data) in try inputs("Seeds", "cms-tsp") {
            let name = file.lastPathComponent
            if name.hasPrefix("cms-") || name.hasPrefix("tsp-token") {
                XCTAssertNoThrow(try ContentInfo(derEncoded: data).signedData(), name)
            } else if name.hasPrefix("tsp-response") {
                XCTAssertNoThrow(try TimeStampResp(derEncoded: data), name)
            } else if name.hasPrefix("tsp-request") {
                XCTAssertNoThrow(try TimeStampReq(derEncoded: data), name)
            } else if name.hasPrefix("tsp-tstinfo") {
                XCTAssertNoThrow(try TSTInfo(derEncoded: data), name)
            } else {
                XCTFail("\(name): no check for this seed")
            }
        }
    }

    /// The inputs in `kind/target`, base64 ones (`*.b64`, how binary inputs are committed) decoded.
    private func inputs(_ kind: String, _ target: String) throws -> [(URL, [UInt8])] {
        let directory = Self.root.appendingPathComponent(kind).appendingPathComponent(target)
        let files = FuzzTargets.corpusFiles(in: directory)
        XCTAssertFalse(files.isEmpty, "\(kind)/\(target) is empty: the replay would pass without testing anything")
        return try files.map { file in
            var data = try Array(Data(contentsOf: file))
            if file.pathExtension == "b64" {
                let text = String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }
                data = try XCTUnwrap(Data(base64Encoded: text).map(Array.init), "\(file.path) is not base64")
            }
            return (file, data)
        }
    }

    private func replay(_ target: String) throws {
        for kind in ["Seeds", "Corpus"] {
            for (file, data) in try inputs(kind, target) {
                let start = Date()
                FuzzTargets.run(target, data)
                let elapsed = Date().timeIntervalSince(start)
                XCTAssertLessThan(elapsed, Self.secondsPerInput, "\(kind)/\(target)/\(file.lastPathComponent) took \(elapsed) s")
            }
        }
    }
}
