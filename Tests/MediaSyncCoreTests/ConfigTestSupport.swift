import MediaSyncCore
import Testing

/// Parses `yaml` as `config.yaml` with home `/home/ada`.
func parseConfig(_ yaml: String, environment: [String: String] = [:]) throws -> Config {
    try Config.parse(yaml: yaml, fileName: "config.yaml", environment: environment, homeDirectory: "/home/ada")
}

/// The issues a broken config produces; records a test failure if it parses.
func configIssues(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigIssue] {
    do {
        let config = try Config.parse(yaml: yaml, fileName: "config.yaml", environment: [:], homeDirectory: "/home/ada")
        Issue.record("expected errors, parsed: \(config)", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.issues
    }
}

/// The one issue about `path`; records a failure unless there is exactly one.
func configIssue(_ yaml: String, path: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigIssue? {
    let all = configIssues(yaml, sourceLocation: sourceLocation)
    let matching = all.filter { $0.path == path }
    #expect(matching.count == 1, "issues: \(all.map(\.description))", sourceLocation: sourceLocation)
    return matching.first
}
