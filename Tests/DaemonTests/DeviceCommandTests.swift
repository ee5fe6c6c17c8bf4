import Foundation
import XCTest

/// `signd device remove` revokes the device's certificates through the CA its configuration
/// names (issue 14: it read only $SIGND_CONFIG, so `--config` naming EJBCA was ignored and the
/// embedded CA was used).
final class DeviceCommandTests: DaemonTestCase {
    func testDeviceRemoveRevokesThroughTheCAOfItsConfiguration() throws {
        let f = fixture!
        // EJBCA on a port nobody listens on: the revocation must be tried there, and fail.
        let config = f.root + "/ejbca.json"
        let ejbca: [String: Any] = ["ca": ["kind": "ejbca", "ejbca": [
            "baseURL": "https://127.0.0.1:9/ejbca/ejbca-rest-api", "certificateProfileName": "signd",
            "endEntityProfileName": "signd", "certificateAuthorityName": "signd", "certificateAuthorityDN": "CN=signd"]]]
        try JSONSerialization.data(withJSONObject: ejbca).write(to: URL(fileURLWithPath: config))
        setenv("SIGND_EJBCA_ENROLLMENT_PASSWORD", "unused-in-this-test", 1)
        defer { unsetenv("SIGND_EJBCA_ENROLLMENT_PASSWORD") }

        let out = try f.signd(["device", "remove", "--device", f.device, "--data-dir", f.dataDir, "--config", config])
        XCTAssertEqual(out.status, 1, "the revocation must be tried at the configured EJBCA and fail there: \(out.stdout)\n\(out.stderr)")
        XCTAssertTrue(out.stderr.contains("not revoked"), out.stderr)
        let status = try f.sqlite(f.dataDir + "/state.sqlite", "SELECT status FROM certificate WHERE deviceId = '\(f.device)'")
        XCTAssertFalse(status.stdout.contains("revoked"), "the embedded CA must not have revoked it: \(status.stdout)")
        // Run again without the EJBCA configuration: the embedded CA revokes it.
        let again = try f.signd(["device", "remove", "--device", f.device, "--data-dir", f.dataDir])
        XCTAssertEqual(again.status, 0, "\(again.stdout)\n\(again.stderr)")
        XCTAssertTrue(again.stdout.contains("revoked certificate"), again.stdout)
    }
}
