import SwiftASN1

/// A tolerant look at a PKCS#10 request (RFC 2986 4.1-4.2) that swift-certificates refused to
/// parse, to tell *why*: an unsupported public key (RSA below 2048 bits, other curves, unknown
/// algorithms), a signature value that is not even well-formed, or a broken structure.
///
/// ```
/// CertificationRequest ::= SEQUENCE {
///     certificationRequestInfo CertificationRequestInfo,
///     signatureAlgorithm       AlgorithmIdentifier,
///     signature                BIT STRING }
/// CertificationRequestInfo ::= SEQUENCE {
///     version       INTEGER { v1(0) },
///     subject       Name,
///     subjectPKInfo SubjectPublicKeyInfo,
///     attributes    [0] Attributes }
/// ```
struct CSRInspection {
    /// E.g. `RSA-1024`, `EC secp256k1`, `P-256`, or the algorithm OID.
    let keyDescription: String
    /// Whether the key is of a ``KeyType`` (a key swift-certificates can parse).
    let keyIsKnownType: Bool
    /// Whether the signature value fails to parse for its algorithm (ECDSA: not a DER
    /// `ECDSA-Sig-Value`).
    let signatureIsMalformed: Bool

    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 1, 1]
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let curves: [ASN1ObjectIdentifier: String] = [
        [1, 2, 840, 10045, 3, 1, 7]: "P-256", [1, 3, 132, 0, 34]: "P-384", [1, 3, 132, 0, 35]: "P-521",
        [1, 3, 132, 0, 10]: "EC secp256k1", [1, 2, 840, 10045, 3, 1, 1]: "EC P-192", [1, 3, 132, 0, 33]: "EC P-224",
    ]
    static let ecdsaSignatures: Set<ASN1ObjectIdentifier> = [[1, 2, 840, 10045, 4, 3, 2], [1, 2, 840, 10045, 4, 3, 3], [1, 2, 840, 10045, 4, 3, 4], [1, 2, 840, 10045, 4, 1]]

    init(der: [UInt8]) throws {
        let root = try DER.parse(der)
        var keyDescription = ""
        var known = false
        var malformedSignature = false
        try DER.sequence(root, identifier: .sequence) { nodes in
            guard let info = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no certificationRequestInfo") }
            try DER.sequence(info, identifier: .sequence) { infoNodes in
                _ = try Int(derEncoded: &infoNodes)
                guard infoNodes.next() != nil, let spki = infoNodes.next() else {
                    throw ASN1Error.invalidASN1Object(reason: "no subjectPKInfo")
                }
                (keyDescription, known) = try Self.describeKey(spki)
                while infoNodes.next() != nil {}
            }
            guard let algorithmNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no signatureAlgorithm") }
            let algorithm: ASN1ObjectIdentifier = try DER.sequence(algorithmNode, identifier: .sequence) { algNodes in
                let oid = try ASN1ObjectIdentifier(derEncoded: &algNodes)
                while algNodes.next() != nil {}
                return oid
            }
            let signature = try ASN1BitString(derEncoded: &nodes)
            if Self.ecdsaSignatures.contains(algorithm) {
                malformedSignature = (try? Self.parseECDSASignature(signature.bytes)) == nil
            }
        }
        self.keyDescription = keyDescription
        self.keyIsKnownType = known
        self.signatureIsMalformed = malformedSignature
    }

    private static func parseECDSASignature(_ bytes: ArraySlice<UInt8>) throws {
        try DER.sequence(try DER.parse(bytes), identifier: .sequence) { nodes in
            _ = try ArraySlice<UInt8>(derEncoded: &nodes)
            _ = try ArraySlice<UInt8>(derEncoded: &nodes)
        }
    }

    private static func describeKey(_ spki: ASN1Node) throws -> (String, Bool) {
        try DER.sequence(spki, identifier: .sequence) { nodes in
            guard let algorithmNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no key algorithm") }
            let (algorithm, parameter): (ASN1ObjectIdentifier, ASN1ObjectIdentifier?) = try DER.sequence(algorithmNode, identifier: .sequence) { algNodes in
                let oid = try ASN1ObjectIdentifier(derEncoded: &algNodes)
                let parameter = try? ASN1ObjectIdentifier(derEncoded: &algNodes)
                while algNodes.next() != nil {}
                return (oid, parameter)
            }
            let key = try ASN1BitString(derEncoded: &nodes)
            if algorithm == rsaEncryption {
                let bits: Int = try DER.sequence(try DER.parse(key.bytes), identifier: .sequence) { keyNodes in
                    let modulus = try ArraySlice<UInt8>(derEncoded: &keyNodes)
                    _ = try ArraySlice<UInt8>(derEncoded: &keyNodes)
                    guard let first = modulus.first else { return 0 }
                    return (modulus.count - 1) * 8 + (8 - first.leadingZeroBitCount)
                }
                return ("RSA-\(bits)", [2048, 3072, 4096].contains(bits))
            }
            if algorithm == ecPublicKey {
                guard let parameter else { return ("EC (no named curve)", false) }
                if let name = curves[parameter] { return (name, ["P-256", "P-384", "P-521"].contains(name)) }
                return ("EC curve \(parameter)", false)
            }
            if algorithm == [1, 3, 101, 112] { return ("Ed25519", false) }
            return ("key algorithm \(algorithm)", false)
        }
    }
}
