import Foundation
import GRDB
import MediaSyncCore

/// The throwaway world `mediasync demo` runs in: a Forge-like and a ComfyUI-like output folder full of
/// real PNGs (with the text chunks those UIs write), an empty library, and the config that ties them.
public struct DemoWorld: Sendable {
    public let root: String
    public let library: String
    public let configPath: String
    public let config: Config
    public let forgeRoot: String
    public let comfyRoot: String
    /// Files written, and how many of them were written "just now" (they wait for a later cycle).
    public let files: Int
    public let freshFiles: Int
    public let bytes: Int64
    /// The SQLite database the reference ingest fills, when the demo runs one.
    public let ingestDatabase: String?

    /// Makes the world under a new temp folder. `images` is roughly how many pictures to generate.
    /// `ingestScript`: the SQLite reference ingest (contrib/ingest/sqlite), run with /usr/bin/python3 when both exist.
    public static func make(images: Int = 300, side: Int = 192, ingestScript: String? = nil) throws -> DemoWorld {
        var template = Array("/tmp/mediasync-demo-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw SyncRunner.Failure(description: "cannot make a temp folder under /tmp: \(String(cString: strerror(errno)))")
        }
        let root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let forge = root + "/sources/forge/outputs"
        let comfy = root + "/sources/comfyui/ComfyUI/output"
        let library = root + "/library"
        let state = root + "/state"
        let fm = FileManager.default
        try fm.createDirectory(atPath: library, withIntermediateDirectories: true)

        let now = Date().timeIntervalSince1970
        let day = 86_400.0
        var files = 0, fresh = 0
        var bytes: Int64 = 0
        func write(_ path: String, _ png: [UInt8], mtime: Double) throws {
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard fm.createFile(atPath: path, contents: Data(png)) else {
                throw SyncRunner.Failure(description: "cannot write \(path)")
            }
            var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, path, &times, 0)
            files += 1
            bytes += Int64(png.count)
        }
        let prompts = ["a lighthouse at dusk, oil painting", "portrait of a cat astronaut, studio light",
                       "misty forest, volumetric light", "cyberpunk street market, rain", "a bowl of ramen, macro"]
        // Forge: one folder per kind, one sub-folder per day; the last few written "now" still settle.
        let forgeKinds = [("txt2img-images", 0.5), ("img2img-images", 0.3), ("extras-images", 0.2)]
        let forgeCount = images * 2 / 3
        var seed = 3_912_345
        for (kind, share) in forgeKinds {
            let count = max(3, Int(Double(forgeCount) * share))
            for i in 0..<count {
                let age = Double(count - i) / Double(count) * 2.5 * day   // spread over 2.5 days
                let isFresh = kind == "txt2img-images" && i >= count - 3
                let mtime = isFresh ? now - 5 : now - age
                let date = Self.day(of: mtime)
                seed += 7
                let text = PNGWriter.forgeParameters(prompt: prompts[i % prompts.count], seed: seed, width: side, height: side)
                let png = try PNGWriter.encode(width: side, height: side,
                                               pixels: PNGWriter.gradient(width: side, height: side, seed: UInt32(seed)),
                                               text: [("parameters", text)])
                try write("\(forge)/\(kind)/\(date)/\(String(format: "%05d", i))-\(seed).png", png, mtime: mtime)
                if isFresh { fresh += 1 }
            }
        }
        // ComfyUI: flat ComfyUI_00001_.png names plus a sub-folder, prompt and workflow as JSON text chunks.
        let comfyCount = max(4, images - forgeCount)
        for i in 0..<comfyCount {
            let mtime = now - Double(comfyCount - i) / Double(comfyCount) * 1.5 * day
            seed += 11
            let prompt = #"{"3":{"class_type":"KSampler","inputs":{"seed":\#(seed),"steps":20}}}"#
            let workflow = #"{"last_node_id":9,"nodes":[{"id":3,"type":"KSampler"}]}"#
            let png = try PNGWriter.encode(width: side, height: side,
                                           pixels: PNGWriter.gradient(width: side, height: side, seed: UInt32(seed)),
                                           text: [("prompt", prompt), ("workflow", workflow)])
            let name = String(format: "ComfyUI_%05d_.png", i + 1)
            try write(i % 4 == 3 ? "\(comfy)/portraits/\(name)" : "\(comfy)/\(name)", png, mtime: mtime)
        }

        let sources = [
            // A bandwidth limit so the live view has a few seconds to show itself.
            Source(name: "forge", transport: .local, root: forge, folders: forgeKinds.map(\.0), bwlimit: "4M"),
            Source(name: "comfyui", transport: .local, root: comfy.replacingOccurrences(of: "/output", with: ""),
                   folders: ["output"], bwlimit: "4M"),
        ]
        var ingest: IngestSettings?
        var ingestDatabase: String?
        if let ingestScript, fm.isExecutableFile(atPath: "/usr/bin/python3"), fm.fileExists(atPath: ingestScript) {
            ingestDatabase = root + "/media.sqlite"
            // No purge in the demo, so nothing to verify.
            ingest = IngestSettings(command: ["/usr/bin/python3", ingestScript, ingestDatabase!], verifyBeforePurge: false)
        }
        let config = Config(library: library, stateDirectory: state, socket: state + "/mediasync.sock",
                            retry: RetryPolicy(attempts: 3, backoff: .seconds(1), maxBackoff: .seconds(5)),
                            sources: sources, ingest: ingest)
        let ingestYAML = ingest.map { settings in
            "ingest:\n  command: [" + settings.command.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n  verify_before_purge: false\n"
        } ?? ""
        let configPath = root + "/config.yaml"
        let yaml = """
            # Written by `mediasync demo`: the demo's sources and library. Try:
            #   mediasync sync --config \(configPath)
            library: \(library)
            state_dir: \(state)
            socket: \(state)/mediasync.sock
            retry: {attempts: 3, backoff: 1s, max_backoff: 5s}
            sources:
              - name: forge
                transport: local
                root: \(forge)
                folders: [txt2img-images, img2img-images, extras-images]
                bwlimit: 4M
              - name: comfyui
                transport: local
                root: \(root)/sources/comfyui/ComfyUI
                folders: [output]
                bwlimit: 4M
            \(ingestYAML)
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        return DemoWorld(root: root, library: library, configPath: configPath, config: config, forgeRoot: forge,
                         comfyRoot: comfy, files: files, freshFiles: fresh, bytes: bytes,
                         ingestDatabase: ingestDatabase)
    }

    static func day(of time: Double) -> String {
        let days = Int64(time) / 86_400
        let (y, m, d) = Timestamp.civil(fromDays: days)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }
}

extension DemoWorld {
    /// What the demo's ingest put in its database: rows, and one Forge image's generation settings.
    public func ingestSummary() -> [String] {
        guard let path = ingestDatabase else { return [] }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let db = try DatabaseQueue(path: path, configuration: configuration)
            return try db.read { db in
                let rows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM media_files") ?? 0
                let withSettings = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM media_files WHERE json_extract(texts, '$.parameters') IS NOT NULL
                       OR json_extract(texts, '$.prompt') IS NOT NULL
                    """) ?? 0
                var lines = ["\(rows) rows in \(path), \(withSettings) with generation settings"]
                if let sample = try Row.fetchOne(db, sql: """
                    SELECT library_path_text, width, height, json_extract(texts, '$.parameters') FROM media_files
                    WHERE json_extract(texts, '$.parameters') IS NOT NULL ORDER BY library_path_text LIMIT 1
                    """) {
                    let name = (sample[0] as String).replacingOccurrences(of: library + "/", with: "")
                    let settings = (sample[3] as String).split(separator: "\n").last.map(String.init) ?? ""
                    lines.append("e.g. \(name) (\(sample[1] as Int? ?? 0)x\(sample[2] as Int? ?? 0)): \(settings)")
                }
                return lines
            }
        } catch {
            return ["cannot read \(path): \(error)"]
        }
    }
}
