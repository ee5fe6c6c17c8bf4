import Foundation
import SigndCore
import SwiftASN1
import X509

/// PEM output of the CA's artefacts (RFC 7468): certificates (`CERTIFICATE`) and CRLs
/// (`X509 CRL`).
public enum CAPEM {
    /// Certificates in the given order, one PEM block each.
    public static func certificates(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }

    /// A DER CRL as PEM.
    public static func crl(_ der: [UInt8]) -> String {
        PEMDocument(type: "X509 CRL", derBytes: der).pemString + "\n"
    }

    /// Writes certificates as PEM, mode 0644 (public material), atomically.
    static func write(_ certificates: [Certificate], to path: String) throws {
        let writer = try AtomicFileWriter(path: path, mode: 0o644)
        try writer.write(Array(try Self.certificates(certificates).utf8))
        try writer.commit()
    }
}
