/// The fixed shell script that lists one folder of a source in a single remote call.
///
/// Run it as `sh -c "$text"` (ssh: `ssh host sh -c '<text>'`; docker: `docker exec -i C sh -c <text>`) and
/// write `stdin(root:folder:)` to its standard input. It prints `mediasync-listing-begin` (what comes before
/// it is a noisy remote shell's), the source's clock (`date +%s`) on the next line, then `find`, `rsync` or
/// `absent`, then the listing in that format: GNU find's
/// `%T@ %s %P\0` records, or `rsync -r --list-only` lines where find has no `-printf` (busybox). `absent`
/// means the root is there but the folder is not (yet): Forge creates `img2img-images` only when that tab is
/// first used, so such a folder is an empty one, not an error.
///
/// The purge's listing may ask for a second time per file (`purge.age_by`), as a third line on stdin: `a` (access
/// time: `find-atime`, GNU find's `%A@ %T@ %s %P\0`; where find has no `-printf`, `rsync-atime`, rsync's
/// `--list-only --atimes`, rsync 3.2 or newer) or `b` (birth time: `stat-birth`, GNU stat's statx `%W %Y %s %n\0`
/// for what find lists; a `stat` that cannot (busybox, coreutils before 8.31) gives the plain `find` or `rsync`
/// listing, whose files then have no birth time). A file that vanishes between find and stat is left out.
///
/// Exit codes: 2 no path on stdin, 3 the root cannot be entered (missing or not allowed), 4 no clock,
/// 5 the folder exists but cannot be entered. find's own 1 when entries vanish while it reads them (a
/// generator or a person deleting) comes through as it is: its listing is complete for the rest, and
/// `VanishedFiles` tells those messages from real failures.
///
/// Why it cannot be injected: the script is a constant; no byte of the folder path or of any file name is
/// ever part of a command string. The paths arrive on stdin, are stored with a command substitution into
/// variables and are only ever expanded inside double quotes, which the shell never parses again. The text
/// holds no single quote, so wrapping it in `'...'` for ssh's remote shell is exact.
public enum RemoteListScript {
    /// The script text. It changes only with a new listing format (bump the parser with it).
    public static let text: String = """
        echo mediasync-listing-begin
        unset CDPATH
        export LC_ALL=C TZ=UTC
        nl=$(printf "\\nx"); nl=${nl%x}
        a=$(tr "\\000" "\\n"; echo /)
        r=${a%%"$nl"*}
        f=${a#*"$nl"}; f=${f%%"$nl"*}
        k=${a#*"$nl"}; k=${k#*"$nl"}; k=${k%%"$nl"*}
        if [ -z "$r" ] || [ "$r" = "$a" ]; then echo "mediasync-list: no folder path on stdin" >&2; exit 2; fi
        case $r in /*) ;; *) r=./$r ;; esac
        cd -- "$r" || exit 3
        date +%s || exit 4
        if [ -n "$f" ]; then
          if [ ! -e "$f" ] && [ ! -L "$f" ]; then echo absent; exit 0; fi
          cd -- "$f" || exit 5
        fi
        if find . -maxdepth 0 -printf "" >/dev/null 2>&1; then
          if [ "$k" = a ]; then
            echo find-atime
            exec find . -type f -printf "%A@ %T@ %s %P\\0"
          fi
          if [ "$k" = b ] && stat --printf "%W" . >/dev/null 2>&1; then
            echo stat-birth
            find . -type f -print0 | xargs -0 -r stat --printf "%W %Y %s %n\\0" -- 2>/dev/null
            exit 0
          fi
          echo find
          exec find . -type f -printf "%T@ %s %P\\0"
        fi
        if [ "$k" = a ]; then
          echo rsync-atime
          exec rsync -r --list-only --atimes ./
        fi
        echo rsync
        exec rsync -r --list-only ./
        """

    /// The bytes to write to the script's stdin: the source's root and the folder below it, each ended by
    /// a NUL (the script reads them as lines: the config refuses line breaks in both).
    public static func stdin(root: [UInt8], folder: [UInt8], ageBy: PurgeAgeBy = .modified) -> [UInt8] {
        switch ageBy {
        case .modified: root + [0] + folder + [0]
        case .accessed: root + [0] + folder + [0, UInt8(ascii: "a"), 0]
        case .created: root + [0] + folder + [0, UInt8(ascii: "b"), 0]
        }
    }
}
