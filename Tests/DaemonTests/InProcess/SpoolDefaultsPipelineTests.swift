import Daemon
import Foundation
import JobEngine
import Jobs
import PAdES
import XCTest

/// A spool's defaults (level, appearance texts) fill what a sign manifest leaves out, never
/// override it, and are part of what the user approved. In-process (was SpoolDefaultsTests);
/// that the default level without configuration is B-T, and that invalid defaults stop the
/// daemon (exit 2), stay process-level in SpoolDefaultsTests.
final class SpoolDefaultsPipelineTests: XCTestCase {
    var h: PipelineHarness!

    /// What `signd run` configures for a spool without `level`: B-T (Configuration.manifestDefaults).
    static let unconfiguredDefaults = ManifestDefaults(level: .bt)

    override func tearDown() async throws {
        h = nil
        try await super.tearDown()
    }

    /// A manifest without `level` (its authorization statement approves `statementLevel`), with
    /// the appearance texts `appearance`; the statement approves them merged over
    /// `spoolDefaults`, as the daemon will resolve them. Its PDF is dropped too.
    func dropManifestWithoutLevel(job: String, statementLevel: SignatureLevel, appearance: SignManifest.Appearance? = nil,
                                  spoolDefaults: SignManifest.Appearance? = nil, edit: (inout [String: Any]) -> Void = { _ in }) throws {
        let pdf = try h.samplePDFCopy(named: "\(job).pdf")
        var manifest = try PipelineHarness.object(try h.manifest(pdf: pdf, job: job, level: statementLevel, appearance: appearance,
                                                                 spoolDefaults: spoolDefaults))
        manifest.removeValue(forKey: "level")
        edit(&manifest)
        try h.drop(file: pdf, as: "\(job).pdf")
        try h.drop(object: manifest, as: "\(job).json")
    }

    func testSpoolDefaultsFillLevelAndAppearanceButNeverOverrideTheManifest() async throws {
        let defaults = SignManifest.Appearance(reason: "Loan agreement", location: "Prague")
        h = try await PipelineHarness.make { $0.manifestDefaults = ManifestDefaults(level: .bb, appearance: defaults) }
        // Nothing given: the spool's level and texts (which the user approved, --spool-defaults).
        try dropManifestWithoutLevel(job: "def-1", statementLevel: .bb, spoolDefaults: defaults)
        // The manifest's own reason wins; location still from the spool.
        try dropManifestWithoutLevel(job: "def-2", statementLevel: .bb, appearance: .init(reason: "Mortgage"), spoolDefaults: defaults)
        await h.scan()
        XCTAssertEqual(h.outcome(of: "def-1"), .done, h.spoolListing())
        XCTAssertEqual(h.outcome(of: "def-2"), .done, h.spoolListing())

        let first = try await h.lastSignature(h.done + "/def-1.pdf")
        XCTAssertEqual(first.level, "B-B")
        XCTAssertEqual(first.reason, "Loan agreement")
        XCTAssertEqual(first.location, "Prague")
        XCTAssertEqual(try h.resultJSON(of: "def-1")["level"] as? String, "B-B")
        let second = try await h.lastSignature(h.done + "/def-2.pdf")
        XCTAssertEqual(second.reason, "Mortgage")
        XCTAssertEqual(second.location, "Prague")
    }

    /// The level is part of what the user approved: under the B-T default, a statement for B-B
    /// does not authorize a B-T signature; one for B-T is signed B-T.
    func testDefaultLevelMustMatchWhatTheUserApproved() async throws {
        h = try await PipelineHarness.make { $0.manifestDefaults = Self.unconfiguredDefaults }
        try dropManifestWithoutLevel(job: "def-bt", statementLevel: .bt)
        try dropManifestWithoutLevel(job: "def-mismatch", statementLevel: .bb)
        await h.scan()
        XCTAssertEqual(h.outcome(of: "def-bt"), .done, h.spoolListing())
        let mismatch = h.outcome(of: "def-mismatch")
        XCTAssertNotNil(mismatch, h.spoolListing())
        let signed = try await h.lastSignature(h.done + "/def-bt.pdf")
        XCTAssertEqual(signed.level, "B-T")
        XCTAssertNotEqual(mismatch, .done, "a B-B approval must not authorize a B-T signature")
        XCTAssertFalse(h.exists(h.done + "/def-mismatch.pdf"))
        XCTAssertTrue(h.exists(h.failed + "/def-mismatch.pdf"), "the original stays in failed/")
    }

    /// Issue 11 §2: the approval covers the appearance. Text changed in the manifest after the
    /// approval, and spool defaults the approval did not cover, are refused; nothing is signed.
    func testAppearanceTheUserDidNotApproveIsRefused() async throws {
        let spoolDefaults = SignManifest.Appearance(location: "Prague")
        h = try await PipelineHarness.make { $0.manifestDefaults = ManifestDefaults(level: .bt, appearance: spoolDefaults) }
        // Approved "Loan agreement" (over the spool's location), then the manifest was changed.
        try dropManifestWithoutLevel(job: "app-changed", statementLevel: .bt, appearance: .init(reason: "Loan agreement"),
                                     spoolDefaults: spoolDefaults) { $0["appearance"] = ["reason": "Loan agreement and a mortgage"] }
        // Approved without knowing the spool's default location.
        try dropManifestWithoutLevel(job: "app-default", statementLevel: .bt, appearance: .init(reason: "Loan agreement"))
        // Approved over exactly what is signed.
        try dropManifestWithoutLevel(job: "app-ok", statementLevel: .bt, appearance: .init(reason: "Loan agreement"), spoolDefaults: spoolDefaults)
        await h.scan()
        XCTAssertEqual(h.outcome(of: "app-ok"), .done, h.spoolListing())
        for job in ["app-changed", "app-default"] {
            XCTAssertEqual(h.outcome(of: job), .failed(code: "sca.denied"), "\(job)\n" + h.spoolListing())
            XCTAssertFalse(h.exists(h.done + "/\(job).pdf"))
            XCTAssertEqual(try h.auditCodes(job: job, type: "job.denied"), ["sca.appearanceMismatch"], job)
        }
        let signed = try await h.lastSignature(h.done + "/app-ok.pdf")
        XCTAssertEqual(signed.reason, "Loan agreement")
        XCTAssertEqual(signed.location, "Prague")
    }

    /// A job claimed and authorized under one default level, resumed after a restart with
    /// another default: it must not be signed at a level the user did not approve.
    func testResumedJobIsNotSignedAtALevelNobodyApproved() async throws {
        h = try await PipelineHarness.make { $0.manifestDefaults = ManifestDefaults(level: .bb) }
        var manifest = try PipelineHarness.object(try h.manifest(pdf: try h.samplePDFCopy(named: "lv.pdf"), job: "lv-1", level: .bb))
        manifest.removeValue(forKey: "level")
        try FileManager.default.copyItem(atPath: PipelineHarness.samplePDF, toPath: h.layout.workFiles("lv-1").document)
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: h.layout.workFiles("lv-1").manifest))
        // Authorized (its nonce consumed) while the spool's default was B-B.
        try h.insertJob("lv-1", state: .authorized)

        // Restarted with no configuration: the default level is now B-T.
        try await h.restart { $0.manifestDefaults = Self.unconfiguredDefaults }
        XCTAssertEqual(h.outcome(of: "lv-1"), .failed(code: "sca.denied"), h.spoolListing())
        XCTAssertFalse(h.exists(h.done + "/lv-1.pdf"))
        XCTAssertEqual(try h.auditCodes(job: "lv-1", type: "job.denied"), ["sca.levelMismatch"])
    }
}
