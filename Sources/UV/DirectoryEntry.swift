#if canImport(Glibc)
import Glibc
#endif

/// A `readdir` entry's name, read in place up to its NUL.
///
/// Never `entry.pointee.d_name`: that loads the whole 256-byte field, but the kernel packs each record only as
/// long as its name (`d_reclen`), so for the last records in readdir's buffer the load reads past the buffer's
/// end into whatever memory follows, and crashes where that is not mapped (`DirectoryEntryTests` puts a record
/// at the end of a page before an unmapped one).
///
///     while let entry = readdir(dir) {
///         if DirectoryEntry.isDotOrDotDot(entry) { continue }
///         let name = DirectoryEntry.name(entry)
public enum DirectoryEntry {
    static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// The name, NUL-terminated, where readdir left it (valid until the next readdir on its stream).
    public static func namePointer(_ entry: UnsafePointer<dirent>) -> UnsafePointer<CChar> {
        UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
    }

    /// The name's bytes, without the NUL.
    public static func name(_ entry: UnsafePointer<dirent>) -> [UInt8] {
        let pointer = namePointer(entry)
        return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    /// `.` or `..`.
    public static func isDotOrDotDot(_ entry: UnsafePointer<dirent>) -> Bool {
        let name = namePointer(entry)
        return name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))
    }
}
