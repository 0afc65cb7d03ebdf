import Foundation
import MediaSyncCore
import Testing

/// Each transport, run for real: the listing script and the rsync transfer against a local folder, a
/// real sshd on loopback, and the docker shim. The folder path has spaces and a `'` everywhere.
@Suite("transports: listing and transfer for real")
struct TransportTests {
    static let folder = "out put's/day 1"

    /// Lists the folder, checks the listing matches the tree, copies every file, checks the copy.
    func listAndCopy(_ commands: TransportCommands, tree: [AwkwardTree.Entry], staging: TempFolder) throws {
        let (listed, listing) = try commands.runListing(folder: Self.folder)
        #expect(listed.status == 0, "listing failed: \(listed.errorText)")
        let parsed = try #require(listing, "listing did not parse: \(listed.errorText)")
        let seen = Set(parsed.files.map { "\($0.path)|\($0.size)|\($0.mtime)" })
        let made = Set(tree.map { "\($0.path)|\($0.content.count)|\($0.mtime)" })
        #expect(seen == made)
        #expect(abs(parsed.now - Int64(Date().timeIntervalSince1970)) < 60)

        let destination = staging.sub("stage")
        let copied = try commands.runRsync(folder: Self.folder, paths: parsed.files.map(\.path),
                                           destination: destination)
        #expect(copied.status == 0, "rsync failed: \(copied.errorText)")
        #expect(AwkwardTree.differences(in: Array(destination.utf8), from: tree) == [])
        // Nothing else arrived: the staging copy lists exactly the tree.
        #expect(try Self.listed(destination) == made)
        // One out-format line per file, so the parser can follow the transfer file by file.
        let records = copied.text.split(separator: "\n").filter { $0.hasPrefix("mediasync|") }
        #expect(records.count >= tree.count)
    }

    /// Every file under `folder` (a local one) as `path|size|mtime`.
    static func listed(_ folder: String) throws -> Set<String> {
        let local = TransportCommands(source: Source(name: "stage", transport: .local, root: folder, folders: ["."]),
                                      controlFolder: "/unused", fallbackControlFolder: "/unused", ioTimeoutSeconds: 10)
        let listing = try #require(try local.runListing(folder: ".").1)
        return Set(listing.files.map { "\($0.path)|\($0.size)|\($0.mtime)" })
    }

    /// The awkward tree in a local source's folder (the root's path has a space and a `'` too), and its commands.
    static func localSource(_ temp: TempFolder, bwlimit: String? = nil) throws
        -> (root: String, tree: [AwkwardTree.Entry], commands: TransportCommands) {
        let root = temp.sub("src 'root'")
        let tree = try AwkwardTree.make(in: Array((root + "/" + Self.folder).utf8))
        let source = Source(name: "here", transport: .local, root: root, folders: [Self.folder])
        let commands = TransportCommands(source: source, controlFolder: temp.path,
                                         fallbackControlFolder: "/tmp", ioTimeoutSeconds: 30, bwlimit: bwlimit)
        return (root, tree, commands)
    }

    @Test("local: lists and copies the awkward tree byte for byte with mtimes")
    func local() throws {
        let temp = try TempFolder("loc")
        let (_, tree, commands) = try Self.localSource(temp, bwlimit: "50M")
        #expect(commands.controlFolder == nil)
        #expect(commands.rsyncArgv(folder: Self.folder, destination: "/x").contains("--bwlimit=50M"))
        try listAndCopy(commands, tree: tree, staging: temp)
    }

    @Test("local: the names as rsync's own arguments copy the awkward tree the same; a gone name is vanished, a gone folder a failure")
    func localNamesAsArguments() throws {
        let temp = try TempFolder("args")
        let (root, tree, commands) = try Self.localSource(temp)
        let paths = tree.map(\.path)
        // Arguments are Strings: a name that is not UTF-8 sends the whole list to stdin, as before.
        #expect(commands.namesAsArguments(folder: Self.folder, files: paths, room: 1 << 20) == nil)
        let utf8 = tree.filter { String(validating: $0.path, as: UTF8.self) != nil }
        #expect(utf8.count == tree.count - 1)
        // More than the room: stdin too.
        #expect(commands.namesAsArguments(folder: Self.folder, files: utf8.map(\.path), room: 500) == nil)
        let names = try #require(commands.namesAsArguments(folder: Self.folder, files: utf8.map(\.path), room: 1 << 20))
        #expect(names.allSatisfy { $0.hasPrefix(root + "/" + Self.folder + "/./") })

        let destination = temp.sub("stage")
        let argv = commands.rsyncArgv(folder: Self.folder, destination: destination, names: names)
        #expect(!argv.contains("--files-from=-") && argv.contains("--relative") && argv.contains("--dirs"))
        let copied = try Tool.run(argv, input: [], environment: commands.environment(parent: ProcessInfo.processInfo.environment))
        #expect(copied.status == 0, "rsync failed: \(copied.errorText)")
        #expect(AwkwardTree.differences(in: Array(destination.utf8), from: utf8) == [])
        #expect(try Self.listed(destination) == Set(utf8.map { "\($0.path)|\($0.content.count)|\($0.mtime)" }),
                "exactly the named files arrived")
        #expect(copied.text.split(separator: "\n").filter { $0.hasPrefix("mediasync|>f") }.count == utf8.count)

        // A name deleted since the listing: rsync says it vanished, and the rest is complete.
        let again = temp.sub("again")
        let withGone = try #require(commands.namesAsArguments(folder: Self.folder, files: [Array("gone.png".utf8), utf8[0].path],
                                                              room: 1 << 20))
        let partly = try Tool.run(commands.rsyncArgv(folder: Self.folder, destination: again, names: withGone), input: [],
                                  environment: nil)
        let complaints = partly.errorText.split(separator: "\n").map(String.init)
        #expect(partly.status == 23 && !complaints.isEmpty && complaints.allSatisfy(VanishedFiles.isAboutVanishedFiles),
                "\(partly.status): \(complaints)")
        #expect(AwkwardTree.differences(in: Array(again.utf8), from: [utf8[0]]) == [])

        // The folder gone: one change_dir failure, not every name vanished.
        let missing = Source(name: "here", transport: .local, root: temp.sub("no root"), folders: [Self.folder])
        let missingCommands = TransportCommands(source: missing, controlFolder: temp.path, fallbackControlFolder: "/tmp",
                                                ioTimeoutSeconds: 30)
        let gone = try #require(missingCommands.namesAsArguments(folder: Self.folder, files: utf8.map(\.path), room: 1 << 20))
        let failed = try Tool.run(missingCommands.rsyncArgv(folder: Self.folder, destination: temp.sub("none"), names: gone),
                                  input: [], environment: nil)
        #expect(failed.status != 0 && failed.errorText.contains("change_dir"), "\(failed.status): \(failed.errorText)")
        #expect(!failed.errorText.split(separator: "\n").map(String.init).allSatisfy(VanishedFiles.isAboutVanishedFiles))

        // Other transports keep the list on stdin: their rsync reaches the names through a remote shell.
        let docker = Source(name: "box", transport: .docker(container: "forge", command: "docker"), root: "/app",
                            folders: [Self.folder])
        let dockerCommands = TransportCommands(source: docker, controlFolder: temp.path, fallbackControlFolder: "/tmp",
                                               ioTimeoutSeconds: 30)
        #expect(dockerCommands.namesAsArguments(folder: Self.folder, files: utf8.map(\.path), room: 1 << 20) == nil)
    }

    @Test("ssh: lists and copies through a real sshd, key path with a space, one shared connection")
    func ssh() throws {
        let server = try TestSSHD()
        let temp = try TempFolder("ssh")
        let keyDir = temp.sub("key dir's")
        try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true)
        let key = keyDir + "/id key"
        try FileManager.default.copyItem(atPath: server.identity, toPath: key)
        chmod(key, 0o600)
        let control = temp.sub("ctl")
        try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: true)

        let root = temp.sub("remote root")
        let tree = try AwkwardTree.make(in: Array((root + "/" + Self.folder).utf8))
        let source = Source(name: "gpu", transport: .ssh(host: "127.0.0.1", port: server.port, user: "root",
                                                         identity: key,
                                                         options: ["StrictHostKeyChecking=no",
                                                                   "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]),
                            root: root, folders: [Self.folder])
        let commands = TransportCommands(source: source, controlFolder: control, fallbackControlFolder: "/tmp",
                                         ioTimeoutSeconds: 30)
        #expect(commands.controlFolder == control)
        #expect(commands.controlFolderNotice == nil)
        #expect(!commands.sshOptions.contains("StrictHostKeyChecking=accept-new"))
        let closeArgv = try #require(commands.closeSharedConnectionArgv())
        let checkArgv = try #require(commands.checkSharedConnectionArgv())
        defer { _ = try? Tool.run(closeArgv) }

        try listAndCopy(commands, tree: tree, staging: temp)
        let firstCheck = try Tool.run(checkArgv)
        #expect(firstCheck.status == 0, "no shared connection after the first cycle: \(firstCheck.errorText)")
        let (again, _) = try commands.runListing(folder: Self.folder)
        #expect(again.status == 0)
        let secondCheck = try Tool.run(checkArgv)
        // Same master pid both times ("Master running (pid=N)"), and the sshd saw one login for
        // two listings and a transfer.
        #expect(firstCheck.errorText.contains("Master running"))
        #expect(firstCheck.errorText == secondCheck.errorText)
        let log = try String(contentsOf: server.folder.appendingPathComponent("sshd.log"), encoding: .utf8)
        #expect(log.components(separatedBy: "Accepted publickey").count - 1 == 1, "sshd log:\n\(log)")

        let closed = try Tool.run(closeArgv)
        #expect(closed.status == 0, "ssh -O exit failed: \(closed.errorText)")
        let afterClose = try Tool.run(checkArgv)
        #expect(afterClose.status != 0)
    }

    @Test("docker: lists and copies through the docker shim at a path with a space")
    func docker() throws {
        let temp = try TempFolder("dkr")
        let shimRoot = temp.sub("containers")
        let tree = try AwkwardTree.make(in: Array((shimRoot + "/forge-1/root/app/" + Self.folder).utf8))
        let source = Source(name: "forge", transport: .docker(container: "forge-1",
                                                               command: try DockerShim.spacedPath(in: temp)),
                            root: "/app", folders: [Self.folder])
        let commands = TransportCommands(source: source, controlFolder: temp.path, fallbackControlFolder: "/tmp",
                                         ioTimeoutSeconds: 30,
                                         extraEnvironment: ["MEDIASYNC_DOCKER_SHIM_ROOT": shimRoot])
        let argv = commands.rsyncArgv(folder: Self.folder, destination: "/x")
        #expect(argv.contains("--blocking-io") && argv.contains("-s"))
        #expect(commands.closeSharedConnectionArgv() == nil)
        try listAndCopy(commands, tree: tree, staging: temp)
    }

    @Test("docker: a missing container and a container without rsync fail with the runtime's words")
    func dockerFailures() throws {
        let temp = try TempFolder("dkf")
        let shimRoot = temp.sub("containers")
        try FileManager.default.createDirectory(atPath: shimRoot + "/bare/root/app/out",
                                                withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: shimRoot + "/bare/no-rsync", contents: Data())
        FileManager.default.createFile(atPath: shimRoot + "/bare/root/app/out/a.png", contents: Data([1, 2, 3]))
        func commands(_ container: String) -> TransportCommands {
            TransportCommands(source: Source(name: "c", transport: .docker(container: container, command: DockerShim.path),
                                             root: "/app", folders: ["out"]),
                              controlFolder: temp.path, fallbackControlFolder: "/tmp", ioTimeoutSeconds: 10,
                              extraEnvironment: ["MEDIASYNC_DOCKER_SHIM_ROOT": shimRoot])
        }
        let (missing, listing) = try commands("ghost").runListing(folder: "out")
        #expect(missing.status != 0)
        #expect(listing == nil)
        #expect(missing.errorText.contains("No such container: ghost"))

        // The listing needs only sh and find, so it works without rsync...
        let (listed, bareListing) = try commands("bare").runListing(folder: "out")
        #expect(listed.status == 0)
        #expect(bareListing?.files.map(\.displayPath) == ["a.png"])
        // ...the transfer does not: the runtime's message reaches rsync's stderr and rsync fails.
        let copied = try commands("bare").runRsync(folder: "out", paths: [Array("a.png".utf8)],
                                                   destination: temp.sub("stage"))
        #expect(copied.status != 0)
        #expect(copied.errorText.contains("executable file not found"))
        print("docker without rsync: rsync exit \(copied.status), stderr: \(copied.errorText)")
    }
}
