import Foundation
import TestSupport
import XCTest

/// Per-spool defaults (`spools[].level`, `spools[].appearance`) as `signd run` reads them from
/// its configuration: without configuration the default spool signs B-T, and invalid defaults
/// stop the daemon with a clear error. How the pipeline applies defaults (filling, never
/// overriding, the approval covering them, a resumed job under another default) runs
/// in-process: InProcess/SpoolDefaultsPipelineTests.swift.
final class SpoolDefaultsTests: DaemonTestCase {
    func testDefaultLevelIsBTAndInvalidSpoolDefaultsStopTheDaemon() throws {
        let f = fixture!
        // Without configuration the default spool signs B-T (a B-T approval, no level in the manifest).
        let daemon = try f.startDaemon()
        var manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "def-bt.pdf"), job: "def-bt", level: "B-T")
        manifest.removeValue(forKey: "level")
        try f.drop(file: f.root + "/def-bt.pdf", as: "def-bt.pdf")
        try f.drop(manifest: manifest, as: "def-bt.json")
        XCTAssertEqual(try f.waitForOutcome(of: "def-bt"), .done, f.spoolListing())
        XCTAssertEqual(f.stop(daemon), 0)
        let out = try f.signd(["verify", f.done + "/def-bt.pdf", "--json", "--trust", try f.caRootPath(), "--data-dir", f.dataDir])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], out.stdout)
        let last = try XCTUnwrap((object["signatures"] as? [[String: Any]])?.last, out.stdout)
        XCTAssertEqual(last["level"] as? String, "B-T")

        for (config, needle) in [(#"{"spools":[{"name":"default","level":"B-LT"}]}"#, "level is 'B-LT'; use B-B or B-T"),
                                 (#"{"spools":[{"name":"default","appearance":{"fieldName":"a.b"}}]}"#, "appearance")] {
            let daemon = try f.startDaemon(configuration: config, waitUntilReady: false)
            let status = daemon.waitForExit(timeout: 20)
            XCTAssertEqual(status, 2, "\(config)\n\(daemon.log)")
            XCTAssertTrue(daemon.log.contains("config.invalidValue") && daemon.log.contains(needle), "\(config)\n\(daemon.log)")
        }
    }
}
