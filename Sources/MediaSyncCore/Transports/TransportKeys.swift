/// One source's keys as a transport reads them in `SourceTransport.parse`. Each reader reports what is wrong
/// (the line, the key, a fix) and returns nil, so the parser lists every mistake of the file in one run.
///
/// ```swift
/// let container = keys.requiredWord("container", example: "forge-1", what: "container name",
///                                   ifMissing: "a docker source needs the container name, e.g. `container: forge-1`")
/// var port: Int? = nil
/// if keys.isSet("port") { port = keys.int("port", range: 1...65535, example: "22", fix: "...") }
/// ```
public struct TransportKeys {
    var entries: [String: ConfigEntry]
    let missing: ConfigMissingKey
    var reader: ConfigReader
    let home: String

    init(entries: [String: ConfigEntry], missing: ConfigMissingKey, reader: ConfigReader, home: String) {
        self.entries = entries
        self.missing = missing
        self.reader = reader
        self.home = home
    }

    /// True when the source has the key, with a value or without (`port:` alone).
    public func isPresent(_ key: String) -> Bool { entries[key] != nil }

    /// True when the source has the key with a value (`port:` alone, `~` and `null` are no value).
    public func isSet(_ key: String) -> Bool {
        entries[key].map { !ConfigReader.isNull($0.value) } ?? false
    }

    /// Reports that the source lacks `key`.
    public mutating func reportMissing(_ key: String, fix: String) {
        reader.report(at: missing.mark, "\(missing.path).\(key)", "missing", fix: fix)
    }

    /// Reports a problem with the value of `key`, which the source has.
    public mutating func report(_ key: String, _ problem: String, fix: String) {
        guard let entry = entries[key] else { return reportMissing(key, fix: fix) }
        reader.report(entry.value, entry.path, problem, fix: fix)
    }

    /// A single word that is handed to a command as one argument: no spaces, and no leading `-` (it would be
    /// read as an option of docker or ssh).
    public mutating func word(_ key: String, example: String, what: String) -> String? {
        guard let entry = entries[key], let text = reader.string(entry, example: example) else { return nil }
        if text.isEmpty {
            reader.report(entry.value, entry.path, "is empty", fix: "write the \(what), e.g. `\(example)`")
            return nil
        }
        if text.hasPrefix("-") {
            reader.report(entry.value, entry.path, "`\(text)` starts with `-`, so it would be read as an option",
                          fix: "write the \(what) itself, e.g. `\(example)`")
            return nil
        }
        if text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            reader.report(entry.value, entry.path, "`\(text)` has a space in it",
                          fix: "write one \(what) only, e.g. `\(example)`")
            return nil
        }
        return text
    }

    /// A word (see `word`) the transport cannot do without: reported as missing, with `fix`, when absent.
    public mutating func requiredWord(_ key: String, example: String, what: String, ifMissing fix: String) -> String? {
        guard isPresent(key) else {
            reportMissing(key, fix: fix)
            return nil
        }
        return word(key, example: example, what: what)
    }

    /// A whole number in `range`.
    public mutating func int(_ key: String, range: ClosedRange<Int>, example: String, fix: String) -> Int? {
        guard let entry = entries[key] else { return nil }
        return reader.int(entry, range: range, example: example, fix: fix)
    }

    /// A file on this machine (a key, a config file) as an absolute path, `~` expanded.
    public mutating func localPath(_ key: String, example: String, what: String) -> String? {
        guard let entry = entries[key], let text = reader.string(entry, example: example) else { return nil }
        let path = expandTilde(text)
        guard path.hasPrefix("/") else {
            reader.report(entry.value, entry.path, "`\(text)` is a relative path",
                          fix: "write the \(what)'s full path, e.g. `\(key): \(example)`")
            return nil
        }
        return path
    }

    /// A list of text items, each checked by `problem` (nil when the item is fine); nil when any is not.
    public mutating func stringList(_ key: String, example: String,
                                    problem: (String) -> (problem: String, fix: String)?) -> [String]? {
        guard let entry = entries[key], let items = reader.stringList(entry, example: example) else { return nil }
        var ok = true
        for item in items {
            if let wrong = problem(item.value) {
                reader.report(item.node, item.path, wrong.problem, fix: wrong.fix)
                ok = false
            }
        }
        return ok ? items.map(\.value) : nil
    }

    /// `~` or `~/...` as this machine's home.
    public func expandTilde(_ path: String) -> String {
        ConfigPath.expandTilde(path, home: home)
    }
}
