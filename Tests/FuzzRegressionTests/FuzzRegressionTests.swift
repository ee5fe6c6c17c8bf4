import Foundation
import FuzzTargets
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

    private func replay(_ target: String) throws {
        for kind in ["Seeds", "Corpus"] {
            let directory = Self.root.appendingPathComponent(kind).appendingPathComponent(target)
            let files = FuzzTargets.corpusFiles(in: directory)
            XCTAssertFalse(files.isEmpty, "\(kind)/\(target) is empty: the replay would pass without testing anything")
            for file in files {
                var data = try Array(Data(contentsOf: file))
                // Seeds made by openssl are committed as base64 text (make fuzz decodes them too).
                if file.pathExtension == "b64" {
                    let text = String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }
                    data = try XCTUnwrap(Data(base64Encoded: text).map(Array.init), "\(file.path) is not base64")
                }
                let start = Date()
                FuzzTargets.run(target, data)
                let elapsed = Date().timeIntervalSince(start)
                XCTAssertLessThan(elapsed, Self.secondsPerInput, "\(kind)/\(target)/\(file.lastPathComponent) took \(elapsed) s")
            }
        }
    }
}
