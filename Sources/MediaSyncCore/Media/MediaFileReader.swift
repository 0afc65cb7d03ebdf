#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension MediaMetadata {
    /// Reads the file at `path` once, in `chunkSize` pieces, hashing and parsing as it goes. Never throws:
    /// a file that cannot be opened or read gives metadata with `error` set (and no `sha256`).
    ///
    /// The only file I/O in MediaSyncCore; it stays here because it is a plain blocking loop. Run it off the
    /// event loop (the Engine's ingest feeder calls it on a worker thread, one file at a time).
    public static func read(path: [UInt8], chunkSize: Int = 1 << 20,
                            limits: PNGMetadataParser.Limits = .init()) -> MediaMetadata {
        var reader = MediaMetadataReader(path: path, limits: limits)
        let name = String(decoding: path, as: UTF8.self)
        let fd = (path + [0]).withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_CLOEXEC) }
        }
        guard fd >= 0 else {
            return reader.finish(readError: "cannot open \(name): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: max(chunkSize, 4_096))
        while true {
            let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return reader.finish(readError: "cannot read \(name): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            buffer.withUnsafeBufferPointer { reader.update(UnsafeBufferPointer(rebasing: $0[0..<count])) }
        }
        return reader.finish()
    }
}

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
#endif
