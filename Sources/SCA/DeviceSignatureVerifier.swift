import Crypto
import Foundation
import StateStore

/// The result of checking a device's ECDSA signature.
public enum DeviceSignatureCheck: Sendable, Hashable {
    case valid
    /// The signature does not verify (the device's fault).
    case invalid(reason: String)
    /// The device has no usable registered key.
    case noKey(reason: String)
    /// The verifier could not decide (PowerAuth unreachable or answering ERROR).
    case failed(code: AuthorizationErrorCode, reason: String, upstreamCode: String?)
}

/// Checks ECDSA P-256 / SHA-256 signatures of a device: locally against its registered key, or
/// through PowerAuth Server.
public protocol DeviceSignatureVerifier: Sendable {
    func verify(device: DeviceRecord, data: [UInt8], signature: P256.Signing.ECDSASignature, encoded: [UInt8],
                format: ECDSASignatureFormat) async -> DeviceSignatureCheck
}

/// Verifies against `device.publicKeyDER` (SubjectPublicKeyInfo DER of a P-256 key).
public struct LocalDeviceSignatureVerifier: DeviceSignatureVerifier {
    public init() {}

    public func verify(device: DeviceRecord, data: [UInt8], signature: P256.Signing.ECDSASignature, encoded: [UInt8],
                       format: ECDSASignatureFormat) async -> DeviceSignatureCheck {
        guard let der = device.publicKeyDER else {
            return .noKey(reason: "device \(device.id) has no registered public key (a cloud-mode device?); register its P-256 key with `signd device register`")
        }
        // SubjectPublicKeyInfo DER as registered by `signd device register`; a bare uncompressed
        // point (65 bytes, X9.63) is read too.
        guard let key = (try? P256.Signing.PublicKey(derRepresentation: der)) ?? (try? P256.Signing.PublicKey(x963Representation: der)) else {
            return .noKey(reason: "the registered key of device \(device.id) is not a P-256 SubjectPublicKeyInfo")
        }
        if key.isValidSignature(signature, for: data) { return .valid }
        return .invalid(reason: "the \(format.rawValue) ECDSA signature does not verify over the statement's canonical bytes with the key registered for device \(device.id)")
    }
}

/// Delegates to PowerAuth `POST /rest/v3/signature/ecdsa/verify` with activationId = device id.
public struct PowerAuthDeviceSignatureVerifier: DeviceSignatureVerifier {
    public let service: any PowerAuthService
    public init(service: any PowerAuthService) { self.service = service }

    public func verify(device: DeviceRecord, data: [UInt8], signature: P256.Signing.ECDSASignature, encoded: [UInt8],
                       format: ECDSASignatureFormat) async -> DeviceSignatureCheck {
        do {
            if try await service.verifyECDSASignature(activationId: device.id, data: data, signature: encoded, format: format) {
                return .valid
            }
            return .invalid(reason: "PowerAuth Server reports signatureValid=false for activation \(device.id) (\(format.rawValue))")
        } catch let e as PowerAuthError {
            return .failed(code: e.retryable ? .unavailable : .powerauthError, reason: e.description, upstreamCode: e.code)
        } catch {
            return .failed(code: .powerauthError, reason: "PowerAuth call failed: \(error)", upstreamCode: nil)
        }
    }
}
