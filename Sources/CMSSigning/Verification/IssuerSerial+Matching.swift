import CMSStructures
import X509

extension IssuerSerial {
    /// Whether this IssuerSerial names `certificate` (issuer directory name and serial number).
    public func matches(_ certificate: Certificate) -> Bool {
        serialNumber == certificate.serialNumber && issuerDirectoryName == certificate.issuer
    }
}
