/// What the rsync output parser hands out: one typed record per line of rsync's output.
///
/// rsync is started with `--info=progress2` and `RsyncOutputParser.outFormat`; its stdout and
/// stderr are fed to two parsers (`RsyncOutputParser(stream: .stdout)` / `.stderr`).
public enum RsyncRecord: Equatable, Sendable {
    /// One `--info=progress2` record: the whole run's counters.
    case progress(RsyncProgress)
    /// One transferred or skipped file, from the `--out-format` line.
    case file(RsyncFileRecord)
    /// A warning or error that rsync, ssh or the remote shell printed.
    case message(RsyncMessage)
}

/// One `--info=progress2` line, e.g. `  3,000,000   5%  148.94MB/s    0:00:00 (xfr#1, to-chk=19/22)`.
public struct RsyncProgress: Equatable, Sendable {
    /// Bytes transferred so far in this rsync run.
    public var bytes: Int64
    /// rsync's own percent (0...100); it can fall while the file list grows.
    public var percent: Int
    /// Transfer rate in bytes per second, as rsync printed it (`148.94MB/s` = 148.94 * 1024 * 1024).
    public var bytesPerSecond: Double
    /// The time field in seconds: time remaining while a file is in flight, elapsed time on a
    /// record that finishes a file (`finishesFile`); -1 when rsync printed `??:??:??` (no estimate).
    public var seconds: Int
    /// `xfr#N`: the number of files transferred so far. Absent on records printed while a file is
    /// in flight; rsync 3.5.0 prints `xfr#0` on its closing records when nothing was sent.
    public var transferNumber: Int?
    /// N of `to-chk=N/M` or `ir-chk=N/M`: files still to check.
    public var checkRemaining: Int?
    /// M of `to-chk=N/M` or `ir-chk=N/M`: files in the list so far.
    public var checkTotal: Int?
    /// True for `ir-chk` (incremental recursion: the totals are still growing), false for `to-chk`.
    public var totalsGrowing: Bool

    /// True when this record carries the `(xfr#N, to-chk=N/M)` counters: printed because a file
    /// finished, or rsync's closing record (then with `xfr#0` if nothing was sent).
    public var finishesFile: Bool { transferNumber != nil }

    public init(bytes: Int64, percent: Int, bytesPerSecond: Double, seconds: Int,
                transferNumber: Int? = nil, checkRemaining: Int? = nil, checkTotal: Int? = nil,
                totalsGrowing: Bool = false) {
        self.bytes = bytes
        self.percent = percent
        self.bytesPerSecond = bytesPerSecond
        self.seconds = seconds
        self.transferNumber = transferNumber
        self.checkRemaining = checkRemaining
        self.checkTotal = checkTotal
        self.totalsGrowing = totalsGrowing
    }
}

/// One file line printed through `RsyncOutputParser.outFormat`.
public struct RsyncFileRecord: Equatable, Sendable {
    /// The itemize string (`%i`), e.g. `>f+++++++++` for a new file, `.f...p.....` for a skipped one.
    public var itemize: String
    /// The file's path relative to the transfer root, with rsync's `\#ooo` escapes decoded: the exact
    /// bytes. Folders end in `/` (the root is `./`), as rsync's `%n` prints them.
    public var name: [UInt8]
    /// The file's size in bytes (`%l`).
    public var size: Int64

    public init(itemize: String, name: [UInt8], size: Int64) {
        self.itemize = itemize
        self.name = name
        self.size = size
    }

    /// The path as a String; invalid UTF-8 is replaced with U+FFFD (use `name` for the exact bytes).
    public var path: String { String(decoding: name, as: UTF8.self) }

    /// True when rsync sent data for this file (itemize starts with `>`, or `c`/`h` for local copies).
    public var transferred: Bool {
        let first = itemize.utf8.first
        return first == UInt8(ascii: ">") || first == UInt8(ascii: "c")
    }

    /// True for a regular file (itemize's second character is `f`). Asked of every file by the machine and
    /// the progress model: read as bytes, not as Characters (String's index walk was 2% of a small-file sync).
    public var isFile: Bool { itemize.utf8.dropFirst().first == UInt8(ascii: "f") }
}

/// A line of rsync's, ssh's or the remote shell's complaints.
public struct RsyncMessage: Equatable, Sendable {
    public enum Severity: String, Sendable { case info, warning, error }
    /// Who said it, as far as the text tells.
    public enum Origin: String, Sendable { case rsync, ssh, remote }

    public var severity: Severity
    public var origin: Origin
    /// The line as printed, without its line end.
    public var text: String
    /// `N` of `rsync error: ... (code N)`, when the line carries it.
    public var exitCode: Int32?

    public init(severity: Severity, origin: Origin, text: String, exitCode: Int32? = nil) {
        self.severity = severity
        self.origin = origin
        self.text = text
        self.exitCode = exitCode
    }
}
