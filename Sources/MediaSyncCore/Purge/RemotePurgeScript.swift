/// The fixed shell script that deletes the planned files of one folder of a source in a single remote call.
///
/// Run it as `sh -c "$text"` (ssh: `SSHTransport.remoteCommand`) and write `stdin(...)` to it: the min age in seconds on the
/// first line, the folder's path on the second (a path with a newline is refused before), then one record per
/// file, NUL-terminated: `<size> <mtime> <path inside the folder>`. `xargs -0` hands the records to a batch
/// script as argv words, so no byte of a path is ever parsed by a shell.
///
/// For each record it refuses empty, `.` and `..` components and absolute paths. Records come sorted by
/// folder, and each run of records in one folder is handled together: the folder chain is walked once
/// (`cd -P`, refusing a symlink or a non-folder on the way); each name is tested with shell builtins (not a
/// symlink, exists, regular file); then ONE `stat -c '%d %s %Y %F'` (GNU) reads all candidates and the sh
/// decides per file (regular file, not a symlink, on the folder's device, with the expected size and mtime);
/// then ONE `rm -f --` removes the names that passed. The re-check window is the time between that one
/// `stat` and that one `rm` for the run (milliseconds for a few thousand names), where it was one file's
/// `stat`-to-`rm` before. It prints one NUL-terminated result per record (`RemotePurgeOutput` parses them):
/// `deleted PATH`, `kept REASON PATH`; `rmdir DIR` for an emptied parent folder whose mtime before the first
/// deletion in it was older than the min age by the source's clock; and `done` last.
public enum RemotePurgeScript {
    /// The batch part, run by `xargs -0 sh -c "$batch" sh TOP DEV LIMIT RECORD...`. Records come sorted by
    /// folder; each run of records in one folder costs three programs (`stat` of the folder, one `stat` of
    /// all its candidates, one `rm`), not two per file. Names reach `stat` and `rm` as argv words through
    /// `eval` of variable references only (`"./$b_7"`), so no byte of a name is parsed by the shell.
    static let batch = """
        top=$1; dev=$2; limit=$3; shift 3
        set -f
        nl=$(printf "\\nx"); nl=${nl%x}
        i=1; n=$#; run=
        while [ "$i" -le "$n" ]; do
          eval "r=\\${$i}"
          size=${r%% *}; rest=${r#* }; mtime=${rest%% *}; p=${rest#* }
          case $size$mtime in *[!0-9-]*) printf "kept bad_record %s\\000" "$p"; i=$((i + 1)); continue ;; esac
          case /$p/ in *//*|*/./*|*/../*) printf "kept bad_path %s\\000" "$p"; i=$((i + 1)); continue ;; esac
          dir=; case $p in */*) dir=${p%/*} ;; esac
          # The run: this record and the following well-formed ones in the same folder.
          # The names of the last run are dropped first: dash looks variables up in short hash chains,
          # so thousands of them would make every lookup slow.
          for k in $run; do unset b_$k; done
          run=; j=$i
          while [ "$j" -le "$n" ]; do
            eval "r=\\${$j}"
            size=${r%% *}; rest=${r#* }; mtime=${rest%% *}; q=${rest#* }
            case $size$mtime in *[!0-9-]*) break ;; esac
            case /$q/ in *//*|*/./*|*/../*) break ;; esac
            qd=; case $q in */*) qd=${q%/*} ;; esac
            [ "$qd" = "$dir" ] || break
            eval "b_$j=\\${q##*/}"
            run="$run$j "
            j=$((j + 1))
          done
          i=$j
          ok=yes
          if ! cd -P -- "$top"; then ok=error; fi
          if [ "$ok" = yes ] && [ -n "$dir" ]; then
            IFS=/
            for c in $dir; do
              if [ -L "./$c" ] || [ ! -d "./$c" ] || ! cd -P -- "./$c"; then ok=symlink_or_not_folder; break; fi
            done
            unset IFS
          fi
          if [ "$ok" != yes ]; then
            for k in $run; do eval "r=\\${$k}"; p=${r#* }; p=${p#* }; printf "kept $ok %s\\000" "$p"; done
            continue
          fi
          pm=$(stat -c %Y .) || pm=
          # Cheap builtin checks first, so the one stat below sees only names that were regular files.
          cand=; args=
          for k in $run; do
            eval "f=./\\$b_$k; r=\\${$k}"; p=${r#* }; p=${p#* }
            if [ -L "$f" ]; then printf "kept symlink %s\\000" "$p"
            elif [ ! -e "$f" ]; then printf "kept missing %s\\000" "$p"
            elif [ ! -f "$f" ]; then printf "kept not_regular %s\\000" "$p"
            else cand="$cand$k "; args="$args \\"./\\$b_$k\\""
            fi
          done
          [ -n "$cand" ] || continue
          # One stat for the candidates of the folder: one line per name, in order. If it fails for any name
          # (gone since the test) the lines no longer pair with the names, so the run falls back to one
          # stat per name.
          st=; if eval "st=\\$(stat -c \\"%d %s %Y %F\\" --$args 2>/dev/null)"; then
            cnt=0; IFS=$nl; for line in $st; do cnt=$((cnt + 1)); done; unset IFS
            for k in $cand; do cnt=$((cnt - 1)); done
            [ "$cnt" -eq 0 ] || st=
          else st=; fi
          if [ -z "$st" ]; then
            for k in $cand; do
              eval "f=./\\$b_$k"
              if line=$(stat -c "%d %s %Y %F" -- "$f" 2>/dev/null); then st="$st$line$nl"; else st="$st-$nl"; fi
            done
          fi
          okl=; rms=; rest=$cand
          IFS=$nl
          for line in $st; do
            unset IFS
            k=${rest%% *}; rest=${rest#* }
            eval "r=\\${$k}"; e=${r#* }; p=${e#* }; e="${r%% *} ${e%% *}"
            why=
            case $line in
              -) why=missing ;;
              *" symbolic link") why=symlink ;;
              *" regular file"|*" regular empty file")
                case $line in
                  "$dev $e "*) ;;
                  "$dev "*) why=changed ;;
                  *) why=other_device ;;
                esac ;;
              *) why=not_regular ;;
            esac
            if [ -n "$why" ]; then printf "kept $why %s\\000" "$p"
            else okl="$okl$k "; rms="$rms \\"./\\$b_$k\\""
            fi
            IFS=$nl
          done
          unset IFS
          [ -n "$okl" ] || continue
          eval "rm -f --$rms"
          gone=
          for k in $okl; do
            eval "f=./\\$b_$k; r=\\${$k}"; p=${r#* }; p=${p#* }
            if [ -e "$f" ] || [ -L "$f" ]; then printf "kept rm_failed %s\\000" "$p"; continue; fi
            printf "deleted %s\\000" "$p"; gone=yes
          done
          if [ -n "$gone" ] && [ -n "$dir" ] && [ -n "$pm" ] && [ "$pm" -le "$limit" ]; then
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

    /// One file to delete if it is still this size and mtime: the listing's own file type.
    public typealias Record = RemoteFile

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

    public static func stdin(folder: [UInt8], paths: [[UInt8]]) -> [UInt8] {
        var bytes = folder + [UInt8(ascii: "\n")]
        for path in paths { bytes += path; bytes.append(0) }
        return bytes
    }
}
