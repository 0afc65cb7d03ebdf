/// How a percent is shown: floored to one decimal, and below 100 until the work is complete.
public enum ProgressPercent {
    public static func displayed(_ raw: Double, complete: Bool) -> Double {
        if complete { return 100 }
        guard raw.isFinite, raw > 0 else { return 0 }
        // The nudge keeps 0.58 * 100 (57.999...) from showing as 57.9.
        return min((raw * 10 + 1e-9).rounded(.down) / 10, 99.9)
    }

    /// Done over total by bytes, or by files when there are no bytes to count (a tree of empty files).
    public static func raw(bytesDone: Int64, bytesTotal: Int64, filesDone: Int, filesTotal: Int) -> Double {
        if bytesTotal > 0 { return Double(bytesDone) / Double(bytesTotal) * 100 }
        if filesTotal > 0 { return Double(filesDone) / Double(filesTotal) * 100 }
        return 0
    }
}
