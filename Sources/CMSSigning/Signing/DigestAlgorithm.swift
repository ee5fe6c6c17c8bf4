import CMSStructures
import Foundation
import Crypto

/// Message digest algorithms allowed for PAdES baseline signatures.
public enum DigestAlgorithm: String, Sendable, Hashable, Codable, CaseIterable {
    case sha256, sha384, sha512

    public var identifier: CMSAlgorithmIdentifier {
        switch self {
        case .sha256: return .sha256
        case .sha384: return .sha384
        case .sha512: return .sha512
        }
    }

    public init?(identifier: CMSAlgorithmIdentifier) {
        switch identifier.algorithm {
        case CMSObjectIdentifiers.sha256: self = .sha256
        case CMSObjectIdentifiers.sha384: self = .sha384
        case CMSObjectIdentifiers.sha512: self = .sha512
        default: return nil
        }
    }

    public var length: Int {
        switch self {
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    public func hash<D: DataProtocol>(_ data: D) -> [UInt8] {
        switch self {
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha384: return Array(SHA384.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }

    /// An incremental hasher, for hashing byte ranges of large files chunk by chunk.
    public func makeHasher() -> StreamingHasher { StreamingHasher(self) }
}

/// Incremental hashing over one of the ``DigestAlgorithm``s.
public struct StreamingHasher {
    private enum State {
        case sha256(SHA256), sha384(SHA384), sha512(SHA512)
    }
    private var state: State

    init(_ algorithm: DigestAlgorithm) {
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha384: state = .sha384(SHA384())
        case .sha512: state = .sha512(SHA512())
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var h): h.update(bufferPointer: bytes); state = .sha256(h)
        case .sha384(var h): h.update(bufferPointer: bytes); state = .sha384(h)
        case .sha512(var h): h.update(bufferPointer: bytes); state = .sha512(h)
        }
    }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    public func finalize() -> [UInt8] {
        switch state {
        case .sha256(let h): return Array(h.finalize())
        case .sha384(let h): return Array(h.finalize())
        case .sha512(let h): return Array(h.finalize())
        }
    }
}
