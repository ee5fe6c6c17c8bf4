import Foundation
import TestSupport
import XCTest

/// docs/errors.md is generated from the error-code registry (`<Module>ErrorCodes.all`, collected
/// by `signd errors`). These tests fail when the page and the registry differ, or when Sources/
/// throws a code the registry does not document.
final class ErrorCatalogTests: XCTestCase {
    static let regenerate = "swift build && .build/debug/signd errors --markdown > docs/errors.md"

    func signd(_ args: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.signdBinary) else {
            throw XCTSkip("signd is not built at \(PackagePaths.signdBinary); run swift build --build-tests")
        }
        let output = try ProcessRunner.run(PackagePaths.signdBinary, args, cwd: PackagePaths.root, timeout: 60)
        XCTAssertEqual(output.status, 0, "signd \(args.joined(separator: " ")): \(output.stderr)")
        return output.stdout
    }

    func testDocsErrorsIsTheGeneratedPage() throws {
        let generated = try signd(["errors", "--markdown"])
        let path = PackagePaths.root + "/docs/errors.md"
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        guard generated != committed else { return }
        let g = generated.components(separatedBy: "\n"), c = committed.components(separatedBy: "\n")
        let line = zip(g, c).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? min(g.count, c.count)
        XCTFail("""
            docs/errors.md is not the page generated from the error-code registry (first difference at line \(line + 1)):
              docs/errors.md: \(line < c.count ? c[line] : "<end of file>")
              generated:      \(line < g.count ? g[line] : "<end of file>")
            Change the registry (<Module>ErrorCodes.all), not the page, then run `\(Self.regenerate)`.
            """)
    }

    func testEveryCodeThrownInSourcesIsDocumented() throws {
        let documented = Set(try signd(["errors", "--codes"]).split(separator: "\n").map(String.init))
        XCTAssertTrue(documented.contains("pdf.truncated") && documented.contains("storage.full"), "signd errors --codes printed \(documented.count) codes")
        let found = try Self.codeLiterals(under: PackagePaths.root + "/Sources")
        XCTAssertGreaterThan(found.count, 100, "the scan found too few code literals; did the patterns break?")
        let missing = found.filter { !documented.contains($0.code) }
        XCTAssertTrue(missing.isEmpty, """
            codes thrown in Sources/ but not in the error-code registry (add them to the module's <Module>ErrorCodes.all, then run `\(Self.regenerate)`):
            \(missing.map { "  \($0.code)  \($0.location)" }.joined(separator: "\n"))
            """)
    }

    func testTheScanSeesThrowSitePatterns() throws {
        let text = """
            throw SpoolError("spool.io", "m")
            throw ManifestError(code: "manifest.missingField", message: "m")
            fail(jobId: id, code: "job.duplicate", message: m)
            public static let x = Code(rawValue: "pdf.xref")
            throw SpoolError(retryable ? "ca.unavailable" : "device.revocationIncomplete", "m")
            // throw SpoolError("not.this", "a comment")
            let notACode = Foo("bar.baz")
            """
        XCTAssertEqual(Self.codeLiterals(in: text, file: "t").map(\.code),
                       ["spool.io", "manifest.missingField", "job.duplicate", "pdf.xref", "ca.unavailable", "device.revocationIncomplete"])
    }

    // MARK: - Scanning

    /// A code inside quotes: `"x.y"` (at least one dot) or `"internal"`.
    static let code = "\"((?:[a-z][A-Za-z0-9]*(?:\\.[A-Za-z0-9]+)+)|internal)\""
    /// `XError("code"`, `XError(code: "code"`, `code: "code"`, `Code(rawValue: "code")`, `Code("code")`,
    /// and `XError(flag ? "code" : "code"`.
    static var patterns: [NSRegularExpression] {
        [
            "\\b[A-Z][A-Za-z]*Error\\(\\s*(?:code: )?" + code,
            "\\bcode: " + code,
            "Code\\((?:rawValue: )?" + code,
            "\\b[A-Z][A-Za-z]*Error\\(\\s*[A-Za-z.]+ \\? " + code + " : " + code,
        ].map { try! NSRegularExpression(pattern: $0) }
    }

    static func codeLiterals(in text: String, file: String) -> [(code: String, location: String)] {
        let patterns = Self.patterns
        var found: [(code: String, location: String)] = []
        for (number, line) in text.components(separatedBy: "\n").enumerated() {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("//") { continue }
            let range = NSRange(line.startIndex..., in: line)
            var hits: [(Int, String)] = []
            for pattern in patterns {
                for match in pattern.matches(in: line, range: range) {
                    for group in 1..<match.numberOfRanges {
                        let r = match.range(at: group)
                        guard r.location != NSNotFound, let swiftRange = Range(r, in: line) else { continue }
                        hits.append((r.location, String(line[swiftRange])))
                    }
                }
            }
            var seen = Set<Int>()
            for (position, code) in hits.sorted(by: { $0.0 < $1.0 }) where seen.insert(position).inserted {
                found.append((code, "\(file):\(number + 1)"))
            }
        }
        return found
    }

    static func codeLiterals(under root: String) throws -> [(code: String, location: String)] {
        var found: [(code: String, location: String)] = []
        guard let files = FileManager.default.enumerator(atPath: root) else { return [] }
        for case let relative as String in files where relative.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
            found += codeLiterals(in: text, file: "Sources/" + relative)
        }
        return found
    }
}
