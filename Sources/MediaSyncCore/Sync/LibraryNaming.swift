/// How a file gets its name in the library: `<dest>/<folder>/<remote path>`, or `stem~N.ext` beside it
/// when that name is taken (a reused remote name must never overwrite the older media).
public enum LibraryNaming {
    /// `prefix` + `/` + `remotePath`; an empty prefix gives the remote path itself.
    public static func join(prefix: [UInt8], _ remotePath: [UInt8]) -> [UInt8] {
        var end = prefix.endIndex
        while end > prefix.startIndex, prefix[end - 1] == UInt8(ascii: "/") { end -= 1 }
        if end == prefix.startIndex { return remotePath }
        var path: [UInt8] = []
        path.reserveCapacity(end + 1 + remotePath.count)
        path += prefix[..<end]
        path.append(UInt8(ascii: "/"))
        path += remotePath
        return path
    }

    /// The remote path whose natural library name is `libraryPath` (the inverse of `join`), or nil when
    /// `libraryPath` is not under `prefix`.
    public static func remotePath(of libraryPath: [UInt8], under prefix: [UInt8]) -> [UInt8]? {
        var base = prefix[...]
        while base.last == UInt8(ascii: "/") { base.removeLast() }
        if base.isEmpty { return libraryPath }
        guard libraryPath.count > base.count + 1, libraryPath.starts(with: base),
              libraryPath[base.count] == UInt8(ascii: "/") else { return nil }
        return Array(libraryPath[(base.count + 1)...])
    }

    /// The `n`-th alternative of `path`: `a/00012-3912345.png` → `a/00012-3912345~2.png` for n = 2.
    /// The extension is the part after the last dot of the last component; a leading dot (a dotfile)
    /// starts no extension, so `.hidden` → `.hidden~2`, `README` → `README~2`.
    public static func alternative(_ path: [UInt8], number n: Int) -> [UInt8] {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        let nameStart = (path.lastIndex(of: slash).map { $0 + 1 }) ?? 0
        var splitAt = path.endIndex
        if let lastDot = path[nameStart...].lastIndex(of: dot), lastDot > nameStart,
           path[nameStart..<lastDot].contains(where: { $0 != dot }) {
            splitAt = lastDot
        }
        return Array(path[..<splitAt]) + Array("~\(n)".utf8) + Array(path[splitAt...])
    }

    /// The first of `path~2`, `path~3`, ... that `isTaken` rejects, or nil after `limit` tries.
    public static func firstFree(_ path: [UInt8], limit: Int = 100_000,
                                 isTaken: ([UInt8]) -> Bool) -> [UInt8]? {
        var n = 2
        while n <= limit + 1 {
            let candidate = alternative(path, number: n)
            if !isTaken(candidate) { return candidate }
            n += 1
        }
        return nil
    }
}
