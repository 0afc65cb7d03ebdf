/// The fixed shell script that deletes the planned files of one folder of a source in a single remote call.
///
/// Run it as `sh -c "$text"` (ssh: `sshCommand`) and write `stdin(...)` to it: the min age in seconds on the
/// first line, the folder's path on the second (a path with a newline is refused before), then one record per
/// file, NUL-terminated: `<size> <mtime> <path inside the folder>`. `xargs -0` hands the records to a batch
/// script as argv words, so no byte of a path is ever parsed by a shell.
///
/// For each record it refuses empty, `.` and `..` components and absolute paths; walks the folders one by
/// one (`cd -P`), refusing a symlink or a non-folder on the way; checks the final name is a regular file, not a
/// symlink, on the folder's device, with the expected size and mtime (`stat -c '%d %s %Y'`, GNU and busybox),
/// right before `rm -f --`. It prints one NUL-terminated result per record (`RemotePurgeOutput` parses them):
/// `deleted PATH`, `kept REASON PATH`; `rmdir DIR` for an emptied parent folder whose mtime before the first
/// deletion in it was older than the min age by the source's clock; and `done` last.
public enum RemotePurgeScript {
    /// The batch part, run by `xargs -0 sh -c "$batch" sh TOP DEV LIMIT RECORD...`.
    static let batch = """
        top=$1; dev=$2; limit=$3; shift 3
        set -f
        lastdir=; lastpm=
        for r do
          size=${r%% *}; rest=${r#* }; mtime=${rest%% *}; p=${rest#* }
          case $size$mtime in *[!0-9-]*) printf "kept bad_record %s\\000" "$p"; continue ;; esac
          case /$p/ in *//*|*/./*|*/../*) printf "kept bad_path %s\\000" "$p"; continue ;; esac
          if ! cd -P -- "$top"; then printf "kept error %s\\000" "$p"; continue; fi
          base=${p##*/}
          dir=; case $p in */*) dir=${p%/*} ;; esac
          ok=yes
          if [ -n "$dir" ]; then
            IFS=/
            for c in $dir; do
              if [ -L "./$c" ] || [ ! -d "./$c" ] || ! cd -P -- "./$c"; then ok=; break; fi
            done
            unset IFS
          fi
          if [ -z "$ok" ]; then printf "kept symlink_or_not_folder %s\\000" "$p"; continue; fi
          if [ "$dir" != "$lastdir" ]; then lastdir=$dir; lastpm=$(stat -c %Y .); fi
          f=./$base
          if [ -L "$f" ]; then printf "kept symlink %s\\000" "$p"; continue; fi
          if [ ! -e "$f" ]; then printf "kept missing %s\\000" "$p"; continue; fi
          if [ ! -f "$f" ]; then printf "kept not_regular %s\\000" "$p"; continue; fi
          if ! st=$(stat -c "%d %s %Y" -- "$f"); then printf "kept error %s\\000" "$p"; continue; fi
          case $st in
            "$dev $size $mtime") ;;
            "$dev "*) printf "kept changed %s\\000" "$p"; continue ;;
            *) printf "kept other_device %s\\000" "$p"; continue ;;
          esac
          rm -f -- "$f"
          if [ -e "$f" ] || [ -L "$f" ]; then printf "kept rm_failed %s\\000" "$p"; continue; fi
          printf "deleted %s\\000" "$p"
          if [ -n "$dir" ] && [ -n "$lastpm" ] && [ "$lastpm" -le "$limit" ]; then
            d=${dir##*/}
            if cd -P .. && rmdir -- "./$d" 2>/dev/null; then printf "rmdir %s\\000" "$dir"; fi
          fi
        done
        exit 0
        """

    /// The script text: reads the header, then runs `batch` over the records. It holds no single quote, so
    /// wrapping it in `'...'` for ssh's remote shell is exact.
    public static let text: String = """
        unset CDPATH
        export LC_ALL=C TZ=UTC
        IFS= read -r age || { echo "mediasync-purge: no min age on stdin" >&2; exit 2; }
        IFS= read -r d || { echo "mediasync-purge: no folder path on stdin" >&2; exit 2; }
        case $age in ""|*[!0-9]*) echo "mediasync-purge: bad min age" >&2; exit 2 ;; esac
        if [ -z "$d" ]; then echo "mediasync-purge: empty folder path" >&2; exit 2; fi
        case $d in /*) ;; *) d=./$d ;; esac
        cd -P -- "$d" || exit 3
        top=$(pwd -P) || exit 3
        dev=$(stat -c %d .) || exit 4
        now=$(date +%s) || exit 4
        batch=$(cat <<"MEDIASYNC_BATCH"
        \(batch)
        MEDIASYNC_BATCH
        )
        xargs -0 sh -c "$batch" sh "$top" "$dev" "$((now - age))" || exit 5
        printf "done\\000"
        """

    /// The remote command string for ssh: `sh -c '<text>'`.
    public static var sshCommand: String { "sh -c '" + text + "'" }

    /// One file to delete if it is still this size and mtime.
    public struct Record: Sendable, Equatable {
        public var path: [UInt8]
        public var size: Int64
        public var mtime: Int64
        public init(path: [UInt8], size: Int64, mtime: Int64) {
            self.path = path
            self.size = size
            self.mtime = mtime
        }
    }

    /// Why a folder path cannot be handed to the script, or nil. The header is line-based.
    public static func folderProblem(_ folder: [UInt8]) -> String? {
        folder.contains(UInt8(ascii: "\n")) || folder.contains(0) ? "contains a newline" : nil
    }

    /// The script's stdin. Records go sorted by folder then name, so that each folder's files are
    /// contiguous and its mtime is read before the first deletion in it.
    public static func stdin(folder: [UInt8], minAgeSeconds: Int64, records: [Record]) -> [UInt8] {
        var bytes = Array("\(max(0, minAgeSeconds))\n".utf8) + folder + [UInt8(ascii: "\n")]
        for record in sorted(records) {
            bytes += Array("\(record.size) \(record.mtime) ".utf8)
            bytes += record.path
            bytes.append(0)
        }
        return bytes
    }

    /// By parent folder, then base name.
    static func sorted(_ records: [Record]) -> [Record] {
        func split(_ path: [UInt8]) -> ([UInt8], [UInt8]) {
            guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return ([], path) }
            return (Array(path[..<slash]), Array(path[(slash + 1)...]))
        }
        return records.sorted { a, b in
            let (da, ba) = split(a.path), (db, bb) = split(b.path)
            if da != db { return da.lexicographicallyPrecedes(db) }
            return ba.lexicographicallyPrecedes(bb)
        }
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

    public static var sshCommand: String { "sh -c '" + text + "'" }

    public static func stdin(folder: [UInt8], paths: [[UInt8]]) -> [UInt8] {
        var bytes = folder + [UInt8(ascii: "\n")]
        for path in paths { bytes += path; bytes.append(0) }
        return bytes
    }
}
