/// One thing wrong with a config file: where it is, which key, what is wrong and how to fix it.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// The config file's name as given to the parser (printed first, like a compiler does).
    public var file: String
    /// 1-based line and column of the value (or of the mapping that lacks a key).
    public var line: Int
    public var column: Int
    /// Key path such as `sources[1].port`; empty for file-level problems (syntax, empty file).
    public var path: String
    /// What is wrong, in the user's words.
    public var problem: String
    /// How to fix it.
    public var fix: String

    public init(file: String, line: Int, column: Int, path: String, problem: String, fix: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.problem = problem
        self.fix = fix
    }

    /// `config.yaml:14:5: sources[1].container: missing; a docker source needs ...`
    public var description: String {
        let location = "\(file):\(line):\(column): "
        let key = path.isEmpty ? "" : "\(path): "
        return location + key + problem + (fix.isEmpty ? "" : "; " + fix)
    }
}

/// Every problem found in a config file, in file order; thrown by ``Config/parse(yaml:fileName:environment:homeDirectory:)``.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) { self.issues = issues }

    /// One issue per line.
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
