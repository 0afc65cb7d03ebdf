/// One file brought home: which remote file (source, folder, path, size, mtime) became which library file.
///
/// The same remote path can appear in several rows over time: Forge and ComfyUI reuse file names after a
/// purge, and each reuse is a different file with its own library name.
public struct ManifestRow: Hashable, Sendable {
    /// The source's name from the config.
    public var source: String
    /// The folder on the source, as written in the config.
    public var folder: String
    /// Path relative to `folder`, raw bytes.
    public var remotePath: [UInt8]
    public var size: Int64
    /// Whole seconds since the epoch (see `RemoteFile.mtime`).
    public var mtime: Int64
    /// Path relative to the library root, raw bytes.
    public var libraryPath: [UInt8]
    /// When the file was recorded, seconds since the epoch (host clock).
    public var syncedAt: Int64

    public init(source: String, folder: String, remotePath: [UInt8], size: Int64, mtime: Int64,
                libraryPath: [UInt8], syncedAt: Int64) {
        self.source = source
        self.folder = folder
        self.remotePath = remotePath
        self.size = size
        self.mtime = mtime
        self.libraryPath = libraryPath
        self.syncedAt = syncedAt
    }

    /// True when `file` is the very file this row recorded (rsync's notion of same: size and mtime).
    public func isSameFile(as file: RemoteFile) -> Bool {
        remotePath == file.path && size == file.size && mtime == file.mtime
    }
}
