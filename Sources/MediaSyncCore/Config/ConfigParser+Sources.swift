import Yams

extension ConfigParser {
    static let commonSourceKeys = ["name", "transport", "root", "folders", "dest", "bwlimit", "purge", "settle", "streams"]
    /// Every key a source may have: the common ones and each registered transport's own.
    static let allSourceKeys = commonSourceKeys + Transport.registered.flatMap { $0.keys }

    /// A folder's place in the library, kept to find two jobs writing into the same place.
    private struct Landing {
        let relative: String
        let node: Node
        let path: String
        let sourceIndex: Int
        /// The folder's absolute path on this machine, for local sources only.
        let localPath: String?
    }

    mutating func parseSources(_ entry: ConfigEntry, purgeEnabled: Bool, settle: Duration, library: String?) -> [Source]? {
        let example = "sources: [{name: forge, transport: docker, container: forge-1, root: /app/outputs, folders: [txt2img-images]}]"
        guard let sequence = entry.value.sequence else {
            reader.report(entry.value, entry.path, "expected a list of sources, found \(ConfigReader.describe(entry.value))",
                          fix: "start each source with `- name: ...` on its own line under `sources:`")
            return nil
        }
        if sequence.isEmpty {
            reader.report(entry.value, entry.path, "has no sources", fix: "add at least one, like `\(example)`")
            return nil
        }
        var sources: [Source] = []
        var names: [String: (index: Int, line: Int)] = [:]
        var landings: [Landing] = []
        var ok = true
        for (index, node) in sequence.enumerated() {
            let path = "sources[\(index)]"
            guard let mapping = reader.mapping(node, path, example: "- name: forge") else {
                ok = false
                continue
            }
            let startCount = reader.issues.count
            let source = parseSource(mapping, path: path, purgeEnabled: purgeEnabled, settle: settle)
            // Checked on the raw name, so a duplicate is reported even when the source has other mistakes.
            if let nameNode = mapping["name"], let name = nameNode.scalar?.string, SourceName.isValid(name) {
                if let first = names[name] {
                    reader.report(nameNode, "\(path).name",
                                  "`\(name)` is already the name of sources[\(first.index)] on line \(first.line)",
                                  fix: "give every source its own name; the name keys its files in the manifest")
                } else {
                    names[name] = (index, nameNode.mark?.line ?? 0)
                }
            }
            if let source {
                for (folder, folderNode, folderPath) in sourceFolders(mapping, path: path) where source.folders.contains(folder) {
                    landings.append(Landing(relative: ConfigPath.join(source.dest, folder), node: folderNode,
                                            path: folderPath, sourceIndex: index,
                                            localPath: source.transport.isOnThisMachine ? source.path(of: folder) : nil))
                }
                sources.append(source)
            }
            if source == nil || reader.issues.count != startCount { ok = false }
        }
        checkOverlaps(landings, library: library)
        if let library { checkLocalFoldersAgainstLibrary(landings, library: library) }
        return ok ? sources : nil
    }

    /// A local folder that is, holds, or sits inside a library destination would be copied onto
    /// itself, and a purge would then delete the only copy.
    private mutating func checkLocalFoldersAgainstLibrary(_ landings: [Landing], library: String) {
        for landing in landings {
            guard let local = landing.localPath else { continue }
            for target in landings {
                let destination = ConfigPath.join(library, target.relative)
                guard local == destination || local.hasPrefix(destination + "/") || destination.hasPrefix(local + "/") else {
                    continue
                }
                reader.report(landing.node, landing.path,
                              "\(local) overlaps the library folder \(destination) (\(target.path)), so files would be copied onto themselves",
                              fix: "point this source's root outside the library, or give the source another `dest:`")
                break
            }
        }
    }

    /// Two jobs that write into the same library folder (or one inside the other) would overwrite
    /// each other's files when names repeat, which Forge and ComfyUI do after a purge.
    private mutating func checkOverlaps(_ landings: [Landing], library: String?) {
        for (later, landing) in landings.enumerated() {
            for earlier in landings[..<later] {
                let a = landing.relative, b = earlier.relative
                guard a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/") else { continue }
                let shown = library.map { ConfigPath.join($0, a) } ?? "<library>/\(a)"
                let same = earlier.sourceIndex == landing.sourceIndex
                reader.report(landing.node, landing.path,
                              "lands in \(shown), which overlaps \(earlier.path) on line \(earlier.node.mark?.line ?? 0)",
                              fix: same ? "list each folder once, and not inside another listed folder"
                                        : "give one of the sources a different `dest:`")
                break
            }
        }
    }

    private func sourceFolders(_ mapping: Node.Mapping, path: String) -> [(String, Node, String)] {
        guard let folders = mapping["folders"]?.sequence else { return [] }
        return folders.enumerated().compactMap { index, node in
            node.scalar.map { (ConfigPath.trimmingTrailingSlashes($0.string), node, "\(path).folders[\(index)]") }
        }
    }

    /// One source, or nil when anything in it is wrong.
    private mutating func parseSource(_ mapping: Node.Mapping, path: String, purgeEnabled: Bool,
                                      settle: Duration) -> Source? {
        let allKeys = Self.allSourceKeys
        let misplaced = Dictionary(uniqueKeysWithValues: Config.topLevelKeys.filter { !allKeys.contains($0) }.map {
            ($0, (problem: "is a top-level key, not a source key", fix: "move it to the top of the file, without indentation"))
        })
        let keys = reader.entries(of: mapping, path: path, known: allKeys, misplaced: misplaced)
        let missing = ConfigMissingKey(path: path, mark: mapping.mark)

        var name: String?
        if let entry = keys["name"], let text = reader.string(entry, example: "forge") {
            if SourceName.isValid(text) {
                name = text
            } else {
                reader.report(entry.value, entry.path, "`\(text)` is not a valid source name",
                              fix: "use only letters, digits, `.`, `_` and `-` (e.g. `forge-1`); the name becomes a folder name")
            }
        } else if keys["name"] == nil {
            report(missing, "name", "every source needs a unique name, e.g. `name: forge`")
        }

        var kind: TransportKind?
        let valid = Transport.registered.map(\.name)
        if let entry = keys["transport"], let text = reader.string(entry, example: "docker") {
            kind = Transport.named(text)
            if kind == nil {
                let guess = ConfigSpelling.closest(to: text, in: valid).map { "did you mean `\($0)`? " } ?? ""
                reader.report(entry.value, entry.path, "`\(text)` is not a transport",
                              fix: guess + "valid transports are " + valid.map { "`\($0)`" }.joined(separator: ", "))
            }
        } else if keys["transport"] == nil {
            report(missing, "transport", "say how to reach it: " + valid.map { "`transport: \($0)`" }.joined(separator: ", "))
        }
        if let kind {
            for other in Transport.registered where other.name != kind.name {
                for key in other.keys where keys[key] != nil && !kind.keys.contains(key) {
                    reader.report(keys[key]!.key, "\(path).\(key)",
                                  "`\(key)` is for \(other.name) sources, but this source's transport is \(kind.name)",
                                  fix: "remove it, or set `transport: \(other.name)` if that is what you meant")
                }
            }
        }

        let root = parseRoot(keys["root"], kind: kind, missing: missing)
        let folders = parseFolders(keys["folders"], missing: missing)
        var dest = name
        if let entry = keys["dest"], let text = reader.string(entry, example: "forge") {
            let trimmed = ConfigPath.trimmingTrailingSlashes(text)
            if let problem = ConfigPath.problemAsRelativePath(trimmed) {
                reader.report(entry.value, entry.path, problem,
                              fix: "dest is a folder under the library, e.g. `dest: forge` or `dest: ai/forge`")
                dest = nil
            } else {
                dest = trimmed
            }
        }
        var bwlimit: String?
        if let entry = keys["bwlimit"], !ConfigReader.isNull(entry.value), let text = reader.string(entry, example: "20M") {
            if BandwidthLimit.isValid(text) {
                bwlimit = text
            } else {
                reader.report(entry.value, entry.path, "`\(text)` is not a bandwidth limit", fix: BandwidthLimit.hint)
            }
        }
        let purge = keys["purge"].map { reader.bool($0) } ?? purgeEnabled
        let sourceSettle = keys["settle"].map { reader.duration($0) } ?? settle
        let streams = keys["streams"].map { parseStreams($0) } ?? .auto
        let transport = kind.flatMap { parseTransport($0, keys: keys, missing: missing) }

        guard let name, let transport, let root, let folders, let dest, let purge, let sourceSettle, let streams else { return nil }
        return Source(name: name, transport: transport, root: root, folders: folders, dest: dest,
                      bwlimit: bwlimit, purge: purge, settle: sourceSettle, streams: streams)
    }

    /// `streams: auto` or a count from 1 to `StreamCount.maximum`.
    private mutating func parseStreams(_ entry: ConfigEntry) -> StreamCount? {
        let fix = "write `streams: auto` (several rsync streams on ssh when a folder's plan is big), or a count "
            + "from 1 to \(StreamCount.maximum), e.g. `streams: 4`"
        if let text = entry.value.scalar?.string, text.lowercased() == "auto" { return .auto }
        guard let scalar = entry.value.scalar, Int(scalar.string) != nil else {
            reader.report(entry.value, entry.path, "expected `auto` or a whole number, found \(ConfigReader.describe(entry.value))",
                          fix: fix)
            return nil
        }
        return reader.int(entry, range: 1...StreamCount.maximum, example: "4", fix: fix).map { .fixed($0) }
    }

    /// The transport's own keys, read by the transport (`SourceTransport.parse`).
    private mutating func parseTransport(_ kind: TransportKind, keys: [String: ConfigEntry],
                                         missing: ConfigMissingKey) -> Transport? {
        var transportKeys = TransportKeys(entries: keys, missing: missing, reader: reader, home: home)
        let transport = kind.parse(&transportKeys)
        reader = transportKeys.reader
        return transport
    }

    /// Reports that the mapping `missing` points at lacks `key`.
    mutating func report(_ missing: ConfigMissingKey, _ key: String, _ fix: String) {
        reader.report(at: missing.mark, "\(missing.path).\(key)", "missing", fix: fix)
    }

    private mutating func parseRoot(_ entry: ConfigEntry?, kind: TransportKind?, missing: ConfigMissingKey) -> String? {
        let where_ = kind?.rootPlace ?? "on this machine"
        let here = kind?.isOnThisMachine ?? false
        guard let entry else {
            report(missing, "root", "say where the output folders are \(where_), e.g. `root: /app/outputs`")
            return nil
        }
        guard let text = reader.string(entry, example: "/app/outputs") else { return nil }
        // `~` means this machine's home, so it only makes sense for local sources.
        let path = ConfigPath.trimmingTrailingSlashes(here ? ConfigPath.expandTilde(text, home: home) : text)
        guard path.hasPrefix("/") else {
            let tilde = text.hasPrefix("~") && !here ? " (`~` would be this machine's home, not the remote one)" : ""
            reader.report(entry.value, entry.path, "`\(text)` is not an absolute path\(tilde)",
                          fix: "write the full path \(where_), e.g. `root: /app/outputs`")
            return nil
        }
        if path.contains(where: \.isNewline) {
            // The listing and purge scripts read paths line by line from stdin.
            reader.report(entry.value, entry.path, "has a line break in it", fix: "write the folder's path on one line, e.g. `root: /app/outputs`")
            return nil
        }
        return path
    }

    private mutating func parseFolders(_ entry: ConfigEntry?, missing: ConfigMissingKey) -> [String]? {
        guard let entry else {
            report(missing, "folders", "list the folders under root to sync, e.g. `folders: [txt2img-images, img2img-images]`")
            return nil
        }
        guard let items = reader.stringList(entry, example: "[txt2img-images, img2img-images]") else { return nil }
        if items.isEmpty {
            reader.report(entry.value, entry.path, "is empty", fix: "list at least one folder under root, e.g. `[txt2img-images]`")
            return nil
        }
        var folders: [String] = []
        var ok = true
        for item in items {
            let folder = ConfigPath.trimmingTrailingSlashes(item.value)
            if let problem = ConfigPath.problemAsRelativePath(folder) {
                reader.report(item.node, item.path, problem,
                              fix: "a folder is a path below the source's root, e.g. `txt2img-images` or `output/video`; change root to reach elsewhere")
                ok = false
            }
            folders.append(folder)
        }
        return ok ? folders : nil
    }
}

/// Where to point when a key is missing: the mapping that should hold it.
struct ConfigMissingKey {
    let path: String
    let mark: Mark?
}
