import Foundation
import MediaSyncCore
import Testing

/// The delete script reads a folder's candidates with one `stat`; these check that its per-file answers stay
/// paired with the right names when that one call goes wrong.
@Suite("purge script, one stat per folder")
struct PurgeScriptBatchTests {
    @Test("a file that vanishes between the builtin tests and the folder's stat: every answer names the right file")
    func vanishedBeforeTheBatchedStat() throws {
        let temp = try TempFolder("pgb")
        let folder = temp.sub(PurgeScriptTests.folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let names = (0..<30).map { String(format: "img %02d.png", $0) }
        var records: [RemotePurgeScript.Record] = []
        for (index, name) in names.enumerated() {
            try BytePath.write(Array((folder + "/" + name).utf8), Array(repeating: 1, count: 5), mtime: 1_600_000_000)
            // Every seventh record expects another size: the source changed it, so it must stay.
            records.append(RemotePurgeScript.Record(path: Array(name.utf8), size: index % 7 == 3 ? 6 : 5,
                                                    mtime: 1_600_000_000))
        }
        // A `stat` ahead on PATH that, when handed more than one name, removes one of them first: the batched
        // call then prints one line fewer than the names it got, as when another program deleted the file.
        let shim = temp.sub("bin")
        try FileManager.default.createDirectory(atPath: shim, withIntermediateDirectories: true)
        let realStat = ["/usr/bin/stat", "/bin/stat"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let stat = try #require(realStat)
        // Written by a child process, so no child another test forks meanwhile inherits it open for writing
        // (exec would fail with ETXTBSY and the shell would take the real stat further down PATH).
        let script = """
            #!/bin/sh
            if [ "$#" -gt 5 ]; then rm -f -- "./img 11.png"; fi
            exec \(stat) "$@"
            """
        _ = try Tool.check(["/bin/sh", "-c", "printf '%s\\n' \"$1\" > \"$2\" && chmod 755 \"$2\"", "sh", script, shim + "/stat"])

        let source = Source(name: "s", transport: .local, root: temp.path, folders: [PurgeScriptTests.folder])
        let commands = TransportCommands(source: source, controlFolder: "/unused", fallbackControlFolder: "/tmp",
                                         ioTimeoutSeconds: 10)
        var environment = commands.environment(parent: ProcessInfo.processInfo.environment)
        environment["PATH"] = shim + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let out = try Tool.run(commands.purgeArgv(),
                               input: commands.purgeStdin(folder: PurgeScriptTests.folder, minAgeSeconds: 60,
                                                          records: records),
                               environment: environment)
        #expect(out.status == 0, "purge script failed: \(out.errorText)")
        var parser = RemotePurgeOutput()
        var answers: [String: String] = [:]
        parser.feed(out.stdout) { result in
            switch result {
            case let .deleted(path): answers[String(decoding: path, as: UTF8.self)] = "deleted"
            case let .kept(reason, path): answers[String(decoding: path, as: UTF8.self)] = reason
            default: break
            }
        }
        var expected: [String: String] = [:]
        for (index, name) in names.enumerated() { expected[name] = index % 7 == 3 ? "changed" : "deleted" }
        expected["img 11.png"] = "missing"
        #expect(answers == expected)
        for (index, name) in names.enumerated() {
            #expect(FileManager.default.fileExists(atPath: folder + "/" + name) == (index % 7 == 3), "\(name)")
        }
    }
}
