#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SigndCore

/// Serial numbers from a counter persisted in a file. Serials are handed out from blocks: before
/// a block is used its end is written and fsynced, so after a crash or restart numbering resumes
/// above every serial that may have been issued (a few numbers may be skipped, none reused).
public actor FileSerialSource: TSASerialSource {
    let path: String
    let blockSize: UInt64
    var nextValue: UInt64 = 0
    var blockEnd: UInt64 = 0

    public init(path: String, blockSize: UInt64 = 1000) {
        self.path = path
        self.blockSize = blockSize
    }

    public func next() async throws -> [UInt8] {
        if nextValue >= blockEnd {
            // An exclusive lock makes the read-and-reserve atomic across processes sharing the
            // data directory (a `tsa serve` and a `sign` at the same time).
            let lockFD = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard lockFD >= 0 else {
                throw TimestampError(.identity, "cannot open the TSA serial lock \(path).lock: \(String(cString: strerror(errno)))")
            }
            defer { close(lockFD) }
            guard flock(lockFD, LOCK_EX) == 0 else {
                throw TimestampError(.identity, "cannot lock the TSA serial file \(path): \(String(cString: strerror(errno)))")
            }
            defer { flock(lockFD, LOCK_UN) }
            var stored: UInt64 = 0
            if let data = FileManager.default.contents(atPath: path) {
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let value = UInt64(text) else {
                    // Never restart numbering: a damaged counter stops issuance instead.
                    throw TimestampError(.identity, "the TSA serial counter \(path) is damaged; restore it (it must hold the last reserved serial) before issuing tokens")
                }
                stored = value
            }
            let start = max(stored, nextValue)
            let end = start + blockSize
            let writer = try AtomicFileWriter(path: path, mode: 0o644)
            try writer.write(Array("\(end)\n".utf8))
            try writer.commit()
            nextValue = max(start, 1)
            blockEnd = end
        }
        let value = nextValue
        nextValue += 1
        return (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
    }
}
