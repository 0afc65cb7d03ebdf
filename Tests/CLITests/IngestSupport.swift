import Foundation
import Testing

/// One reply line of an ingest program: `ready`, `{"ack": id}` or `{"id": N, "committed": bool}`.
struct IngestReply: Decodable {
    var type: String?
    var protocolVersion: Int?
    var capabilities: [String]?
    var ack: Int?
    var id: Int?
    var committed: Bool?

    enum CodingKeys: String, CodingKey {
        case type, capabilities, ack, id, committed
        case protocolVersion = "protocol"
    }
}

/// glibc's pipe2, which the Glibc module does not export (it sits behind _GNU_SOURCE).
@_silgen_name("pipe2")
private func systemPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// A reference ingest program run the way the supervisor runs it: stdin and stdout are pipes, stderr a file.
/// posix_spawn, not Foundation's Process (which hangs here).
final class IngestChild {
    let pid: pid_t
    let stderrPath: String
    private var input: Int32
    private let output: Int32
    private var partial: [UInt8] = []
    private(set) var exitStatus: Int32?

    init(_ argv: [String], stderrPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        // A write to a killed child must fail with EPIPE, not kill the test runner.
        signal(SIGPIPE, SIG_IGN)
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        // O_CLOEXEC: children that other tests spawn at the same time must not inherit these ends.
        guard systemPipe2(&toChild, O_CLOEXEC) == 0, systemPipe2(&fromChild, O_CLOEXEC) == 0 else {
            throw SyncTestError("pipe2 failed: errno \(errno)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1]); close(fromChild[0])
            throw SyncTestError("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        self.stderrPath = stderrPath
        input = toChild[1]
        output = fromChild[0]
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
        _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        if input >= 0 { close(input) }
        close(output)
        if exitStatus == nil { kill(pid, SIGKILL); Spawn.reap(pid) }
    }

    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Writes `lines` while collecting replies, both at once (neither pipe may fill up and stall the other),
    /// until `done` holds for the replies so far, stdout ends, or `timeout` passes (which throws).
    /// Returns the replies and how many bytes of `lines` were written.
    @discardableResult
    func exchange(_ lines: [UInt8], timeout: Double = 120,
                  until done: ([IngestReply]) -> Bool) throws -> (replies: [IngestReply], written: Int) {
        var replies: [IngestReply] = []
        var written = 0
        let deadline = Date().addingTimeInterval(timeout)
        while !done(replies) {
            guard Date() < deadline else {
                throw SyncTestError("ingest gave \(replies.count) replies within \(Int(timeout))s, not what the test waits for; its log:\n\(log)")
            }
            let wantsWrite = written < lines.count && input >= 0
            var fds = [pollfd(fd: output, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wantsWrite ? input : -1, events: Int16(POLLOUT), revents: 0)]
            _ = poll(&fds, 2, 100)
            if wantsWrite && fds[1].revents != 0 {
                let n = lines[written...].withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
                if n > 0 { written += n } else if n < 0 && errno != EAGAIN && errno != EINTR { written = lines.count }
            }
            if fds[0].revents != 0 {
                let (fresh, ended) = try readReplies()
                replies += fresh
                if ended { break }
            }
        }
        return (replies, written)
    }

    /// Sends lines and waits for exactly `count` replies.
    func send(_ lines: [UInt8], expecting count: Int) throws -> [IngestReply] {
        let replies = try exchange(lines) { $0.count >= count }.replies
        guard replies.count == count else {
            throw SyncTestError("expected \(count) replies, stdout ended after \(replies.count); ingest log:\n\(log)")
        }
        return replies
    }

    /// Closes stdin (what the supervisor does to stop the ingest) and waits for the exit status.
    func finish() throws -> Int32 {
        closeInput()
        return try waitForExit()
    }

    func closeInput() {
        if input >= 0 { close(input); input = -1 }
    }

    /// Reads whatever stdout still holds until EOF (after a kill), then reaps the child.
    func drainAndWait() throws -> [IngestReply] {
        closeInput()
        let replies = try exchange([], timeout: 30) { _ in false }.replies
        _ = try waitForExit()
        return replies
    }

    /// The exit status, waiting up to `timeout` seconds (then the child is killed and this throws).
    func waitForExit(timeout: Double = 60) throws -> Int32 {
        if let status = exitStatus { return status }
        let status = try Spawn.wait(pid, timeout: timeout, what: "the ingest program (log: \(stderrPath))")
        exitStatus = status
        return status
    }

    private func readReplies() throws -> ([IngestReply], ended: Bool) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let n = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
        if n < 0 { return ([], errno != EAGAIN && errno != EINTR) }
        if n == 0 { return ([], true) }
        partial += buffer[..<n]
        var replies: [IngestReply] = []
        while let newline = partial.firstIndex(of: 0x0A) {
            let line = Data(partial[..<newline])
            partial.removeSubrange(...newline)
            do {
                replies.append(try JSONDecoder().decode(IngestReply.self, from: line))
            } catch {
                throw SyncTestError("ingest wrote a line that is not a reply: \(String(decoding: line, as: UTF8.self))")
            }
        }
        return (replies, false)
    }
}

/// Builds the JSON lines mediasync sends to an ingest program.
enum IngestScript {
    static let hello = line(#"{"type":"hello","protocol":1,"capabilities":["metadata","verify","future-thing"]}"#)

    static func line(_ text: String) -> [UInt8] { Array(text.utf8) + [0x0A] }

    /// File number `index`: its exact library path bytes. Every 100th name is Latin-1, not UTF-8.
    static func libraryPath(_ index: Int) -> [UInt8] {
        let name = String(format: "%05d-3912345", index)
        if index % 100 == 7 { return Array("/srv/media/forge/txt2img-images/caf".utf8) + [0xE9] + Array("-\(name).png".utf8) }
        return Array("/srv/media/forge/txt2img-images/2026-11-24/\(name).png".utf8)
    }

    static func size(_ index: Int) -> Int { 1_000_000 + index }
    static func sha256(_ index: Int) -> String { String(format: "%064x", index * 7919) }

    /// The `"library_path":...` fields of file `index` (with the `_b64` twin when the name is not UTF-8).
    static func pathFields(_ index: Int, key: String = "library_path") -> String {
        let bytes = libraryPath(index)
        let text = String(decoding: bytes, as: UTF8.self)
        guard String(validating: bytes, as: UTF8.self) == nil else { return #""\#(key)":"\#(text)""# }
        return #""\#(key)":"\#(text)","\#(key)_b64":"\#(Data(bytes).base64EncodedString())""#
    }

    static func fileSynced(id: Int, index: Int) -> [UInt8] {
        let relative = String(decoding: libraryPath(index).split(separator: 0x2F).last!, as: UTF8.self)
        return line(#"{"v":1,"seq":\#(id),"time":"2026-11-26T11:46:41.823Z","type":"file_synced","id":\#(id),"cycle":3,"#
            + #""job":"forge/txt2img-images","source":"forge","folder":"txt2img-images","path":"\#(relative)","#
            + #"\#(pathFields(index)),"size":\#(size(index)),"mtime":1795690000,"metadata":{"kind":"image","#
            + #""size":\#(size(index)),"sha256":"\#(sha256(index))","width":832,"height":1216,"parameters":"#
            + #""a cat\nSteps: 20, Seed: \#(index)","texts":{"Software":"Forge"}}}"#)
    }

    static func fileSynced(ids: ClosedRange<Int>) -> [UInt8] { ids.flatMap { fileSynced(id: $0, index: $0) } }

    static func filePurged(id: Int, index: Int) -> [UInt8] {
        line(#"{"v":1,"seq":\#(id),"time":"2026-11-26T12:00:00.000Z","type":"file_purged","id":\#(id),"cycle":4,"#
            + #""job":"forge/txt2img-images","path":"x.png",\#(pathFields(index)),"size":\#(size(index)),"age_s":86400}"#)
    }

    static func verify(id: Int, index: Int, size: Int, sha256: String?) -> [UInt8] {
        let sha = sha256.map { #","sha256":"\#($0)""# } ?? ""
        return line(#"{"type":"verify","id":\#(id),\#(pathFields(index)),"size":\#(size)\#(sha)}"#)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }
}

/// The python3 that has Debian's python3-psycopg: /usr/bin/python3 when present (a python3 earlier on PATH,
/// such as a pyenv one, does not see Debian's packages).
let ingestPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

/// Runs a command to completion and returns its stdout, throwing with its stderr when it fails.
func ingestRun(_ argv: [String]) throws -> String {
    let base = "/tmp/msync-ingest-run-\(UUID().uuidString.prefix(8))"
    defer { unlink(base + ".out"); unlink(base + ".err") }
    let pid = try Spawn.start(argv, environment: ProcessInfo.processInfo.environment, stdout: base + ".out", stderr: base + ".err")
    let status = try Spawn.wait(pid, what: argv.joined(separator: " "))
    let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
    guard status == 0 else {
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        throw SyncTestError("\(argv.joined(separator: " ")) exited \(status): \(err)")
    }
    return out
}
