import CMSStructures
import Crypto
import Foundation
import PKIStructures
import SigndCore
import SwiftASN1
import X509

/// Answers RFC 6960 OCSP requests about certificates of one issuing CA, signing with that CA's
/// own key (RFC 6960 4.2.2.2: the CA that issued the certificate may sign responses itself).
///
/// - Each CertID is matched against the CA by issuerNameHash and issuerKeyHash computed with
///   the request's hash algorithm (SHA-1, SHA-256, SHA-384 or SHA-512); a CertID of another
///   issuer, with another hash algorithm, or with a serial the CA never issued is `unknown`.
/// - Known certificates are `good` or `revoked` (revocationTime and revocationReason).
/// - responderID is byKey (SHA-1 of the CA public key); producedAt and thisUpdate are the
///   response time, nextUpdate thisUpdate + `validity`; the issuing CA certificate is in `certs`.
/// - A nonce request extension (id-pkix-ocsp-nonce, RFC 6960 4.4.1, RFC 8954) is echoed
///   unchanged; a nonce longer than 32 octets is refused as malformedRequest (RFC 8954 2.1).
/// - Undecodable requests get malformedRequest, failures while answering internalError; both
///   unsigned, as RFC 6960 4.2.1 prescribes.
struct OCSPResponder: Sendable {
    static let nonceOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 2]
    static let maximumRequests = 64

    let issuer: Certificate
    let key: CASigningKey
    let validity: TimeInterval
    /// The status of a serial (canonical hex) issued by this CA: `.unknown` when never issued.
    let lookup: @Sendable (String) throws -> RevocationStatus

    func respond(to requestDER: [UInt8], now: Date) -> [UInt8] {
        let request: OCSPRequest
        do {
            request = try OCSPRequest(derEncoded: requestDER)
        } catch {
            return Self.unsuccessful(.malformedRequest)
        }
        let tbs = request.tbsRequest
        guard tbs.version == 0, (1...Self.maximumRequests).contains(tbs.requestList.count) else {
            return Self.unsuccessful(.malformedRequest)
        }
        var responseExtensions: [Certificate.Extension] = []
        if let nonce = tbs.requestExtensions.first(where: { $0.oid == Self.nonceOID }) {
            guard Self.nonceLengthIsAcceptable(nonce.value) else { return Self.unsuccessful(.malformedRequest) }
            responseExtensions.append(Certificate.Extension(oid: Self.nonceOID, critical: false, value: nonce.value))
        }
        do {
            let thisUpdate = X509Time.wholeSeconds(now)
            let responses = try tbs.requestList.map { single in
                OCSPSingleResponse(certID: single.certID, certStatus: try status(of: single.certID), thisUpdate: thisUpdate,
                                   nextUpdate: thisUpdate.addingTimeInterval(validity))
            }
            let data = OCSPResponseData(responderID: .byKey(KeyIdentifier.sha1(key.publicKey)), producedAt: thisUpdate,
                                        responses: responses, responseExtensions: responseExtensions)
            let dataBytes = try CADER.encode(data)
            let basic = BasicOCSPResponse(tbsResponseData: data, tbsResponseDataBytes: dataBytes, signatureAlgorithm: key.algorithmIdentifier,
                                          signature: try key.sign(dataBytes), certs: [issuer])
            return try CADER.encode(OCSPResponse(status: .successful, basicResponse: basic))
        } catch {
            return Self.unsuccessful(.internalError)
        }
    }

    private func status(of certID: OCSPCertID) throws -> OCSPCertStatus {
        guard let (nameHash, keyHash) = try issuerHashes(algorithm: certID.hashAlgorithm.algorithm),
              certID.issuerNameHash.bytes.elementsEqual(nameHash), certID.issuerKeyHash.bytes.elementsEqual(keyHash) else {
            return .unknown
        }
        let serial = Array(certID.serialNumber.drop { $0 == 0 })
        switch try lookup(Hex.encode(serial.isEmpty ? [0] : serial)) {
        case .good: return .good
        case .unknown: return .unknown
        case .revoked(let at, let reason): return .revoked(time: at, reason: reason)
        }
    }

    /// Hashes of the issuer's DER subject and of its public key bits, or nil for an unsupported
    /// hash algorithm.
    private func issuerHashes(algorithm: ASN1ObjectIdentifier) throws -> ([UInt8], [UInt8])? {
        let name = try CADER.encode(issuer.subject)
        let key = Array(issuer.publicKey.subjectPublicKeyInfoBytes)
        switch algorithm {
        case CMSObjectIdentifiers.sha1: return (Array(Insecure.SHA1.hash(data: name)), Array(Insecure.SHA1.hash(data: key)))
        case CMSObjectIdentifiers.sha256: return (Array(SHA256.hash(data: name)), Array(SHA256.hash(data: key)))
        case CMSObjectIdentifiers.sha384: return (Array(SHA384.hash(data: name)), Array(SHA384.hash(data: key)))
        case CMSObjectIdentifiers.sha512: return (Array(SHA512.hash(data: name)), Array(SHA512.hash(data: key)))
        default: return nil
        }
    }

    /// RFC 8954: the nonce is an OCTET STRING of 1 to 32 octets. Clients that put raw bytes
    /// (no inner OCTET STRING) into extnValue are tolerated with the same bound.
    private static func nonceLengthIsAcceptable(_ value: ArraySlice<UInt8>) -> Bool {
        if let inner = try? ASN1OctetString(derEncoded: value) { return (1...32).contains(inner.bytes.count) }
        return (1...32).contains(value.count)
    }

    static func unsuccessful(_ status: OCSPResponseStatus) -> [UInt8] {
        // Cannot fail: an ENUMERATED in a SEQUENCE.
        (try? CADER.encode(OCSPResponse(status: status))) ?? [0x30, 0x03, 0x0A, 0x01, UInt8(status.rawValue)]
    }
}
