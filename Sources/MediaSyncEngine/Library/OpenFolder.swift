#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore

/// One library folder a run of `LibraryWriter.move` calls keeps open, so files going into the same
/// folder (they arrive sorted) share one folder walk; one per job, used from one thread.
///
/// The held descriptor was opened by walking from the library root with O_NOFOLLOW on every level, so it
/// is a real folder inside the library at the time of the walk. Moves into it never look its path up
/// again: a symlink planted on the way afterwards cannot redirect them. `close()` when the run ends (the
/// job finishes); dropping the object closes it too.
public final class OpenFolder {
    private var path: [UInt8]?
    private var descriptor: Int32 = -1

    public init() {}

    deinit { close() }

    /// The descriptor of library-relative `folder`: the held one when it is that folder, else `open()`'s
    /// (which then replaces the held one).
    func fd<E: Error>(for folder: [UInt8], open: () throws(E) -> Int32) throws(E) -> Int32 {
        try fd(for: folder[...], open: open)
    }

    /// `fd(for:open:)` for a part of a longer path: no array is made for the usual case, the folder held.
    func fd<E: Error>(for folder: ArraySlice<UInt8>, open: () throws(E) -> Int32) throws(E) -> Int32 {
        if descriptor >= 0, let path, PathBytes.equal(path[...], folder) { return descriptor }
        close()
        let fd = try open()
        descriptor = fd
        path = Array(folder)
        return fd
    }

    /// The folder held (as given to `fd(for:open:)`), or nil.
    var heldPath: [UInt8]? { descriptor >= 0 ? path : nil }

    /// True when a folder is held and has been removed since it was opened (no name links to it any more).
    public var isUnlinked: Bool {
        guard descriptor >= 0 else { return false }
        var st = stat()
        return fstat(descriptor, &st) == 0 && st.st_nlink == 0
    }

    /// Closes the held folder, if any.
    public func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
        path = nil
    }
}
