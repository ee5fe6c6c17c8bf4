#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PDFSyntax

/// A ``PDFByteSource`` over a file, read with `pread` so that only the bytes asked for are in
/// memory. Symbolic links are not followed when `followSymlinks` is false. Opened with
/// `O_NONBLOCK`, so that a FIFO put where a file was expected is refused instead of hanging the
/// caller until someone writes to it.
public final class FileByteSource: PDFByteSource {
    public let path: String
    public let length: Int64
    /// Hard links to the file when it was opened (`st_nlink`).
    public let linkCount: Int
    /// Device and inode of the file opened.
    public let device: UInt64
    public let inode: UInt64
    private let fd: Int32

    public init(path: String, followSymlinks: Bool = true) throws {
        self.path = path
        var flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK
        if !followSymlinks { flags |= O_NOFOLLOW }
        let fd = open(path, flags)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link, which is never followed here" : String(cString: strerror(errno))
            throw PDFError(.io, "cannot open \(path): \(reason); check that the file exists and is readable")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw PDFError(.io, "\(path) is not a regular file")
        }
        self.fd = fd
        self.length = Int64(st.st_size)
        self.linkCount = Int(st.st_nlink)
        self.device = UInt64(st.st_dev)
        self.inode = UInt64(st.st_ino)
    }

    deinit { close(fd) }

    public func read(offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, count > 0, offset < length else { return [] }
        let want = Int(min(Int64(count), length - offset))
        var buffer = [UInt8](repeating: 0, count: want)
        var done = 0
        try buffer.withUnsafeMutableBytes { raw in
            while done < want {
                let n = pread(fd, raw.baseAddress! + done, want - done, off_t(offset + Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PDFError(.io, "reading \(path) at offset \(offset + Int64(done)) failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                done += n
            }
        }
        if done < want { buffer.removeLast(want - done) }
        return buffer
    }

    /// Calls `body` with consecutive chunks of `range` (at most `chunkSize` bytes each), reusing
    /// one buffer, so that hashing or copying a large file needs constant memory.
    public func forEachChunk(offset: Int64, length: Int64, chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: Int(max(1, min(Int64(chunkSize), length))))
        var position = offset
        let end = offset + length
        try buffer.withUnsafeMutableBytes { raw in
            while position < end {
                let want = Int(min(Int64(raw.count), end - position))
                let n = pread(fd, raw.baseAddress!, want, off_t(position))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PDFError(.io, "reading \(path) at offset \(position) failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 {
                    throw PDFError(.truncated, "\(path) is shorter than expected (changed while being read?)", offset: position)
                }
                try body(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
                position += Int64(n)
            }
        }
    }
}
