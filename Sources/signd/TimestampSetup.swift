import ArgumentParser
import Foundation
import SigndCore
import SigndHTTP
import SwiftASN1
import Timestamping
import X509

/// TSA options shared by commands that timestamp.
struct TimestampOptions: ParsableArguments {
    @Option(name: .customLong("tsa"), help: "RFC 3161 TSA URL; repeat for failover. Default for B-T: the embedded TSA (in-process).")
    var urls: [String] = []
    @Option(name: .customLong("tsa-trust"), help: "PEM file of TSA trust anchors (default: the embedded TSA's root).")
    var trust: String?
    @Option(name: .customLong("tsa-policy"), help: "Policy OID to request from the TSA.")
    var policy: String?
    @Option(name: .customLong("tsa-timeout"), help: "Seconds to wait for each TSA answer.")
    var timeout: Double = 10
    @Option(name: .customLong("tsa-user"), help: "HTTP Basic user for the TSA (password from SIGND_TSA_PASSWORD).")
    var user: String?
    @Option(name: .customLong("tsa-client-cert"), help: "PEM client certificate for TLS to the TSA.")
    var clientCert: String?
    @Option(name: .customLong("tsa-client-key"), help: "PEM private key for --tsa-client-cert.")
    var clientKey: String?

    /// Trust anchors: --tsa-trust, else the embedded TSA root in the data directory.
    func anchors(dataDirectory: String) throws -> [Certificate] {
        if let trust { return try KeyFiles.certificates(path: trust) }
        let root = dataDirectory + "/tsa/root.pem"
        return FileManager.default.fileExists(atPath: root) ? try KeyFiles.certificates(path: root) : []
    }

    func makeClient(dataDirectory: String) throws -> TimestampClient {
        let transport: any TimestampTransport
        var urls = self.urls
        if urls.isEmpty {
            let identity = try Composition.tsaIdentity(dataDirectory: dataDirectory, configuration: try SigndConfiguration.load(path: nil))
            transport = InProcessTransport(authority: identity.authority(dataDirectory: dataDirectory))
            urls = ["embedded:\(dataDirectory)/tsa"]
        } else {
            let password = ProcessInfo.processInfo.environment["SIGND_TSA_PASSWORD"] ?? ""
            transport = try HTTPTimestampTransport(basicCredentials: user.map { ($0, password) },
                                                   clientCertificatePEM: clientCert, clientKeyPEM: clientKey)
        }
        var config = TimestampClientConfiguration(urls: urls, validator: TimestampTokenValidator(trustAnchors: try anchors(dataDirectory: dataDirectory)))
        config.requestTimeout = timeout
        if let policy {
            guard let oid = try? ASN1ObjectIdentifier(dotRepresentation: policy) else { throw ValidationError("--tsa-policy must be a dotted OID") }
            config.policy = oid
        }
        return TimestampClient(configuration: config, transport: transport)
    }
}
