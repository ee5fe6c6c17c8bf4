import Daemon
import Jobs
import SigndCore
import XCTest

/// The Daemon's error types (and ManifestError, made a SigndError in the Daemon) classify as
/// themselves, not as `internal`.
final class ClassifyDaemonErrorsTests: XCTestCase {
    func testSpoolAndManifestErrorsKeepTheirCodes() {
        let spool = classify(SpoolError("spool.io", "cannot publish done/x.pdf", retryable: true))
        XCTAssertEqual(spool.code, "spool.io")
        XCTAssertTrue(spool.retryable)
        XCTAssertEqual(classify(SpoolError(.certificateNone, "no certificate")).code, "certificate.none")
        let manifest = classify(ManifestError(code: .missingField, message: "the manifest has no \"type\""))
        XCTAssertEqual(manifest.code, "manifest.missingField")
        XCTAssertFalse(manifest.retryable)
        XCTAssertEqual(manifest.message, "the manifest has no \"type\"")
    }
}
