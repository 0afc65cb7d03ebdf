#if canImport(Glibc)
import Glibc
#endif

/// `renameat2` and `syncfs`, which Swift's Glibc module does not expose. Both are plain libc symbols
/// (glibc 2.28+ and 2.14+), looked up once with dlsym; `syscall()` itself is variadic and cannot be
/// called from Swift.
enum LibrarySyscalls {
    private typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?,
                                                  UInt32) -> Int32
    private typealias Syncfs = @convention(c) (Int32) -> Int32

    /// `RENAME_NOREPLACE` from linux/fs.h: fail with EEXIST instead of replacing the target.
    static let renameNoReplace: UInt32 = 1

    private static let renameat2Function: Renameat2? = symbol("renameat2").map { unsafeBitCast($0, to: Renameat2.self) }
    private static let syncfsFunction: Syncfs? = symbol("syncfs").map { unsafeBitCast($0, to: Syncfs.self) }

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        let handle = dlopen(nil, RTLD_NOW)
        return dlsym(handle, name)
    }

    /// `renameat2(..., RENAME_NOREPLACE)`; sets errno to ENOSYS when libc lacks it.
    static func renameNoReplace(_ fromDir: Int32, _ from: UnsafePointer<CChar>, _ toDir: Int32,
                                _ to: UnsafePointer<CChar>) -> Int32 {
        guard let renameat2Function else { errno = ENOSYS; return -1 }
        return renameat2Function(fromDir, from, toDir, to, renameNoReplace)
    }

    /// `syncfs(fd)`, or the whole-system `sync()` when libc lacks it (never fails, only slower).
    static func syncFileSystem(_ fd: Int32) -> Int32 {
        guard let syncfsFunction else { sync(); return 0 }
        return syncfsFunction(fd)
    }
}
