#if canImport(Glibc)
import Glibc
#endif
import Daemon
import Foundation
import JobEngine
import Jobs
import StateStore
import XCTest

/// Intake under the manual clock: the document timeout, the digest cache, and colliding inputs
/// looked at by several workers at once.
final class IntakePipelineTests: PipelineTestCase {
    override func makeHarness() async throws -> PipelineHarness? { try await PipelineHarness.make { $0.documentTimeout = 12 } }

    /// Bytes this process has read through system calls (`rchar` of /proc/self/io): the
    /// pipeline's reads, since the test itself reads nothing meanwhile.
    func bytesRead() throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/io", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("rchar:") }),
              let value = Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)) else {
            throw HarnessError("no rchar in /proc/self/io: \(text)")
        }
        return value
    }

    /// A manifest naming a 16 MiB PDF that does not hash to its digest, dropped and looked at.
    func dropMismatchingJob(_ job: String, size: Int) throws {
        var manifest = try h.manifest(pdf: try h.samplePDFCopy(named: "\(job).pdf"), job: job)
        manifest.document.sha256 = String(repeating: "0", count: 64)
        try h.drop(Data(count: size), as: "\(job).pdf")
        try h.drop(manifest: manifest, as: "\(job).json")
    }

    /// A PDF that does not hash to its manifest is hashed again only when it changes: over a
    /// 12 s document timeout (the inotify event and two 5 s rescans) a 16 MiB PDF is read once,
    /// not three times; at the timeout the job fails with `document.digestMismatch`.
    func testMismatchingPDFIsHashedAgainOnlyWhenItChanges() async throws {
        let size = 16 << 20
        let before = try bytesRead()
        try dropMismatchingJob("big1", size: size)
        var intake = await h.intake("big1.json")
        XCTAssertEqual(intake, .waiting, "a PDF that does not (yet) match its digest is waited for")
        await h.advance(by: 5)
        await h.advance(by: 5)
        XCTAssertNil(h.outcome(of: "big1"), "within the document timeout the job waits")
        let read = try bytesRead() - before
        XCTAssertLessThan(read, 2 * size, "the unchanged PDF was hashed again at every rescan (\(read) bytes read)")
        XCTAssertGreaterThanOrEqual(read, size, "the PDF was hashed at least once")

        h.clock.advance(by: 2)
        intake = await h.intake("big1.json")
        XCTAssertEqual(intake, .rejected(code: "document.digestMismatch"))
        XCTAssertEqual(h.outcome(of: "big1"), .failed(code: "document.digestMismatch"), h.spoolListing())
        XCTAssertTrue(h.exists(h.failed + "/big1.pdf"), "the PDF is kept in failed/")
        XCTAssertTrue(h.exists(h.failed + "/big1.json"), "the manifest is kept in failed/")
    }

    /// The other half: a PDF replaced while the job waits is hashed again (and signed once it matches).
    func testReplacedPDFIsHashedAgainAndSigned() async throws {
        let size = 16 << 20
        let manifest = try h.manifest(pdf: try h.samplePDFCopy(named: "big2.pdf"), job: "big2")
        try h.drop(Data(count: size), as: "big2.pdf")
        try h.drop(manifest: manifest, as: "big2.json")
        var intake = await h.intake("big2.json")
        XCTAssertEqual(intake, .waiting)
        let before = try bytesRead()
        try h.drop(Data(count: size) + Data([1]), as: "big2.pdf")
        intake = await h.intake("big2.json")
        XCTAssertEqual(intake, .waiting)
        XCTAssertGreaterThanOrEqual(try bytesRead() - before, size, "a replaced PDF is hashed again")

        // The producer now sends the approved PDF: signed.
        try h.drop(file: PipelineHarness.samplePDF, as: "big2.pdf")
        h.clock.advance(by: 5)
        intake = await h.intake("big2.json")
        XCTAssertEqual(intake, .processed(jobId: "big2"))
        XCTAssertEqual(h.outcome(of: "big2"), .done, h.spoolListing())
    }

    /// A manifest whose PDF never comes fails with `document.missing` at the document timeout,
    /// not a second earlier; the manifest is kept.
    func testMissingPDFFailsAtTheDocumentTimeout() async throws {
        let manifest = try h.manifest(pdf: try h.samplePDFCopy(named: "absent.pdf"), job: "absent1")
        try h.drop(manifest: manifest, as: "absent1.json")
        var intake = await h.intake("absent1.json")
        XCTAssertEqual(intake, .waiting)
        h.clock.advance(by: 11)
        intake = await h.intake("absent1.json")
        XCTAssertEqual(intake, .waiting)
        h.clock.advance(by: 1)
        intake = await h.intake("absent1.json")
        XCTAssertEqual(intake, .rejected(code: "document.missing"))
        XCTAssertEqual(h.outcome(of: "absent1"), .failed(code: "document.missing"), h.spoolListing())
        XCTAssertTrue(h.exists(h.failed + "/absent1.json"), "the manifest is kept in failed/")
        XCTAssertEqual(h.entries(h.incoming), [])
    }

    /// Two manifests naming one PDF, looked at by several workers at once: one job signs it, the
    /// others wait for a PDF that no longer comes and fail with `document.missing`; their
    /// manifests are kept.
    func testTwoManifestsNamingOnePDFEndOnceEach() async throws {
        let pdf = try h.samplePDFCopy(named: "shared.pdf")
        let jobs = ["share-a", "share-b", "share-c"]
        try h.drop(file: pdf, as: "shared.pdf")
        for job in jobs {
            var manifest = try h.manifest(pdf: pdf, job: job)
            manifest.document = .init(file: "shared.pdf", sha256: PipelineHarness.sampleDigest)
            try h.drop(manifest: manifest, as: "\(job).json")
        }
        let pipeline = h.pipeline
        let results = await withTaskGroup(of: (String, IntakeResult).self) { group in
            for job in jobs { group.addTask { (job, await pipeline.intake(manifestName: "\(job).json")) } }
            var out: [String: IntakeResult] = [:]
            for await (job, result) in group { out[job] = result }
            return out
        }
        XCTAssertEqual(results.values.filter { if case .processed = $0 { true } else { false } }.count, 1, "\(results)")
        // The rescans until the document timeout has passed for the waiting ones.
        for _ in 0..<4 { await h.advance(by: 6) }
        let outcomes = Dictionary(uniqueKeysWithValues: jobs.map { ($0, h.outcome(of: $0)) })
        XCTAssertEqual(outcomes.values.filter { $0 == .done }.count, 1, "exactly one job signs the shared PDF: \(outcomes)\n\(h.spoolListing())")
        for (job, outcome) in outcomes where outcome != .done {
            XCTAssertEqual(outcome, .failed(code: "document.missing"), "\(job)\n\(h.spoolListing())")
            XCTAssertTrue(h.exists(h.failed + "/\(job).json"), "the manifest of \(job) is kept in failed/\n\(h.spoolListing())")
        }
        XCTAssertEqual(h.entries(h.work), [], "nothing stranded in work/")
        XCTAssertEqual(h.entries(h.incoming).filter { !$0.hasPrefix(".") }, [], "nothing left in incoming/")
    }
}
