import SwiftASN1

/// Object identifiers used by CMS (RFC 5652), ESS (RFC 2634 / RFC 5035), TSP (RFC 3161) and the
/// signature / digest algorithms this module knows about.
///
/// ```
/// id-data OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs7(7) 1 }
/// id-signedData OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs7(7) 2 }
/// id-contentType OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs9(9) 3 }
/// id-messageDigest OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs9(9) 4 }
/// id-signingTime OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs9(9) 5 }
/// id-aa-signingCertificate OBJECT IDENTIFIER ::= { ... pkcs9(9) smime(16) id-aa(2) 12 }
/// id-aa-signingCertificateV2 OBJECT IDENTIFIER ::= { ... pkcs9(9) smime(16) id-aa(2) 47 }
/// id-aa-timeStampToken OBJECT IDENTIFIER ::= { ... pkcs9(9) smime(16) id-aa(2) 14 }
/// id-aa-ets-commitmentType OBJECT IDENTIFIER ::= { ... pkcs9(9) smime(16) id-aa(2) 16 }
/// id-ct-TSTInfo OBJECT IDENTIFIER ::= { ... pkcs9(9) smime(16) ct(1) 4 }
/// ```
///
/// Invariant: these values are constants taken verbatim from the RFCs; they never change.
public enum CMSObjectIdentifiers {
    // MARK: Content types

    /// `id-data` 1.2.840.113549.1.7.1
    public static let idData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]
    /// `id-signedData` 1.2.840.113549.1.7.2
    public static let idSignedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    /// `id-ct-TSTInfo` 1.2.840.113549.1.9.16.1.4
    public static let idCTTSTInfo: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 1, 4]

    // MARK: Attributes

    /// `id-contentType` 1.2.840.113549.1.9.3
    public static let contentType: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 3]
    /// `id-messageDigest` 1.2.840.113549.1.9.4
    public static let messageDigest: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 4]
    /// `id-signingTime` 1.2.840.113549.1.9.5
    public static let signingTime: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 5]
    /// `id-aa-signingCertificate` 1.2.840.113549.1.9.16.2.12
    public static let signingCertificate: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 12]
    /// `id-aa-signingCertificateV2` 1.2.840.113549.1.9.16.2.47
    public static let signingCertificateV2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 47]
    /// `id-aa-signatureTimeStampToken` (`id-aa-timeStampToken`) 1.2.840.113549.1.9.16.2.14
    public static let signatureTimeStampToken: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 14]
    /// `id-aa-ets-commitmentType` 1.2.840.113549.1.9.16.2.16
    public static let commitmentTypeIndication: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 16]

    // MARK: Digest algorithms

    /// `id-sha1` 1.3.14.3.2.26
    public static let sha1: ASN1ObjectIdentifier = [1, 3, 14, 3, 2, 26]
    /// `id-sha256` 2.16.840.1.101.3.4.2.1
    public static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
    /// `id-sha384` 2.16.840.1.101.3.4.2.2
    public static let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]
    /// `id-sha512` 2.16.840.1.101.3.4.2.3
    public static let sha512: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 3]

    // MARK: Signature algorithms

    /// `ecdsa-with-SHA256` 1.2.840.10045.4.3.2
    public static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    /// `ecdsa-with-SHA384` 1.2.840.10045.4.3.3
    public static let ecdsaWithSHA384: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 3]
    /// `ecdsa-with-SHA512` 1.2.840.10045.4.3.4
    public static let ecdsaWithSHA512: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 4]
    /// `rsaEncryption` 1.2.840.113549.1.1.1
    public static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    /// `sha256WithRSAEncryption` 1.2.840.113549.1.1.11
    public static let sha256WithRSAEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 11]
    /// `sha384WithRSAEncryption` 1.2.840.113549.1.1.12
    public static let sha384WithRSAEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 12]
    /// `sha512WithRSAEncryption` 1.2.840.113549.1.1.13
    public static let sha512WithRSAEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 13]
    /// `id-RSASSA-PSS` 1.2.840.113549.1.1.10
    public static let rsassaPSS: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 10]
    /// `id-mgf1` 1.2.840.113549.1.1.8
    public static let mgf1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 8]

    // MARK: Key purposes

    /// `id-kp-timeStamping` 1.3.6.1.5.5.7.3.8
    public static let kpTimeStamping: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 3, 8]
}
