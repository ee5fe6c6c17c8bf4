import Foundation
import PKIStructures
import X509

/// Produces signed X.509 v2 CRLs (RFC 5280 5.1) for one issuing CA: issuer = the CA's subject,
/// signature with the CA key, crlExtensions cRLNumber (5.2.3) and authorityKeyIdentifier (5.2.1),
/// entries with reasonCode (5.3.1).
struct CRLSigner: Sendable {
    let issuer: Certificate
    let key: CASigningKey

    func sign(number: Int64, thisUpdate: Date, nextUpdate: Date, entries: [RevokedCertificate]) throws -> [UInt8] {
        let tbs = TBSCertList(
            signature: key.algorithmIdentifier, issuer: issuer.subject, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
            revokedCertificates: entries,
            extensions: [try CRLExtensions.authorityKeyIdentifier(KeyIdentifier.sha1(key.publicKey)), try CRLExtensions.crlNumber(number)])
        let tbsBytes = try CADER.encode(tbs)
        let list = CertificateList(tbsCertList: tbs, tbsCertListBytes: tbsBytes, signature: try key.sign(tbsBytes))
        return try CADER.encode(list)
    }
}
