import Foundation
import TestSupport
import XCTest

/// Per-spool defaults (`spools[].level`, `spools[].appearance`) for what a sign manifest leaves
/// out, through the real `signd run`.
final class SpoolDefaultsTests: DaemonTestCase {
    /// The signature report of `signd verify --json` for the last signature of `pdf`.
    func lastSignature(_ pdf: String) throws -> [String: Any] {
        let f = fixture!
        let out = try f.signd(["verify", pdf, "--json", "--trust", try f.caRootPath(), "--data-dir", f.dataDir])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], out.stdout)
        return try XCTUnwrap((object["signatures"] as? [[String: Any]])?.last, out.stdout)
    }

    /// A manifest without `level` (its authorization statement approves `statementLevel`), with
    /// the appearance texts `appearance` (`--reason`, ...). The statement approves them merged over
    /// `spoolDefaults` (the spool's `appearance` JSON), as the daemon will resolve them.
    func manifestWithoutLevel(job: String, statementLevel: String, appearance: [String: String]? = nil,
                              spoolDefaults: String? = nil) throws -> [String: Any] {
        let f = fixture!
        var extra: [String] = []
        for (key, value) in appearance ?? [:] {
            let option = ["reason": "--reason", "location": "--location", "contactInfo": "--contact", "name": "--name", "fieldName": "--field"][key]!
            extra += [option, value]
        }
        if let spoolDefaults { extra += ["--spool-defaults", spoolDefaults] }
        var manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "\(job).pdf"), job: job, level: statementLevel, extra: extra)
        manifest.removeValue(forKey: "level")
        try f.drop(file: f.root + "/\(job).pdf", as: "\(job).pdf")
        return manifest
    }

    func testSpoolDefaultsFillLevelAndAppearanceButNeverOverrideTheManifest() throws {
        let f = fixture!
        let defaults = #"{"reason":"Loan agreement","location":"Prague"}"#
        let config = #"{"spools":[{"name":"default","level":"B-B","appearance":"# + defaults + "}]}"
        let daemon = try f.startDaemon(configuration: config)
        // Nothing given: the spool's level and texts (which the user approved, --spool-defaults).
        try f.drop(manifest: try manifestWithoutLevel(job: "def-1", statementLevel: "B-B", spoolDefaults: defaults), as: "def-1.json")
        // The manifest's own reason wins; location still from the spool.
        try f.drop(manifest: try manifestWithoutLevel(job: "def-2", statementLevel: "B-B", appearance: ["reason": "Mortgage"],
                                                      spoolDefaults: defaults), as: "def-2.json")
        XCTAssertEqual(try f.waitForOutcome(of: "def-1"), .done, f.spoolListing())
        XCTAssertEqual(try f.waitForOutcome(of: "def-2"), .done, f.spoolListing())
        XCTAssertEqual(f.stop(daemon), 0)

        let first = try lastSignature(f.done + "/def-1.pdf")
        XCTAssertEqual(first["level"] as? String, "B-B")
        XCTAssertEqual(first["reason"] as? String, "Loan agreement")
        XCTAssertEqual(first["location"] as? String, "Prague")
        XCTAssertEqual(try f.resultJSON(of: "def-1")["level"] as? String, "B-B")
        let second = try lastSignature(f.done + "/def-2.pdf")
        XCTAssertEqual(second["reason"] as? String, "Mortgage")
        XCTAssertEqual(second["location"] as? String, "Prague")
    }

    /// Without configuration the default spool signs B-T. The level is part of what the user
    /// approved: a statement for B-B does not authorize the spool's B-T default.
    func testDefaultLevelIsBTAndMustMatchWhatTheUserApproved() throws {
        let f = fixture!
        let daemon = try f.startDaemon()
        try f.drop(manifest: try manifestWithoutLevel(job: "def-bt", statementLevel: "B-T"), as: "def-bt.json")
        try f.drop(manifest: try manifestWithoutLevel(job: "def-mismatch", statementLevel: "B-B"), as: "def-mismatch.json")
        XCTAssertEqual(try f.waitForOutcome(of: "def-bt"), .done, f.spoolListing())
        let mismatch = try f.waitForOutcome(of: "def-mismatch")
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(try lastSignature(f.done + "/def-bt.pdf")["level"] as? String, "B-T")
        XCTAssertNotEqual(mismatch, .done, "a B-B approval must not authorize a B-T signature")
        XCTAssertFalse(f.exists(f.done + "/def-mismatch.pdf"))
        XCTAssertTrue(f.exists(f.failed + "/def-mismatch.pdf"), "the original stays in failed/")
    }

    /// Issue 11 §2: the approval covers the appearance. Text changed in the manifest after the
    /// approval, and spool defaults the approval did not cover, are refused; nothing is signed.
    func testAppearanceTheUserDidNotApproveIsRefused() throws {
        let f = fixture!
        let config = #"{"spools":[{"name":"default","appearance":{"location":"Prague"}}]}"#
        let daemon = try f.startDaemon(configuration: config)
        // Approved "Loan agreement" (over the spool's location), then the manifest was changed.
        var changed = try manifestWithoutLevel(job: "app-changed", statementLevel: "B-T", appearance: ["reason": "Loan agreement"],
                                               spoolDefaults: #"{"location":"Prague"}"#)
        changed["appearance"] = ["reason": "Loan agreement and a mortgage"]
        try f.drop(manifest: changed, as: "app-changed.json")
        // Approved without knowing the spool's default location.
        try f.drop(manifest: try manifestWithoutLevel(job: "app-default", statementLevel: "B-T", appearance: ["reason": "Loan agreement"]),
                   as: "app-default.json")
        // Approved over exactly what is signed.
        try f.drop(manifest: try manifestWithoutLevel(job: "app-ok", statementLevel: "B-T", appearance: ["reason": "Loan agreement"],
                                                      spoolDefaults: #"{"location":"Prague"}"#), as: "app-ok.json")
        let changedOutcome = try f.waitForOutcome(of: "app-changed")
        let defaultOutcome = try f.waitForOutcome(of: "app-default")
        XCTAssertEqual(try f.waitForOutcome(of: "app-ok"), .done, f.spoolListing())
        XCTAssertEqual(f.stop(daemon), 0)
        for (job, outcome) in [("app-changed", changedOutcome), ("app-default", defaultOutcome)] {
            XCTAssertEqual(outcome, .failed(code: "sca.denied"), "\(job)\n" + f.spoolListing())
            XCTAssertFalse(f.exists(f.done + "/\(job).pdf"))
            let codes = try f.auditEvents(job: job, type: "job.denied").map { DaemonFixture.details($0)["code"] ?? "?" }
            XCTAssertEqual(codes, ["sca.appearanceMismatch"], job)
        }
        let signed = try lastSignature(f.done + "/app-ok.pdf")
        XCTAssertEqual(signed["reason"] as? String, "Loan agreement")
        XCTAssertEqual(signed["location"] as? String, "Prague")
    }

    func testInvalidSpoolDefaultsStopTheDaemonWithAClearError() throws {
        let f = fixture!
        for (config, needle) in [(#"{"spools":[{"name":"default","level":"B-LT"}]}"#, "level is 'B-LT'; use B-B or B-T"),
                                 (#"{"spools":[{"name":"default","appearance":{"fieldName":"a.b"}}]}"#, "appearance")] {
            let daemon = try f.startDaemon(configuration: config, waitUntilReady: false)
            let status = daemon.waitForExit(timeout: 20)
            XCTAssertEqual(status, 2, "\(config)\n\(daemon.log)")
            XCTAssertTrue(daemon.log.contains("config.invalidValue") && daemon.log.contains(needle), "\(config)\n\(daemon.log)")
        }
    }
}

extension SpoolDefaultsTests {
    /// A job claimed and authorized under one default level, resumed after a restart with
    /// another default: it must not be signed at a level the user did not approve.
    func testResumedJobIsNotSignedAtALevelNobodyApproved() throws {
        let f = fixture!
        var manifest = try f.manifest(pdf: try f.samplePDFCopy(named: "lv.pdf"), job: "lv-1", level: "B-B")
        manifest.removeValue(forKey: "level")
        try FileManager.default.copyItem(atPath: DaemonFixture.samplePDF, toPath: f.work + "/lv-1.document.pdf")
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: f.work + "/lv-1.manifest.json"))
        // Authorized (its nonce consumed) while the spool's default was B-B.
        let sql = f.jobRowSQL("lv-1", state: "authorized", documentSha256: CrashWindowTests.sampleDigest)
        let out = try f.sqlite(f.dataDir + "/state.sqlite", sql)
        XCTAssertEqual(out.status, 0, ProcessRunner.describe(out, "sqlite3"))

        // Restarted with no configuration: the default level is now B-T.
        let daemon = try f.startDaemon()
        let outcome = try f.waitForOutcome(of: "lv-1", timeout: 15)
        XCTAssertEqual(f.stop(daemon), 0)
        XCTAssertEqual(outcome, .failed(code: "sca.denied"), f.spoolListing())
        XCTAssertFalse(f.exists(f.done + "/lv-1.pdf"))
        let denied = try f.auditEvents(job: "lv-1", type: "job.denied").map { DaemonFixture.details($0)["code"] ?? "?" }
        XCTAssertEqual(denied, ["sca.levelMismatch"])
    }
}
