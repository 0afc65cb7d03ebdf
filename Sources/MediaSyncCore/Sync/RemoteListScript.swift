/// The fixed shell script that lists one folder of a source in a single remote call.
///
/// Run it as `sh -c "$text"` (ssh: `ssh host sh -c '<text>'`; docker: `docker exec -i C sh -c <text>`) and
/// write `stdin(folder:)` to its standard input. It prints `mediasync-listing-begin` (what comes before it
/// is a noisy remote shell's), the source's clock (`date +%s`) on the next line, then `find` or `rsync`,
/// then the listing in that format: GNU find's
/// `%T@ %s %P\0` records, or `rsync -r --list-only` lines where find has no `-printf` (busybox).
///
/// Why it cannot be injected: the script is a constant; no byte of the folder path or of any file name is
/// ever part of a command string. The path arrives on stdin, is stored with a command substitution into a
/// variable and is only ever expanded inside double quotes, which the shell never parses again. The text
/// holds no single quote, so wrapping it in `'...'` for ssh's remote shell is exact.
public enum RemoteListScript {
    /// The script text. It changes only with a new listing format (bump the parser with it).
    public static let text: String = """
        echo mediasync-listing-begin
        unset CDPATH
        export LC_ALL=C TZ=UTC
        d=$(tr -d "\\000"; echo /)
        d=${d%/}
        if [ -z "$d" ]; then echo "mediasync-list: no folder path on stdin" >&2; exit 2; fi
        case $d in /*) ;; *) d=./$d ;; esac
        cd -- "$d" || exit 3
        date +%s || exit 4
        if find . -maxdepth 0 -printf "" >/dev/null 2>&1; then
          echo find
          exec find . -type f -printf "%T@ %s %P\\0"
        fi
        echo rsync
        exec rsync -r --list-only ./
        """

    /// The bytes to write to the script's stdin for `folder`: the path, then one NUL.
    /// A NUL inside a path is impossible on POSIX, so the terminator cannot be forged.
    public static func stdin(folder: [UInt8]) -> [UInt8] {
        folder + [0]
    }

    /// The remote command string for ssh, whose remote shell parses its command: `sh -c '<text>'`.
    public static var sshCommand: String { "sh -c '" + text + "'" }
}
