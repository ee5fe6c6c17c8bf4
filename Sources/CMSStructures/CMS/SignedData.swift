import SwiftASN1
import X509

/// ``SignedData`` is defined in RFC 5652 §5.1 as:
///
/// ```
/// SignedData ::= SEQUENCE {
///     version CMSVersion,
///     digestAlgorithms DigestAlgorithmIdentifiers,
///     encapContentInfo EncapsulatedContentInfo,
///     certificates [0] IMPLICIT CertificateSet OPTIONAL,
///     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
///     signerInfos SignerInfos }
///
/// DigestAlgorithmIdentifiers ::= SET OF DigestAlgorithmIdentifier
/// SignerInfos ::= SET OF SignerInfo
/// CertificateSet ::= SET OF CertificateChoices
/// CertificateChoices ::= CHOICE {
///     certificate Certificate,
///     extendedCertificate [0] IMPLICIT ExtendedCertificate,  -- Obsolete
///     v1AttrCert [1] IMPLICIT AttributeCertificateV1,        -- Obsolete
///     v2AttrCert [2] IMPLICIT AttributeCertificateV2,
///     other [3] IMPLICIT OtherCertificateFormat }
/// RevocationInfoChoices ::= SET OF RevocationInfoChoice
/// RevocationInfoChoice ::= CHOICE {
///     crl CertificateList,
///     other [1] IMPLICIT OtherRevocationInfoFormat }
/// ```
///
/// Invariants:
/// - ``version`` is computed from the content with the rules of RFC 5652 §5.1 (5 if an `other`
///   certificate or revocation format is present; else 4 if a v2 attribute certificate is
///   present; else 3 if a v1 attribute certificate is present, any SignerInfo is version 3, or
///   eContentType is not id-data; else 1). Parsing rejects any other received value with
///   `cms.unsupportedVersion`.
/// - ``certificates`` and ``crls`` hold each `CertificateChoices` / `RevocationInfoChoice`
///   element as raw DER (`ASN1Any`) so certificate bytes are preserved exactly. They are
///   serialized in stored order. The building initialisers and ``setCertificates(_:)`` /
///   ``setCRLs(_:)`` store them in DER SET order; parsing keeps the received order because
///   widely deployed producers (e.g. OpenSSL time-stamp tokens) emit the certificate SET
///   unsorted. This is the only leniency: every other SET OF must be in DER order
///   (`cms.notDER` otherwise).
/// - ``digestAlgorithms`` and ``signerInfos`` are serialized with `serializeSetOf` (DER order).
public struct SignedData: DERImplicitlyTaggable, CMSDERCodable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    static let certificatesTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    static let crlsTag = ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)

    public var digestAlgorithms: [CMSAlgorithmIdentifier]
    public var encapContentInfo: EncapsulatedContentInfo
    /// Raw `CertificateChoices` elements, or `nil` when the field is absent.
    public private(set) var certificates: [ASN1Any]?
    /// Raw `RevocationInfoChoice` elements, or `nil` when the field is absent.
    public private(set) var crls: [ASN1Any]?
    public var signerInfos: [SignerInfo]

    /// Builds a `SignedData`. `certificates` and `crls` are stored in DER SET order.
    public init(
        digestAlgorithms: [CMSAlgorithmIdentifier],
        encapContentInfo: EncapsulatedContentInfo,
        certificates: [ASN1Any]? = nil,
        crls: [ASN1Any]? = nil,
        signerInfos: [SignerInfo]
    ) throws {
        self.digestAlgorithms = digestAlgorithms
        self.encapContentInfo = encapContentInfo
        self.signerInfos = signerInfos
        try self.setCertificates(certificates)
        try self.setCRLs(crls)
    }

    /// Builds a `SignedData` carrying X.509 certificates (stored in DER SET order).
    public init(
        digestAlgorithms: [CMSAlgorithmIdentifier],
        encapContentInfo: EncapsulatedContentInfo,
        x509Certificates: [Certificate],
        crls: [ASN1Any]? = nil,
        signerInfos: [SignerInfo]
    ) throws {
        try self.init(
            digestAlgorithms: digestAlgorithms,
            encapContentInfo: encapContentInfo,
            certificates: try x509Certificates.map { try ASN1Any(erasing: $0) },
            crls: crls,
            signerInfos: signerInfos
        )
    }

    private init(
        digestAlgorithms: [CMSAlgorithmIdentifier],
        encapContentInfo: EncapsulatedContentInfo,
        receivedCertificates: [ASN1Any]?,
        receivedCRLs: [ASN1Any]?,
        signerInfos: [SignerInfo]
    ) {
        self.digestAlgorithms = digestAlgorithms
        self.encapContentInfo = encapContentInfo
        self.certificates = receivedCertificates
        self.crls = receivedCRLs
        self.signerInfos = signerInfos
    }

    /// Replaces ``certificates`` (stored in DER SET order). `nil` removes the field.
    public mutating func setCertificates(_ certificates: [ASN1Any]?) throws {
        self.certificates = try certificates.map { try CMSDER.sortedInSetOrder($0) }
    }

    /// Replaces ``crls`` (stored in DER SET order). `nil` removes the field.
    public mutating func setCRLs(_ crls: [ASN1Any]?) throws {
        self.crls = try crls.map { try CMSDER.sortedInSetOrder($0) }
    }

    /// The `CMSVersion` required by RFC 5652 §5.1 for the current content.
    public var version: Int {
        let certificateTags = (self.certificates ?? []).compactMap { $0.cmsFirstIdentifierOctet }
        let crlTags = (self.crls ?? []).compactMap { $0.cmsFirstIdentifierOctet }
        if certificateTags.contains(0xA3) || crlTags.contains(0xA1) {
            return 5
        }
        if certificateTags.contains(0xA2) {
            return 4
        }
        if certificateTags.contains(0xA1)
            || self.signerInfos.contains(where: { $0.version == 3 })
            || self.encapContentInfo.eContentType != CMSObjectIdentifiers.idData
        {
            return 3
        }
        return 1
    }

    /// The plain X.509 certificates among ``certificates`` (the `certificate` alternative), in
    /// stored order. Attribute certificates and other formats are skipped.
    ///
    /// - Throws: ``CMSStructuresError`` if a certificate does not parse.
    public func x509Certificates() throws -> [Certificate] {
        try (self.certificates ?? []).filter { $0.cmsFirstIdentifierOctet == 0x30 }.map { element in
            do {
                return try Certificate(derEncoded: element.cmsDERBytes)
            } catch {
                throw CMSStructuresError.malformed(String(describing: error), type: "SignedData", field: "certificates")
            }
        }
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let typeName = "SignedData"
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try CMSDER.integer(CMSDER.next(&nodes, type: typeName, field: "version"), type: typeName, field: "version")
            let digestAlgorithms = try CMSDER.setOf(
                CMSAlgorithmIdentifier.self,
                node: CMSDER.next(&nodes, type: typeName, field: "digestAlgorithms"),
                type: typeName,
                field: "digestAlgorithms"
            )
            let encapContentInfo = try EncapsulatedContentInfo(derEncoded: &nodes)

            var certificates: [ASN1Any]?
            if let node = CMSDER.nextIfPresent(&nodes, identifier: Self.certificatesTag) {
                let children = try CMSDER.constructedChildren(of: node, identifier: Self.certificatesTag, type: typeName, field: "certificates")
                certificates = try children.map { child in
                    switch child.identifier {
                    case .sequence,
                        ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                        ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific),
                        ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific),
                        ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific):
                        guard case .constructed = child.content else {
                            throw CMSStructuresError.malformed("CertificateChoices must be constructed", type: typeName, field: "certificates")
                        }
                        return ASN1Any(derEncoded: child)
                    default:
                        throw CMSStructuresError.malformed("unexpected CertificateChoices tag \(child.identifier)", type: typeName, field: "certificates")
                    }
                }
            }

            var crls: [ASN1Any]?
            if let node = CMSDER.nextIfPresent(&nodes, identifier: Self.crlsTag) {
                let children = try CMSDER.constructedChildren(of: node, identifier: Self.crlsTag, type: typeName, field: "crls")
                crls = try children.map { child in
                    switch child.identifier {
                    case .sequence, ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific):
                        guard case .constructed = child.content else {
                            throw CMSStructuresError.malformed("RevocationInfoChoice must be constructed", type: typeName, field: "crls")
                        }
                        return ASN1Any(derEncoded: child)
                    default:
                        throw CMSStructuresError.malformed("unexpected RevocationInfoChoice tag \(child.identifier)", type: typeName, field: "crls")
                    }
                }
            }

            let signerInfos = try CMSDER.setOf(
                SignerInfo.self,
                node: CMSDER.next(&nodes, type: typeName, field: "signerInfos"),
                type: typeName,
                field: "signerInfos"
            )

            let signedData = SignedData(
                digestAlgorithms: digestAlgorithms,
                encapContentInfo: encapContentInfo,
                receivedCertificates: certificates,
                receivedCRLs: crls,
                signerInfos: signerInfos
            )
            guard version == signedData.version else {
                throw CMSStructuresError.unsupportedVersion(version, expected: signedData.version, type: typeName)
            }
            return signedData
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(self.version)
            try coder.serializeSetOf(self.digestAlgorithms, identifier: .set)
            try coder.serialize(self.encapContentInfo)
            if let certificates = self.certificates {
                try coder.serializeSequenceOf(certificates, identifier: Self.certificatesTag)
            }
            if let crls = self.crls {
                try coder.serializeSequenceOf(crls, identifier: Self.crlsTag)
            }
            try coder.serializeSetOf(self.signerInfos, identifier: .set)
        }
    }
}

extension SignedData {
    /// `self` wrapped in a `ContentInfo` of type `id-signedData`; same as
    /// `ContentInfo(signedData:)`.
    public func contentInfo() throws -> ContentInfo {
        try ContentInfo(signedData: self)
    }
}
