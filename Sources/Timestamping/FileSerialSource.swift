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
            let stored = FileManager.default.contents(atPath: path)
                .flatMap { UInt64(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
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
