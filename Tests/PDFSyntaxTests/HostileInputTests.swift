import Foundation
import XCTest
@testable import PDFSyntax

/// Hostile numbers and resource claims (issue 11 §5): every rule is an error with a code, never a
/// trap, a hang or a memory blow-up; harmless producer deviations are accepted with a warning.
/// Files are built byte by byte here; each test names the rule it enforces.
final class HostileInputTests: XCTestCase {
    func open(_ bytes: [UInt8]) throws -> PDFDocument {
        try PDFDocument(source: InMemoryByteSource(bytes))
    }

    /// `bytes` with the first occurrence of `old` replaced by `new` (byte level).
    func replacing(_ bytes: [UInt8], _ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
        guard let at = ByteSearch.first(Array(old.utf8), in: bytes) else {
            XCTFail("'\(old)' not found in the test file", file: file, line: line)
            return bytes
        }
        var out = bytes
        out.replaceSubrange(at..<(at + old.utf8.count), with: Array(new.utf8))
        return out
    }

    /// The stated `startxref` value of a file the builder wrote.
    func startXRefText(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        let start = text.range(of: "startxref\n", options: .backwards)!.upperBound
        let end = text.range(of: "\n%%EOF", options: .backwards)!.lowerBound
        return String(text[start..<end])
    }

    func assertCode(_ code: PDFError.Code, _ body: @autoclosure () throws -> Any, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) {
            XCTAssertEqual(($0 as? PDFError)?.code, code, "\($0)", file: file, line: line)
        }
    }

    // MARK: - Numbers near Int64.max

    func testSubsectionCountNearInt64MaxIsOutOfRange() {
        let bytes = replacing(PDFBuilder.onePage().classic(), "xref\n0 5\n", "xref\n1 9223372036854775807\n")
        assertCode(.numberOutOfRange, try open(bytes))
    }

    func testSubsectionStartNearInt64MaxIsOutOfRange() {
        let bytes = replacing(PDFBuilder.onePage().classic(), "xref\n0 5\n", "xref\n9223372036854775807 1\n")
        assertCode(.numberOutOfRange, try open(bytes))
    }

    func testXRefStreamIndexNearInt64MaxIsOutOfRange() {
        let bytes = replacing(PDFBuilder.onePage().xrefStream(useObjectStream: false), "/W [1 4 1]", "/W [1 4 1] /Index [9223372036854775800 100]")
        assertCode(.numberOutOfRange, try open(bytes))
    }

    func testXRefStreamWidthNearInt64MaxIsOutOfRange() {
        let bytes = replacing(PDFBuilder.onePage().xrefStream(useObjectStream: false), "/W [1 4 1]", "/W [1 9223372036854775807 1]")
        assertCode(.numberOutOfRange, try open(bytes))
    }

    func testXRefStreamSizeBeyondWhatTheFileCanHoldIsOutOfRange() {
        // A 600-byte file cannot hold ten million objects; reading would decode 60 MB of rows.
        let bytes = replacing(PDFBuilder.onePage().xrefStream(useObjectStream: false), "/Size 6 ", "/Size 9999999 ")
        assertCode(.numberOutOfRange, try open(bytes))
    }

    func testStartXRefNearInt64MaxAfterJunkPrefixIsRefused() {
        var b = PDFBuilder.onePage()
        b.prefix = Array(repeating: UInt8(ascii: "x"), count: 100)
        let original = b.classic()
        let bytes = replacing(original, "startxref\n\(startXRefText(original))\n", "startxref\n9223372036854775800\n")
        // The unshifted read says "outside the file"; the shifted retry must not overflow.
        assertCode(.xref, try open(bytes))
    }

    func testObjectOffsetNearInt64MaxInShiftedFileIsOutOfRange() throws {
        var b = PDFBuilder.onePage()
        b.prefix = Array(repeating: UInt8(ascii: "x"), count: 100)
        var bytes = b.classic()
        let head = ByteSearch.first(Array("65535 f \n".utf8), in: bytes)! + 9
        bytes.replaceSubrange(head..<(head + 10), with: Array("9223372036854775807".utf8))
        let doc = try open(bytes)
        XCTAssertEqual(doc.offsetShift, 100)
        assertCode(.numberOutOfRange, try doc.catalog())
    }

    func testStreamLengthNearInt64MaxIsOutOfRange() throws {
        var b = PDFBuilder.onePage()
        b.objects[3] = (4, "<< /Length 9223372036854775807 >>\nstream\nBT ET q\nendstream")
        let doc = try open(b.classic())
        assertCode(.numberOutOfRange, try doc.object(PDFReference(4)))
    }

    func testObjectStreamOffsetNearInt64MaxIsOutOfRange() throws {
        var b = PDFBuilder.onePage()
        b.objectStreamHead = "1 9223372036854775807 "
        let doc = try open(b.xrefStream(useObjectStream: true))
        assertCode(.numberOutOfRange, try doc.catalog())
    }

    func testObjectStreamCountNearInt64MaxIsOutOfRange() throws {
        var b = PDFBuilder.onePage()
        b.objectStreamN = "9223372036854775807"
        let doc = try open(b.xrefStream(useObjectStream: true))
        assertCode(.numberOutOfRange, try doc.catalog())
    }

    func testNegativePageCountCannotWrapThePageIndex() throws {
        var b = PDFBuilder()
        b.objects = [
            (1, "<< /Type /Catalog /Pages 2 0 R >>"),
            (2, "<< /Type /Pages /Kids [4 0 R 3 0 R] /Count 1 >>"),
            (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"),
            (4, "<< /Type /Pages /Kids [] /Count -9223372036854775807 >>"),
        ]
        let doc = try open(b.classic())
        assertCode(.structure, try doc.page(at: 1))
    }

    func testByteSourceReadWithHugeCountDoesNotTrap() throws {
        XCTAssertEqual(try InMemoryByteSource([1, 2, 3]).read(offset: 1, count: Int.max), [2, 3])
    }

    func testHugeRealsAreWrittenWithoutTrapping() throws {
        XCTAssertEqual(PDFSerializer.formatReal(1e23), "99999999999999991611392")
        XCTAssertEqual(PDFSerializer.formatReal(-1_000_000_000_000_000.5), "-1000000000000000.5")
        XCTAssertEqual(PDFSerializer.formatReal(12_345_678_901_234.25), "12345678901234.25")
        XCTAssertEqual(PDFSerializer.formatReal(2.5), "2.5")
        // An integer too large for 64 bits is lexed as a real and copied into the update.
        var b = PDFBuilder.onePage()
        b.objects[2] = (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 99999999999999999999999 1] >>")
        let original = b.classic()
        let doc = try open(original)
        var update = try IncrementalUpdate(document: doc)
        let (ref, page) = try doc.page(at: 0)
        update.set(ref, .dictionary(page))
        let reread = try open(original + (try update.serialize()).bytes)
        XCTAssertEqual(try reread.page(at: 0).1["MediaBox"]?.array?[2], .real(1e23))
    }

    // MARK: - /Size

    func testTrailerSizeNearInt64MaxIsOutOfRange() {
        var b = PDFBuilder.onePage()
        b.trailerExtra = " /Size 9223372036854775807"
        // Before: the file opened and the update's object numbering overflowed.
        assertCode(.numberOutOfRange, try { () throws -> PDFReference in
            var update = try IncrementalUpdate(document: try self.open(b.classic()))
            return try update.allocate()
        }())
    }

    func testSizeFarBeyondTheFileIsRefusedBeforeItIsSignedIntoAnUnreadableOutput() {
        var b = PDFBuilder.onePage()
        b.trailerExtra = " /Size 9999999"
        let original = b.classic()
        // Before: the update numbered its objects 9999999... and its own reader refused the result.
        assertCode(.numberOutOfRange, try { () throws -> PDFDocument in
            var update = try IncrementalUpdate(document: try self.open(original))
            for _ in 0..<3 { update.set(try update.allocate(), .dictionary(PDFDictionary())) }
            return try self.open(original + (try update.serialize()).bytes)
        }())
    }

    func testUpdateThatWouldPassTheObjectAllowanceIsRefused() throws {
        var b = PDFBuilder.onePage()
        b.trailerExtra = " /Size 65536"
        var update = try IncrementalUpdate(document: try open(b.classic()))
        assertCode(.numberOutOfRange, try update.allocate())
    }

    func testSizeSmallerThanHighestObjectIsAcceptedWithWarningAndNotReused() throws {
        var b = PDFBuilder.onePage()
        b.trailerExtra = " /Size 2"
        let original = b.classic()
        let doc = try open(original)
        XCTAssertEqual(doc.warnings.count, 1)
        var update = try IncrementalUpdate(document: doc)
        let ref = try update.allocate()
        XCTAssertEqual(ref, PDFReference(5), "new objects must not replace existing ones")
        update.set(ref, .dictionary(PDFDictionary([("Type", .name("Test"))])))
        let reread = try open(original + (try update.serialize()).bytes)
        XCTAssertEqual(try reread.pageCount(), 1)
        XCTAssertEqual(reread.trailer["Size"]?.intValue, 6)
    }

    // MARK: - Accepted deviations

    func testFreeListHeadWithGeneration65536IsAcceptedWithWarning() throws {
        let bytes = replacing(PDFBuilder.onePage().classic(), "0000000000 65535 f", "0000000000 65536 f")
        let doc = try open(bytes)
        XCTAssertEqual(doc.warnings.count, 1)
        XCTAssertEqual(doc.entry(for: 0), .free(nextGeneration: 65535))
        XCTAssertEqual(try doc.pageCount(), 1)
    }

    func testGenerationAbove65535OnAnObjectIsOutOfRange() {
        let bytes = replacing(PDFBuilder.onePage().classic(), " 00000 n", " 65536 n")
        assertCode(.numberOutOfRange, try open(bytes))
    }

    // MARK: - Linear cost

    func testOverlappingXRefSectionsAreRefused() {
        // The older section's trailer hides the newer one in a string: every section would
        // re-read the ones nested in it, so a chain of them would cost quadratic time.
        var out = "%PDF-1.7\n"
        let o1 = out.utf8.count
        out += "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        let o2 = out.utf8.count
        out += "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        func pad(_ n: Int) -> String { String(repeating: "0", count: 10 - String(n).count) + String(n) }
        let table = "xref\n0 3\n0000000000 65535 f \n\(pad(o1)) 00000 n \n\(pad(o2)) 00000 n \n"
        let older = out.utf8.count
        out += table + "trailer\n<< /Size 3 /Root 1 0 R /Hidden ("
        let newer = out.utf8.count
        out += table + "trailer\n<< /Size 3 /Root 1 0 R /Prev \(older) >>\n"
        out += ") >>\nstartxref\n\(newer)\n%%EOF\n"
        assertCode(.xref, try open(Array(out.utf8)))
    }

    // MARK: - Bounded decoding

    /// A zlib stream that inflates to about 1 GiB of zeros, built by hand: one fixed-Huffman
    /// block with a literal 0 and 4,161,801 copies of (length 258, distance 1). 6.8 MB.
    static func gigabyteOfZeros() -> [UInt8] {
        struct Bits {
            var bytes: [UInt8] = []
            var acc: UInt32 = 0
            var count: UInt32 = 0
            mutating func write(_ value: UInt32, _ n: UInt32) { // LSB first
                acc |= value << count
                count += n
                while count >= 8 { bytes.append(UInt8(acc & 0xFF)); acc >>= 8; count -= 8 }
            }
            mutating func huffman(_ code: UInt32, _ n: UInt32) { // Huffman codes go MSB first
                for i in stride(from: Int(n) - 1, through: 0, by: -1) { write((code >> UInt32(i)) & 1, 1) }
            }
            mutating func match() { huffman(0xC5, 8); huffman(0, 5) } // length 258, distance 1
        }
        var head = Bits()
        head.write(1, 1) // BFINAL
        head.write(1, 2) // fixed Huffman
        head.huffman(0x30, 8) // literal 0
        head.match() // 24 bits: byte aligned
        var eight = Bits()
        for _ in 0..<8 { eight.match() } // 104 bits = 13 bytes
        let groups = 520_225
        var out: [UInt8] = [0x78, 0x01] + head.bytes
        out.reserveCapacity(out.count + groups * 13 + 16)
        for _ in 0..<groups { out.append(contentsOf: eight.bytes) }
        var tail = Bits()
        tail.huffman(0, 7) // end of block
        tail.write(0, 7) // pad to a byte
        out += tail.bytes
        let total = 1 + 258 * (1 + 8 * groups)
        let adler = UInt32(total % 65521) << 16 | 1
        out += [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
        return out
    }

    /// A file whose catalog (object 1) lives in object stream 5, whose data is `objstmData`
    /// with `objstmDict` as its dictionary; cross-reference stream 6.
    static func objectStreamFile(objstmDict: String, objstmData: [UInt8]) -> [UInt8] {
        var out = Array("%PDF-1.7\n".utf8)
        let o2 = out.count
        out += Array("2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n".utf8)
        let o5 = out.count
        out += Array("5 0 obj\n\(objstmDict)\nstream\n".utf8) + objstmData + Array("\nendstream\nendobj\n".utf8)
        let o6 = out.count
        func row(_ type: UInt8, _ a: Int, _ b: UInt8) -> [UInt8] {
            [type, UInt8(a >> 24 & 0xFF), UInt8(a >> 16 & 0xFF), UInt8(a >> 8 & 0xFF), UInt8(a & 0xFF), b]
        }
        let rows = row(0, 0, 0xFF) + row(2, 5, 0) + row(1, o2, 0) + row(0, 0, 0) + row(0, 0, 0) + row(1, o5, 0) + row(1, o6, 0)
        out += Array("6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 1] /Root 1 0 R /Length \(rows.count) >>\nstream\n".utf8)
        out += rows + Array("\nendstream\nendobj\nstartxref\n\(o6)\n%%EOF\n".utf8)
        return out
    }

    /// Growth of the peak resident set (VmHWM) while `body` runs, in bytes; nil where the peak
    /// cannot be reset (not Linux).
    func peakRSSGrowth(_ body: () throws -> Void) rethrows -> Int? {
        func status(_ key: String) -> Int? {
            guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }),
                  let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
            return kb * 1024
        }
        // Writing 5 to clear_refs resets the peak to the current RSS (Linux 4.0+).
        let reset = (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
        let before = status("VmRSS")
        try body()
        guard reset, let before, let peak = status("VmHWM") else { return nil }
        return peak - before
    }

    func testFlateBombInObjectStreamIsRefusedWithinBoundedMemory() throws {
        let bomb = Self.gigabyteOfZeros()
        let bytes = Self.objectStreamFile(objstmDict: "<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length \(bomb.count) >>", objstmData: bomb)
        let doc = try open(bytes)
        let growth = try peakRSSGrowth {
            assertCode(.limitExceeded, try doc.catalog())
        }
        if let growth {
            print("flate bomb (1 GiB of zeros, \(bomb.count) bytes compressed): peak RSS grew by \(growth / 1024) KiB")
            XCTAssertLessThan(growth, 40 << 20, "decoding a bomb must stay bounded (cap \(doc.limits.maxDecodedStreamBytes) bytes)")
        }
    }

    func testFlateBombInXRefStreamStopsAtWhatTheIndexNeeds() throws {
        let bomb = Self.gigabyteOfZeros()
        var out = Array("%PDF-1.7\n".utf8)
        let o1 = out.count
        out += Array("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".utf8)
        let o3 = out.count
        out += Array("3 0 obj\n<< /Type /XRef /Size 4 /W [1 4 1] /Root 1 0 R /Filter /FlateDecode /Length \(bomb.count) >>\nstream\n".utf8)
        out += bomb + Array("\nendstream\nendobj\nstartxref\n\(o3)\n%%EOF\n".utf8)
        _ = o1
        var growth: Int?
        growth = try peakRSSGrowth {
            assertCode(.limitExceeded, try open(out))
        }
        if let growth {
            print("flate bomb as xref stream: peak RSS grew by \(growth / 1024) KiB")
            XCTAssertLessThan(growth, 16 << 20)
        }
    }

    func testPredictorColumnsCannotAllocateHugeRows() throws {
        var result: [UInt8] = []
        let growth = try peakRSSGrowth {
            // /Colors 32 /BitsPerComponent 16 /Columns 1048576 claims 64 MiB rows for 3 bytes.
            result = try FlateDecode.unpredict([2, 1, 2, 3], predictor: 12, colors: 32, bitsPerComponent: 16, columns: 1 << 20)
        }
        XCTAssertEqual(result, [1, 2, 3])
        if let growth { XCTAssertLessThan(growth, 16 << 20) }
    }
}
