import X509

/// The extensions of an end-entity certificate under a profile, in this order:
/// basicConstraints CA:FALSE (critical, RFC 5280 4.2.1.9), keyUsage (critical, 4.2.1.3),
/// extendedKeyUsage (4.2.1.12, critical if the profile says so), subjectKeyIdentifier
/// (4.2.1.2), authorityKeyIdentifier (4.2.1.1), cRLDistributionPoints (4.2.1.13),
/// authorityInfoAccess with OCSP / caIssuers (4.2.2.1), certificatePolicies (4.2.1.4).
enum EndEntityExtensions {
    static func make(profile: CertificateProfile, subjectKey: Certificate.PublicKey, issuerKeyIdentifier: [UInt8]) throws -> Certificate.Extensions {
        let ekus = try profile.extendedKeyUsageOIDs()
        let policies = try profile.policyOIDs()
        var access: [AuthorityInformationAccess.AccessDescription] = []
        if let ocsp = profile.ocspURL { access.append(.init(method: .ocspServer, location: .uniformResourceIdentifier(ocsp))) }
        if let issuers = profile.caIssuersURL { access.append(.init(method: .issuingCA, location: .uniformResourceIdentifier(issuers))) }
        return try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsageFlag.keyUsage(profile.keyUsage))
            if let ekus {
                if profile.extendedKeyUsageCritical {
                    Critical(try ExtendedKeyUsage(ekus.map { ExtendedKeyUsage.Usage(oid: $0) }))
                } else {
                    try ExtendedKeyUsage(ekus.map { ExtendedKeyUsage.Usage(oid: $0) })
                }
            }
            SubjectKeyIdentifier(keyIdentifier: KeyIdentifier.sha1(subjectKey)[...])
            AuthorityKeyIdentifier(keyIdentifier: issuerKeyIdentifier[...])
            if let crl = profile.crlDistributionPointURL { CRLDistributionPoints(uris: [crl]) }
            if !access.isEmpty { AuthorityInformationAccess(access) }
            if !policies.isEmpty { CertificatePolicies(policies: policies) }
        }
    }
}
