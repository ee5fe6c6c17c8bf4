#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import XCTest

/// Signals and idling.
final class OperationsTests: DaemonTestCase {
    func testSIGTERMWhileIdleExitsZeroWithinTenSeconds() throws {
        let daemon = try fixture.startDaemon(listen: "127.0.0.1:0")
        Thread.sleep(forTimeInterval: 0.3)
        let start = Date()
        daemon.send(SIGTERM)
        let status = daemon.waitForExit(timeout: 10)
        XCTAssertNotNil(status, "still running 10 s after SIGTERM\n\(fixture.logs)")
        XCTAssertEqual(status, 0, fixture.logs)
        XCTAssertEqual(daemon.process.terminationReason, .exit, "ended by its own exit, not by a signal")
        print("SIGTERM to exit: \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    }

    /// SIGTERM with jobs queued: the daemon stops within the deadline with status 0 and leaves
    /// every job either finished or untouched for the next start (nothing half done).
    func testSIGTERMDuringBatchLeavesNothingHalfDone() throws {
        let f = fixture!
        var jobs: [String] = []
        for n in 0..<10 { jobs.append(try f.submit(level: "B-T", job: "term-\(n)")) }
        let daemon = try f.startDaemon(waitUntilReady: false)
        f.waitUntil(timeout: 15) { jobs.contains { f.outcome(of: $0) != nil } }
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, f.logs)
        for job in jobs where f.outcome(of: job) == .done {
            XCTAssertTrue(f.exists(f.done + "/\(job).pdf"), job)
        }
        let restarted = try f.startDaemon()
        XCTAssertTrue(f.waitUntil(timeout: 30) { jobs.allSatisfy { f.outcome(of: $0) != nil } }, f.spoolListing())
        XCTAssertEqual(f.stop(restarted), 0)
        XCTAssertEqual(jobs.map { f.outcome(of: $0) }, jobs.map { _ in JobOutcome.done })
        XCTAssertEqual(f.entries(f.work), [])
    }

    func testIdleDaemonUsesNoCPU() throws {
        let daemon = try fixture.startDaemon(listen: "127.0.0.1:0")
        Thread.sleep(forTimeInterval: 1.0)  // let start-up work settle
        let before = try daemon.cpuTicks()
        Thread.sleep(forTimeInterval: 3.0)
        let after = try daemon.cpuTicks()
        let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
        print("idle CPU over 3 s: \(after - before) ticks (\(ticksPerSecond)/s)")
        XCTAssertLessThanOrEqual(after - before, 3, "the idle daemon used \(after - before) clock ticks in 3 s: busy polling?")
        XCTAssertEqual(fixture.stop(daemon), 0)
    }
}
