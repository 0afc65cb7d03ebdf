/// The fixed shell script that deletes the planned files of one folder of a source in a single remote call.
///
/// Run it as `sh -c "$text"` (ssh: `SSHTransport.remoteCommand`) and write `stdin(...)` to it: the min age in
/// seconds on the first line, the folder's path on the second (a path with a newline is refused before), the
/// number of argv words per chunk on the third, then the chunks as NUL-terminated words. `xargs -0 -n K` hands
/// each chunk to one run of `batch` as its argv, so no byte of a path is ever parsed by a shell, and no shell
/// loop touches a name on the usual path.
///
/// A chunk is up to `maxNames` files of one folder: three header words, `/D/<n>/<folder inside>` (n numbers
/// the folders of the call, so the chunks of one folder share its mtime from before the first of them;
/// `mktemp` holds it),
/// `/P/<the same as a printf format prefix>` and `/E/<the stat line each file must still show>` (one
/// `<size> <mtime> regular file` line per name, in order), then the base names (see `chunks`). Headers start
/// with `/`, which no base name holds, so a chunk that xargs ever cut short (a size limit) is answered for
/// the names it holds, and the words after it, with no header first, get no answer and stay.
///
/// Each chunk: the folder chain is walked from the top (`cd -P`, refusing a symlink or a non-folder on the
/// way); then ONE `stat -c '%d %s %Y %F' -- NAMES .` reads every name and the folder, and when its output is
/// exactly the expected lines (each a regular file, not a symlink, on the top folder's device, with the
/// expected size and mtime) ONE `rm -f -- NAMES` removes them and ONE `printf` reports them. Anything else
/// (a name gone, changed, replaced) takes the careful path for that chunk: each name tested with builtins and
/// its own `stat` right before its own `rm`. The re-check window is the time between the chunk's `stat` and
/// its `rm` (milliseconds). Results, NUL-terminated (`RemotePurgeOutput` parses them): `deleted PATH`,
/// `kept REASON PATH`; `rmdir DIR` for an emptied parent folder whose mtime before the first deletion in it
/// was older than the min age by the source's clock; and `done` last.
public enum RemotePurgeScript {
    /// Most names in one chunk: one `stat`, one `rm`, one `printf` each.
    public static let maxNames = 1000
    /// Most bytes of one chunk's words (names, their expected lines, headers), below the command line of
    /// `xargs -s 120000` with the batch script itself. The `-s` matters for busybox, whose xargs otherwise cuts
    /// at about 30 KB (measured: 1,096 names of 27 bytes), which would leave a chunk's tail without its header.
    public static let maxChunkBytes = 80_000

    /// The chunk part, run by `xargs -0 -n K sh -c "$batch" sh TOP DEV LIMIT MARKFILE HEADER... NAME...`. The names
    /// reach `stat`, `rm` and `printf` as `"$@"`; the folder and the prefix only as variable references.
    static let batch = """
        top=$1; dev=$2; limit=$3; mark=$4; shift 4
        [ "$#" -ge 4 ] || exit 0
        set -f
        nl="
        "
        case $2 in /P/*) pfx=${2#/P/} ;; *) exit 0 ;; esac
        case $3 in /E/*) want=${3#/E/} ;; *) exit 0 ;; esac
        case $1 in
          /B/) shift 3; printf "kept bad_path %s\\000" "$@"; exit 0 ;;
          /D/*) dir=${1#/D/}; fi=${dir%%/*}; dir=${dir#*/} ;;
          *) exit 0 ;;
        esac
        shift 3
        bad=
        for a do case $a in */*|.|..|"") bad=yes ;; esac; done
        if [ -n "$dir" ]; then case /$dir/ in *//*|*/./*|*/../*) bad=yes ;; esac; fi
        if [ -n "$bad" ]; then printf "kept bad_path $pfx%s\\000" "$@"; exit 0; fi
        ok=yes
        if ! cd -P -- "$top"; then ok=error; fi
        if [ "$ok" = yes ] && [ -n "$dir" ]; then
          IFS=/
          for c in $dir; do
            if [ -L "./$c" ] || [ ! -d "./$c" ] || ! cd -P -- "./$c"; then ok=symlink_or_not_folder; break; fi
          done
          unset IFS
        fi
        if [ "$ok" != yes ]; then printf "kept $ok $pfx%s\\000" "$@"; exit 0; fi
        want=$(IFS=$nl; printf "$dev %s\\n" $want)
        # One stat for the chunk and its folder (last line): the folder mtime before any deletion in it.
        pm=
        if got=$(stat -c "%d %s %Y %F" -- "$@" . 2>/dev/null); then
          pm=${got##*$nl}; got=${got%$nl*}
          pm=${pm#* }; pm=${pm#* }; pm=${pm%% *}
        else got=; fi
        [ -n "$pm" ] || pm=$(stat -c %Y .) || pm=
        # A folder cut into several chunks: its mtime from before the first of them deleted anything.
        if [ -n "$mark" ] && [ -n "$pm" ]; then
          i0=; pm0=; { IFS=" " read -r i0 pm0 < "$mark"; } 2>/dev/null
          if [ "$i0" = "$fi" ] && [ -n "$pm0" ]; then pm=$pm0; else printf "%s %s\n" "$fi" "$pm" > "$mark"; fi
        fi
        gone=
        if [ -n "$got" ] && [ "$got" = "$want" ]; then
          if rm -f -- "$@"; then
            printf "deleted $pfx%s\\000" "$@"; gone=yes
          else
            for a do
              if [ -e "./$a" ] || [ -L "./$a" ]; then printf "kept rm_failed $pfx%s\\000" "$a"
              else printf "deleted $pfx%s\\000" "$a"; gone=yes; fi
            done
          fi
        else
          # The careful path: each name on its own, re-checked right before its own rm.
          rest=$want$nl
          for a do
            w=${rest%%$nl*}; rest=${rest#*$nl}
            f=./$a
            if [ -L "$f" ]; then why=symlink
            elif [ ! -e "$f" ]; then why=missing
            elif [ ! -f "$f" ]; then why=not_regular
            elif ! line=$(stat -c "%d %s %Y %F" -- "$f" 2>/dev/null); then why=missing
            elif [ "$line" = "$w" ]; then why=
            else case $line in "$dev "*) why=changed ;; *) why=other_device ;; esac
            fi
            if [ -z "$why" ]; then
              rm -f -- "$f"
              if [ -e "$f" ] || [ -L "$f" ]; then why=rm_failed; fi
            fi
            if [ -n "$why" ]; then printf "kept $why $pfx%s\\000" "$a"
            else printf "deleted $pfx%s\\000" "$a"; gone=yes; fi
          done
        fi
        if [ -n "$gone" ] && [ -n "$dir" ] && [ -n "$pm" ] && [ "$pm" -le "$limit" ]; then
          d=${dir##*/}
          if cd -P .. && rmdir -- "./$d" 2>/dev/null; then printf "rmdir %s\\000" "$dir"; fi
        fi
        exit 0
        """

    /// The script text: reads the header, then runs `batch` over the chunks. It holds no single quote, so
    /// wrapping it in `'...'` for ssh's remote shell is exact; `batch` is inlined as a double-quoted word (no
    /// `cat` run per call).
    public static let text: String = """
        unset CDPATH
        export LC_ALL=C TZ=UTC
        IFS= read -r age || { echo "mediasync-purge: no min age on stdin" >&2; exit 2; }
        IFS= read -r d || { echo "mediasync-purge: no folder path on stdin" >&2; exit 2; }
        IFS= read -r k || { echo "mediasync-purge: no chunk size on stdin" >&2; exit 2; }
        case $age in ""|*[!0-9]*) echo "mediasync-purge: bad min age" >&2; exit 2 ;; esac
        case $k in ""|*[!0-9]*) echo "mediasync-purge: bad chunk size" >&2; exit 2 ;; esac
        if [ -z "$d" ]; then echo "mediasync-purge: empty folder path" >&2; exit 2; fi
        case $d in /*) ;; *) d=./$d ;; esac
        cd -P -- "$d" || exit 3
        top=$(pwd -P) || exit 3
        dev=$(stat -c %d .) || exit 4
        now=$(date +%s) || exit 4
        batch=\(doubleQuoted(batch))
        mark=$(mktemp 2>/dev/null) || mark=
        xargs -0 -n "$k" -s 120000 sh -c "$batch" sh "$top" "$dev" "$((now - age))" "$mark" || { rm -f -- "$mark"; exit 5; }
        [ -z "$mark" ] || rm -f -- "$mark"
        printf "done\\000"
        """

    /// `text` as one double-quoted shell word.
    static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for c in text {
            if c == "\\" || c == "\"" || c == "$" || c == "`" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    /// One file to delete if it is still this size and mtime: the listing's own file type.
    public typealias Record = RemoteFile

    /// Why a folder path cannot be handed to the script, or nil. The header is line-based.
    public static func folderProblem(_ folder: [UInt8]) -> String? {
        folder.contains(UInt8(ascii: "\n")) || folder.contains(0) ? "contains a newline" : nil
    }

    /// The script's stdin: the header lines, then the chunks' words (see the type's comment).
    public static func stdin(folder: [UInt8], minAgeSeconds: Int64, records: [Record]) -> [UInt8] {
        let plan = chunks(records)
        var bytes = Array("\(max(0, minAgeSeconds))\n".utf8) + folder + [UInt8(ascii: "\n")]
        bytes += Array("\(plan.wordsPerChunk)\n".utf8)
        for chunk in plan.chunks { for word in chunk { bytes += word; bytes.append(0) } }
        return bytes
    }

    /// The chunks' argv words: every chunk but the last exactly `wordsPerChunk` long (3 headers and the names),
    /// as `xargs -n` cuts them.
    public struct Chunks: Equatable, Sendable {
        public var wordsPerChunk: Int
        public var chunks: [[[UInt8]]]
    }

    /// Pure: the records sorted by name, cut into chunks of at most `maxNames` names and `maxChunkBytes`
    /// bytes. `xargs -n` cuts every chunk to the same length, so only records of one folder go in chunks of
    /// many names (what `PurgeRun` sends: its batches never span folders); records of several folders go one
    /// per chunk, and records whose path is not a clean relative path (empty, `.` or `..` components,
    /// absolute) each in a `/B/` chunk, answered `kept bad_path`.
    public static func chunks(_ records: [Record], maxNames: Int = maxNames, maxChunkBytes: Int = maxChunkBytes) -> Chunks {
        var bad: [[UInt8]] = []
        var good: [Record] = []
        for record in records { if isClean(record.path) { good.append(record) } else { bad.append(record.path) } }
        let sorted = sorted(good)
        let oneFolder = bad.isEmpty && sorted.allSatisfy { sameFolder($0.path, sorted[0].path) }
        // Every name is costed as the longest one: each chunk stays under the byte limit.
        let longest = sorted.reduce(0) { max($0, $1.path.count) }
        let fit = max(1, min(maxNames, (maxChunkBytes - 2 * (longest + 8)) / (longest + 1 + 48)))
        let size = oneFolder ? fit : 1
        var chunks: [[[UInt8]]] = []
        for path in bad {
            chunks.append([Array("/B/".utf8), Array("/P/".utf8), Array("/E/".utf8), path])
        }
        var index = 0
        var folders = 0
        var lastDir: [UInt8]?
        while index < sorted.count {
            let (dir, _) = split(sorted[index].path)
            if dir != lastDir { folders += 1; lastDir = dir }
            var names: [[UInt8]] = []
            var lines: [String] = []
            while index < sorted.count, names.count < size {
                let record = sorted[index]
                names.append(split(record.path).1)
                lines.append("\(record.size) \(record.mtime) regular \(record.size == 0 ? "empty file" : "file")")
                index += 1
            }
            let prefix = dir.isEmpty ? [] : printfLiteral(dir) + [UInt8(ascii: "/")]
            chunks.append([Array("/D/\(folders)/".utf8) + dir, Array("/P/".utf8) + prefix,
                           Array(("/E/" + lines.joined(separator: "\n")).utf8)] + names)
        }
        return Chunks(wordsPerChunk: size + 3, chunks: chunks)
    }

    /// True when both paths have the same parent folder.
    public static func sameFolder(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let sa = a.lastIndex(of: UInt8(ascii: "/")) ?? 0, sb = b.lastIndex(of: UInt8(ascii: "/")) ?? 0
        return sa == sb && a[..<sa].elementsEqual(b[..<sb])
    }

    /// A relative path without empty, `.` or `..` components and without a newline or NUL.
    public static func isClean(_ path: [UInt8]) -> Bool {
        guard !path.isEmpty, path.first != UInt8(ascii: "/") else { return false }
        for component in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if component.isEmpty || component.elementsEqual([0x2E]) || component.elementsEqual([0x2E, 0x2E]) { return false }
        }
        return true
    }

    /// `bytes` as a printf format that prints exactly them: `%` and `\` doubled.
    static func printfLiteral(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            if b == UInt8(ascii: "%") || b == UInt8(ascii: "\\") { out.append(b) }
            out.append(b)
        }
        return out
    }

    public static func split(_ path: [UInt8]) -> ([UInt8], [UInt8]) {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return ([], path) }
        return (Array(path[..<slash]), Array(path[(slash + 1)...]))
    }

    /// By parent folder, then base name.
    static func sorted(_ records: [Record]) -> [Record] {
        records.sorted { a, b in byFolderThenName(a.path, b.path) }
    }

    /// True when `a` sorts before `b` by parent folder, then base name (no copies made).
    public static func byFolderThenName(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let sa = a.lastIndex(of: UInt8(ascii: "/")), sb = b.lastIndex(of: UInt8(ascii: "/"))
        let da = a[..<(sa ?? 0)], db = b[..<(sb ?? 0)]
        if !da.elementsEqual(db) { return da.lexicographicallyPrecedes(db) }
        return a[(sa.map { $0 + 1 } ?? 0)...].lexicographicallyPrecedes(b[(sb.map { $0 + 1 } ?? 0)...])
    }
}

/// The fixed script that computes the SHA-256 of chosen files of a folder on the source, in one call
/// (`verify: checksum`). Stdin: the folder path on the first line, then paths NUL-terminated.
/// Output: `<hex> PATH` or `error PATH`, each NUL-terminated, then `done`.
public enum RemoteChecksumScript {
    static let batch = """
        top=$1; shift
        set -f
        for p do
          case /$p/ in *//*|*/./*|*/../*) printf "error %s\\000" "$p"; continue ;; esac
          f=$top/$p
          if [ -f "$f" ] && [ ! -L "$f" ] && h=$(sha256sum < "$f"); then
            printf "%s %s\\000" "${h%% *}" "$p"
          else
            printf "error %s\\000" "$p"
          fi
        done
        exit 0
        """

    public static let text: String = """
        unset CDPATH
        export LC_ALL=C TZ=UTC
        IFS= read -r d || { echo "mediasync-checksum: no folder path on stdin" >&2; exit 2; }
        if [ -z "$d" ]; then echo "mediasync-checksum: empty folder path" >&2; exit 2; fi
        case $d in /*) ;; *) d=./$d ;; esac
        cd -P -- "$d" || exit 3
        top=$(pwd -P) || exit 3
        batch=$(cat <<"MEDIASYNC_BATCH"
        \(batch)
        MEDIASYNC_BATCH
        )
        xargs -0 sh -c "$batch" sh "$top" || exit 5
        printf "done\\000"
        """

    public static func stdin(folder: [UInt8], paths: [[UInt8]]) -> [UInt8] {
        var bytes = folder + [UInt8(ascii: "\n")]
        for path in paths { bytes += path; bytes.append(0) }
        return bytes
    }
}
