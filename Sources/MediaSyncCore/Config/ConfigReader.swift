import Yams

/// Walks Yams nodes and collects every problem instead of stopping at the first one.
///
/// Each accessor returns nil after recording an issue, so the parser can keep going and report the
/// rest of the file in the same run.
struct ConfigReader {
    let file: String
    private(set) var issues: [ConfigIssue] = []

    init(file: String) { self.file = file }

    mutating func report(at mark: Mark?, _ path: String, _ problem: String, fix: String) {
        issues.append(ConfigIssue(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                                  path: path, problem: problem, fix: fix))
    }

    mutating func report(_ node: Node, _ path: String, _ problem: String, fix: String) {
        report(at: node.mark, path, problem, fix: fix)
    }

    /// Issues sorted by position, so the output reads top to bottom like the file.
    var sortedIssues: [ConfigIssue] {
        issues.enumerated().sorted { lhs, rhs in
            (lhs.element.line, lhs.element.column, lhs.offset) < (rhs.element.line, rhs.element.column, rhs.offset)
        }.map(\.element)
    }

    // MARK: Mappings

    /// The entries of a mapping by key. Unknown keys are reported with the closest known key;
    /// keys listed in `misplaced` get the explanation given there instead.
    mutating func entries(of mapping: Node.Mapping, path: String, known: [String],
                          misplaced: [String: (problem: String, fix: String)] = [:]) -> [String: ConfigEntry] {
        var result: [String: ConfigEntry] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(keyNode, path, "a key must be plain text", fix: "write `key: value`")
                continue
            }
            let keyPath = Self.join(path, key)
            if known.contains(key) {
                result[key] = ConfigEntry(key: keyNode, value: value, path: keyPath)
            } else if let why = misplaced[key] {
                report(keyNode, keyPath, why.problem, fix: why.fix)
            } else if let guess = ConfigSpelling.closest(to: key, in: known) {
                report(keyNode, keyPath, "unknown key", fix: "did you mean `\(guess)`?")
            } else {
                report(keyNode, keyPath, "unknown key",
                       fix: "the keys allowed here are " + known.map { "`\($0)`" }.joined(separator: ", "))
            }
        }
        return result
    }

    /// A mapping, or nil (reported) when the node is something else.
    mutating func mapping(_ node: Node, _ path: String, example: String) -> Node.Mapping? {
        if let mapping = node.mapping { return mapping }
        report(node, path, "expected a mapping of keys, found \(Self.describe(node))", fix: "write it like `\(example)`")
        return nil
    }

    // MARK: Scalars

    /// True when the value is YAML null (`key:` with nothing after it, `~`, `null`).
    static func isNull(_ node: Node) -> Bool {
        node.null != nil
    }

    mutating func string(_ entry: ConfigEntry, example: String) -> String? {
        guard let scalar = entry.value.scalar, !Self.isNull(entry.value) else {
            report(entry.value, entry.path, Self.isNull(entry.value) ? "has no value" : "expected text, found \(Self.describe(entry.value))",
                   fix: "write it like `\(entry.path.lastKey): \(example)`")
            return nil
        }
        return scalar.string
    }

    mutating func int(_ entry: ConfigEntry, range: ClosedRange<Int>, example: String, fix: String) -> Int? {
        guard let scalar = entry.value.scalar, let value = Int(scalar.string) else {
            report(entry.value, entry.path, "expected a whole number, found \(Self.describe(entry.value))",
                   fix: "write it like `\(entry.path.lastKey): \(example)`")
            return nil
        }
        guard range.contains(value) else {
            report(entry.value, entry.path, "\(value) is out of range", fix: fix)
            return nil
        }
        return value
    }

    mutating func bool(_ entry: ConfigEntry) -> Bool? {
        if let value = entry.value.bool { return value }
        // Quoted "true" is text to YAML; accept it, as the intent is plain.
        switch entry.value.scalar?.string.lowercased() {
        case "true": return true
        case "false": return false
        default: break
        }
        report(entry.value, entry.path, "expected true or false, found \(Self.describe(entry.value))",
               fix: "write `\(entry.path.lastKey): true` or `\(entry.path.lastKey): false`")
        return nil
    }

    mutating func duration(_ entry: ConfigEntry, minimum: Duration = .zero) -> Duration? {
        guard let scalar = entry.value.scalar, let value = DurationSyntax.parse(scalar.string) else {
            report(entry.value, entry.path, "\(Self.describe(entry.value)) is not a duration", fix: DurationSyntax.hint)
            return nil
        }
        guard value >= minimum else {
            report(entry.value, entry.path, "must be at least \(DurationSyntax.format(minimum))",
                   fix: "write a longer duration, e.g. `\(entry.path.lastKey): 1m`")
            return nil
        }
        return value
    }

    /// A list of text items; a single text value is refused with the list form as fix.
    mutating func stringList(_ entry: ConfigEntry, example: String) -> [(value: String, node: Node, path: String)]? {
        guard let sequence = entry.value.sequence else {
            report(entry.value, entry.path, "expected a list, found \(Self.describe(entry.value))",
                   fix: "write it like `\(entry.path.lastKey): \(example)`")
            return nil
        }
        var items: [(String, Node, String)] = []
        var ok = true
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(entry.path)[\(index)]"
            if let scalar = item.scalar, !Self.isNull(item) {
                items.append((scalar.string, item, itemPath))
            } else {
                report(item, itemPath, "expected text, found \(Self.describe(item))", fix: "each item is one text value, like \(example)")
                ok = false
            }
        }
        return ok ? items : nil
    }

    // MARK: Text

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// How a node looks to a person: `a list`, `a mapping`, `nothing`, or the text in backticks.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case let .scalar(scalar): isNull(node) ? "nothing" : "`\(scalar.string)`"
        }
    }
}

/// One key of a mapping with its value and full key path.
struct ConfigEntry {
    let key: Node
    let value: Node
    let path: String
}

extension String {
    /// `sources[1].port` -> `port`: the key as the user writes it.
    fileprivate var lastKey: String {
        String(split(separator: ".").last.map { $0.split(separator: "[").first ?? $0 } ?? Substring(self))
    }
}
