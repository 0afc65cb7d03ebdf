import Foundation
import MediaSyncCore

/// File-system helpers that take paths as raw bytes: the trees under test hold names that are not UTF-8,
/// which Foundation's String paths cannot spell.
enum BytePath {
    static func c(_ path: [UInt8]) -> [CChar] { path.map { CChar(bitPattern: $0) } + [0] }

    static func mkdirs(_ path: [UInt8]) throws {
        var prefix: [UInt8] = []
        for (index, byte) in path.enumerated() {
            prefix.append(byte)
            let atEnd = index == path.count - 1
            if (byte == UInt8(ascii: "/") && prefix.count > 1) || atEnd {
                if mkdir(c(prefix), 0o755) != 0 && errno != EEXIST {
                    throw Tool.Failure(description: "mkdir \(String(decoding: prefix, as: UTF8.self)): errno \(errno)")
                }
            }
        }
    }

    static func write(_ path: [UInt8], _ content: [UInt8], mtime: Int64? = nil) throws {
        let fd = open(c(path), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Tool.Failure(description: "open \(String(decoding: path, as: UTF8.self)): errno \(errno)") }
        let written = content.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == content.count else {
            throw Tool.Failure(description: "write \(String(decoding: path, as: UTF8.self)): \(written) of \(content.count) bytes")
        }
        if let mtime { try setMtime(path, mtime) }
    }

    static func setMtime(_ path: [UInt8], _ mtime: Int64) throws {
        var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
        guard utimensat(AT_FDCWD, c(path), &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw Tool.Failure(description: "utimensat: errno \(errno)")
        }
    }

    static func read(_ path: [UInt8]) -> [UInt8]? {
        let fd = open(c(path), O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    static func stat(_ path: [UInt8]) -> Glibc.stat? {
        var st = Glibc.stat()
        return lstat(c(path), &st) == 0 ? st : nil
    }

    static func exists(_ path: [UInt8]) -> Bool { stat(path) != nil }
}

/// A temporary folder that removes itself; short, because ssh control sockets must fit in 108 bytes.
final class TempFolder: @unchecked Sendable {
    let path: String
    var bytes: [UInt8] { Array(path.utf8) }

    init(_ tag: String = "t") throws {
        path = "/tmp/ms-\(tag)-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func sub(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The awkward tree every transport must copy exactly: names rsync escapes, names a shell would split or
/// glob, names that are not UTF-8, a sub-folder.
enum AwkwardTree {
    struct Entry {
        let path: [UInt8]
        let content: [UInt8]
        let mtime: Int64
    }

    static let names: [[UInt8]] = [
        Array("plain.png".utf8),
        Array("new\nline.png".utf8),
        Array("tab\there.png".utf8),
        Array("back\\#012slash.png".utf8),
        Array("-leading-dash.png".utf8),
        Array("with  two spaces .png".utf8),
        Array("emoji 🎨.png".utf8),
        Array("bad-".utf8) + [0xff, 0xfe] + Array(".png".utf8),
        Array("star*.png".utf8),
        Array("quote's \"both\".png".utf8),
        Array("sub dir/-nested\n.png".utf8),
    ]

    /// Writes the tree under `folder` and returns what was written.
    static func make(in folder: [UInt8]) throws -> [Entry] {
        try BytePath.mkdirs(folder)
        var entries: [Entry] = []
        for (index, name) in names.enumerated() {
            let content = (0..<(1000 + index * 3371)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            let mtime = Int64(1_700_000_000 + index * 3601)
            let full = folder + [UInt8(ascii: "/")] + name
            if let slash = full.lastIndex(of: UInt8(ascii: "/")) { try BytePath.mkdirs(Array(full[..<slash])) }
            try BytePath.write(full, content, mtime: mtime)
            entries.append(Entry(path: name, content: content, mtime: mtime))
        }
        return entries
    }

    /// Problems found comparing `folder` (a copy) with `entries`: missing, different bytes, other mtime.
    static func differences(in folder: [UInt8], from entries: [Entry]) -> [String] {
        var problems: [String] = []
        for entry in entries {
            let full = folder + [UInt8(ascii: "/")] + entry.path
            let shown = String(decoding: entry.path, as: UTF8.self).debugDescription
            guard let bytes = BytePath.read(full), let st = BytePath.stat(full) else {
                problems.append("\(shown) missing"); continue
            }
            if bytes != entry.content { problems.append("\(shown) has other bytes") }
            if Int64(st.st_mtim.tv_sec) != entry.mtime { problems.append("\(shown) mtime \(st.st_mtim.tv_sec)") }
        }
        return problems
    }
}

/// Where the shim that plays `docker` lives, and a copy of it reachable through a path with a space.
enum DockerShim {
    static var path: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Shims/docker").path
    }

    /// A symlink to the shim at `<folder>/docker bin/docker`, so the -e quoting of a spaced path is used.
    static func spacedPath(in folder: TempFolder) throws -> String {
        let dir = folder.sub("docker bin")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let link = dir + "/docker"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        return link
    }
}

extension TransportCommands {
    /// Runs the listing of `folder` and parses it.
    func runListing(folder: String) throws -> (Tool.Output, RemoteListing?) {
        let out = try Tool.run(listArgv(folder: folder), input: listStdin(folder: folder),
                               environment: environment(parent: ProcessInfo.processInfo.environment))
        return (out, try? RemoteListingParser.parseScriptOutput(out.stdout))
    }

    /// Runs the transfer of `paths` of `folder` into `destination`.
    func runRsync(folder: String, paths: [[UInt8]], destination: String) throws -> Tool.Output {
        try Tool.run(rsyncArgv(folder: folder, destination: destination),
                     input: TransportCommands.filesFromStdin(paths),
                     environment: environment(parent: ProcessInfo.processInfo.environment))
    }
}
