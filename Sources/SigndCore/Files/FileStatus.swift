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
    }

    /// The message for the last failed call (`strerror(errno)`).
    public static func lastError() -> String { String(cString: strerror(errno)) }
}
