/// How numbers read on the live view: `150.2 MiB`, `12.3 MiB/s`, `1m05s`, `45.2%`.
public enum ViewFormat {
    /// Binary units with one decimal above 1 KiB: `512 B`, `1.5 KiB`, `150.2 MiB`, `1.2 GiB`.
    public static func bytes(_ n: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        guard n >= 1024 else { return "\(max(n, 0)) B" }
        var value = Double(n) / 1024
        var unit = 0
        // 1023.96 KiB would print as 1024.0 KiB: move up a unit before rounding does it.
        while value >= 1023.95, unit < units.count - 1 { value /= 1024; unit += 1 }
        return oneDecimal(value) + " " + units[unit]
    }

    /// `1 file`, `3 files`: a count with its noun, singular for one; `plural` for a noun that does not just
    /// take an s (`1 process`, `3 processes`).
    public static func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
        "\(n) \(n == 1 ? noun : plural ?? noun + "s")"
    }

    /// A rate in bytes per second: `12.3 MiB/s`.
    public static func rate(_ bytesPerSecond: Int64) -> String { bytes(bytesPerSecond) + "/s" }

    /// Whole seconds as `45s`, `1m05s`, `2h03m`; `--` when unknown.
    public static func duration(_ seconds: Int?) -> String {
        guard let seconds, seconds >= 0 else { return "--" }
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m\(pad2(seconds % 60))s" }
        return "\(seconds / 3600)h\(pad2(seconds / 60 % 60))m"
    }

    /// Elapsed time of a finished job: `12.3s` under a minute, else like `duration`.
    public static func elapsed(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        return seconds < 60 ? oneDecimal(seconds) + "s" : duration(Int(seconds.rounded()))
    }

    /// A percent with one decimal, floored as the progress model gives it: `45.2%`, `100.0%`.
    public static func percent(_ p: Double) -> String {
        oneDecimal((max(0, min(p, 100)) * 10 + 1e-9).rounded(.down) / 10) + "%"
    }

    static func oneDecimal(_ v: Double) -> String {
        let tenths = Int64((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
