import Foundation
import TestSupport
import XCTest

/// End to end (issue 11 §5): the `signd` binary on hostile files exits 2 (unusable input) with a
/// stable code on stderr, or 1 for a signature that is not intact — never a crash (a trap exits
/// with signal 4/5, i.e. status 132/133 through a shell, or a negative status here), and a
/// decompression bomb is refused at a bounded peak RSS. Needs only the binary; the files are
/// built byte by byte here.
final class HostileInputInteropTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.signdBinary) else {
            throw ProcessRunnerError(description: "signd binary not found at \(PackagePaths.signdBinary); run `swift build --build-tests` or set SIGND_BIN")
        }
        dir = try TemporaryDirectory(prefix: "signd-hostile")
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = dir.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func verify(_ path: String) throws -> ProcessOutput {
        try ProcessRunner.run(PackagePaths.signdBinary, ["verify", path], timeout: 120)
    }

    func assertUnusable(_ bytes: [UInt8], code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try verify(try write("hostile.pdf", bytes))
        XCTAssertEqual(r.status, 2, ProcessRunner.describe(r, "signd verify"), file: file, line: line)
        XCTAssertTrue(r.stderr.contains("[\(code)]"), "expected \(code)" + ProcessRunner.describe(r, "signd verify"), file: file, line: line)
    }

    /// `MinimalPDF.make()` with the first `old` replaced by `new`.
    func minimal(replacing old: String, with new: String, _ bytes: [UInt8] = MinimalPDF.make()) -> [UInt8] {
        var text = String(decoding: bytes, as: UTF8.self)
        let range = text.range(of: old)!
        text.replaceSubrange(range, with: new)
        return Array(text.utf8)
    }

    func testSubsectionHeaderNearInt64MaxIsUnusableInput() throws {
        try assertUnusable(minimal(replacing: "xref\n0 5\n", with: "xref\n1 9223372036854775807\n"), code: "pdf.numberOutOfRange")
    }

    func testStartXRefNearInt64MaxAfterJunkPrefixIsUnusableInput() throws {
        let text = String(decoding: MinimalPDF.make(), as: UTF8.self)
        let start = text.range(of: "startxref\n")!.upperBound, end = text.range(of: "\n%%EOF")!.lowerBound
        let bytes = Array(repeating: UInt8(ascii: "x"), count: 100) + minimal(replacing: "startxref\n" + text[start..<end], with: "startxref\n9223372036854775800")
        try assertUnusable(bytes, code: "pdf.xref")
    }

    func testTrailerSizeNearInt64MaxIsUnusableInput() throws {
        try assertUnusable(minimal(replacing: "trailer\n<< /Size 5", with: "trailer\n<< /Size 9223372036854775807"), code: "pdf.numberOutOfRange")
    }

    func testByteRangeNearInt64MaxIsReportedNotCrashed() throws {
        let bytes = MinimalPDF.make(
            catalogExtra: " /AcroForm << /Fields [5 0 R] /SigFlags 3 >>", pageExtra: " /Annots [5 0 R]",
            extraObjects: [(5, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 6 0 R /Rect [0 0 0 0] /P 3 0 R >>"),
                           (6, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 9223372036854775807 1] /Contents <3000> /M (D:20240101120000+99'00') >>")])
        let r = try ProcessRunner.run(PackagePaths.signdBinary, ["verify", "--json", try write("byterange.pdf", bytes)], timeout: 120)
        XCTAssertEqual(r.status, 1, ProcessRunner.describe(r, "signd verify"))
        XCTAssertTrue(r.stdout.contains("byteRange.malformed"), ProcessRunner.describe(r, "signd verify"))
    }

    func testFlateBombIsUnusableInputAtBoundedMemory() throws {
        let bomb = Self.gigabyteOfZeros()
        var out = Array("%PDF-1.7\n".utf8)
        let o2 = out.count
        out += Array("2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n".utf8)
        let o5 = out.count
        out += Array("5 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length \(bomb.count) >>\nstream\n".utf8)
        out += bomb + Array("\nendstream\nendobj\n".utf8)
        let o6 = out.count
        func row(_ type: UInt8, _ a: Int, _ b: UInt8) -> [UInt8] {
            [type, UInt8(a >> 24 & 0xFF), UInt8(a >> 16 & 0xFF), UInt8(a >> 8 & 0xFF), UInt8(a & 0xFF), b]
        }
        let rows = row(0, 0, 0xFF) + row(2, 5, 0) + row(1, o2, 0) + row(0, 0, 0) + row(0, 0, 0) + row(1, o5, 0) + row(1, o6, 0)
        out += Array("6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 1] /Root 1 0 R /Length \(rows.count) >>\nstream\n".utf8)
        out += rows + Array("\nendstream\nendobj\nstartxref\n\(o6)\n%%EOF\n".utf8)
        let path = try write("bomb.pdf", out)
        // A fresh python3 whose only child is signd: RUSAGE_CHILDREN's ru_maxrss is signd's peak.
        let script = """
        import resource, subprocess, sys
        r = subprocess.run(sys.argv[1:], capture_output=True)
        sys.stderr.write(r.stderr.decode(errors="replace"))
        print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        """
        let r = try ProcessRunner.run("python3", ["-c", script, PackagePaths.signdBinary, "verify", path], timeout: 120)
        let fields = r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
        XCTAssertEqual(fields.count, 2, ProcessRunner.describe(r, "python3 (signd verify)"))
        guard fields.count == 2, let status = Int(fields[0]), let peakKiB = Int(fields[1]) else { return }
        print("signd verify on a 1 GiB flate bomb (\(bomb.count) bytes compressed): exit \(status), peak RSS \(peakKiB) KiB")
        XCTAssertEqual(status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("[pdf.limitExceeded]"), r.stderr)
        XCTAssertLessThan(peakKiB, 64 * 1024, "the bomb must be refused well under 64 MiB")
    }

    /// A zlib stream that inflates to about 1 GiB of zeros (fixed Huffman: a literal 0, then
    /// 4,161,801 copies of length 258 at distance 1); 6.8 MB.
    static func gigabyteOfZeros() -> [UInt8] {
        struct Bits {
            var bytes: [UInt8] = []
            var acc: UInt32 = 0
            var count: UInt32 = 0
            mutating func write(_ value: UInt32, _ n: UInt32) {
                acc |= value << count
                count += n
                while count >= 8 { bytes.append(UInt8(acc & 0xFF)); acc >>= 8; count -= 8 }
            }
            mutating func huffman(_ code: UInt32, _ n: UInt32) {
                for i in stride(from: Int(n) - 1, through: 0, by: -1) { write((code >> UInt32(i)) & 1, 1) }
            }
            mutating func match() { huffman(0xC5, 8); huffman(0, 5) }
        }
        var head = Bits()
        head.write(1, 1); head.write(1, 2); head.huffman(0x30, 8); head.match()
        var eight = Bits()
        for _ in 0..<8 { eight.match() }
        let groups = 520_225
        var out: [UInt8] = [0x78, 0x01] + head.bytes
        out.reserveCapacity(out.count + groups * 13 + 16)
        for _ in 0..<groups { out.append(contentsOf: eight.bytes) }
        var tail = Bits()
        tail.huffman(0, 7); tail.write(0, 7)
        return out + tail.bytes
    }
}
