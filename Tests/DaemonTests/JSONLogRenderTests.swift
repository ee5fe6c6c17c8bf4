import Daemon
import Foundation
import Logging
import XCTest

/// The hand-written JSON of the log handler must be JSON that any parser reads back exactly.
final class JSONLogRenderTests: XCTestCase {
    func testRenderedLineParsesBackWithEveryValueIntact() throws {
        let tricky = "quote \" backslash \\ slash / newline \n tab \t cr \r bell \u{07} nul \u{00} unit \u{1F} é 漢 🙂"
        let metadata: Logger.Metadata = [
            "job": "j-1", "tricky": .string(tricky), "n": .stringConvertible(42),
            "list": .array(["a", .string(tricky)]), "nested": .dictionary(["z": "1", "a": .array([])]),
            "msg": "clash with a fixed key",
        ]
        let line = JSONLogHandler.render(ts: Date(timeIntervalSince1970: 1_700_000_000.25), level: .warning, label: "signd",
                                         message: "hello \"world\"", metadata: metadata)
        XCTAssertFalse(line.contains("\n"), "one line: \(line)")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
        XCTAssertEqual(object["msg"] as? String, "hello \"world\"")
        XCTAssertEqual(object["meta.msg"] as? String, "clash with a fixed key")
        XCTAssertEqual(object["level"] as? String, "warning")
        XCTAssertEqual(object["ts"] as? String, "2023-11-14T22:13:20.250Z")
        XCTAssertEqual(object["tricky"] as? String, tricky)
        XCTAssertEqual(object["n"] as? String, "42")
        XCTAssertEqual((object["list"] as? [String])?.last, tricky)
        XCTAssertEqual((object["nested"] as? [String: Any])?["z"] as? String, "1")
        // Keys sorted at every level, as the operations docs promise.
        let keys = ["job", "label", "level", "list", "meta.msg", "msg", "n", "nested", "tricky", "ts"]
        let positions = keys.map { line.range(of: "\"\($0)\":")?.lowerBound }
        XCTAssertFalse(positions.contains(nil), line)
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted(), line)
        XCTAssertLessThan(line.range(of: "\"a\":")!.lowerBound, line.range(of: "\"z\":")!.lowerBound)
    }
}
