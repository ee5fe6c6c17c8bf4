#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `lstat` of a path, never following a symbolic link: what the spool needs to know before it
/// touches a file.
public struct FileStatus: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case regular, directory, symlink, other }
    public let kind: Kind
    public let size: Int64
    /// Modification time, seconds since 1970.
    public let modified: Double
    /// Device and inode: the identity of the file behind the name.
    public let device: UInt64
    public let inode: UInt64
    /// Hard links to the file (`st_nlink`).
    public let linkCount: Int
    /// Inode change time (`st_ctime`), seconds since 1970: set by the kernel at every rename,
    /// link or write, so for a file signd renamed into place and never touched again, the time
    /// it was taken in.
    public let changed: Double

    /// nil when the path does not exist (or cannot be examined); `errno` tells why.
    public init?(path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        size = Int64(st.st_size)
        modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        linkCount = Int(st.st_nlink)
        changed = Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9
    }

    /// The message for the last failed call (`strerror(errno)`).
    public static func lastError() -> String { String(cString: strerror(errno)) }
}

/// Why ``readRegularFile(_:limit:)`` read nothing.
public enum RegularFileReadFailure: Error, Sendable {
    /// A symbolic link, FIFO, socket, device or directory (never followed or opened for data).
    case notRegular(String)
    case tooLarge(size: Int64)
    /// The file grew while it was read.
    case grew
    case io(String)
}

/// Reads a regular file of at most `limit` bytes through one descriptor opened with
/// `O_NOFOLLOW|O_NONBLOCK`: the file checked is the file read, a symbolic link is refused, and a
/// FIFO put under the name never blocks the caller.
public func readRegularFile(_ path: String, limit: Int) -> Result<[UInt8], RegularFileReadFailure> {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    guard fd >= 0 else {
        if errno == ELOOP { return .failure(.notRegular("a symbolic link")) }
        return .failure(.io(String(cString: strerror(errno))))
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return .failure(.io(String(cString: strerror(errno)))) }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
        return .failure(.notRegular((st.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "a special file (FIFO, socket or device)"))
    }
    let size = Int64(st.st_size)
    guard size <= Int64(limit) else { return .failure(.tooLarge(size: size)) }
    // Read at most size + 1 bytes: a file that grew since fstat is refused, not cut short.
    var buffer = [UInt8](repeating: 0, count: Int(size) + 1)
    var done = 0
    while done < buffer.count {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            return .failure(.io(String(cString: strerror(errno))))
        }
        if n == 0 { break }
        done += n
    }
    guard Int64(done) <= size else { return .failure(.grew) }
    buffer.removeLast(buffer.count - done)
    return .success(buffer)
}
