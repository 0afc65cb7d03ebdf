import Foundation
import MediaSyncCore
@testable import MediaSyncEngine
import Testing
import UV

/// An ingest door on a loop of its own, with a real python3 child, a real outbox (manifest.sqlite) and real
/// library files. The child is `testIngest` below; flags pick how it misbehaves, and it writes every line it
/// gets to `received` so a test sees exactly what mediasync sent.
final class DoorWorld {
    let temp: TempFolder
    let store: ManifestStore
    let loop: Loop
    let library: String
    var logs: [(level: String, message: String)] = []
    var door: IngestDoor!
    private var pulse: UV.Timer?

    init(_ tag: String) throws {
        temp = try TempFolder(tag)
        store = try ManifestStore(stateDirectory: temp.path)
        library = temp.sub("lib")
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        Loop.prepareProcess()
        loop = try Loop()
        // Wakes `runOnce` regularly so `run(until:)` can look at its condition.
        let timer = try UV.Timer(loop: loop)
        timer.start(after: 20, repeat: 20) {}
        pulse = timer
    }

    var received: String { temp.sub("received.jsonl") }

    /// Every line the child read, parsed.
    func receivedLines() -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: received, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Ids of the events the child received, in order (hello and verify lines left out).
    func receivedEventIDs() -> [Int] {
        receivedLines().filter { $0["type"] as? String != "verify" && $0["type"] as? String != "hello" }
            .compactMap { $0["id"] as? Int }
    }

    func messages(_ level: String? = nil) -> [String] {
        logs.filter { level == nil || $0.level == level }.map(\.message)
    }

    /// Quick restarts, and timeouts long enough that python3 starting slowly on a loaded machine never trips
    /// one by accident (a child restarted by a timeout would change what a test counts). A test of a timeout
    /// shortens that one (`fast(with:)`); the exact timings are checked on manual time in
    /// Tests/MediaSyncCoreTests/IngestDoorMachineTests.swift.
    static var fast: IngestDoor.Timings {
        var t = IngestDoor.Timings()
        t.firstBackoffMs = 100
        t.maxBackoffMs = 400
        t.handshakeMs = 20_000
        t.ackTimeoutMs = 30_000
        t.verifyTimeoutMs = 10_000
        t.exitGraceMs = 5_000
        t.termGraceMs = 500
        return t
    }

    /// `fast` with one timeout shortened.
    static func fast(with change: (inout IngestDoor.Timings) -> Void) -> IngestDoor.Timings {
        var t = fast
        change(&t)
        return t
    }

    /// Starts the door on the test ingest with `flags`.
    func open(_ flags: [String] = [], timings: IngestDoor.Timings = DoorWorld.fast, verifyBeforePurge: Bool = true,
              outboxLimit: Int = 100_000, environment: [String: String] = [:]) throws {
        let script = temp.sub("test-ingest.py")
        try Self.testIngest.write(toFile: script, atomically: true, encoding: .utf8)
        let settings = IngestSettings(command: ["/usr/bin/python3", script, received, temp.path] + flags,
                                      verifyBeforePurge: verifyBeforePurge, outboxLimit: outboxLimit)
        door = IngestDoor(loop: loop, store: store, settings: settings, timings: timings, environment: environment) {
            [unowned self] level, message in logs.append((level, message))
        }
        door.start()
    }

    /// Writes `count` library files and stores a `file_synced` for each, as a cycle's batch does.
    @discardableResult
    func storeSynced(_ count: Int, from first: Int = 0, content: (Int) -> [UInt8] = { Array("file \($0)".utf8) }) throws
        -> OutboxAppend
    {
        var entries: [OutboxEntry] = []
        for index in first..<(first + count) {
            let path = library + "/f\(index).png"
            let bytes = content(index)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let body = EventBody.fileSynced(cycle: 1, FileSynced(job: EventJob(source: "s", folder: "out"),
                                                                  path: Array("f\(index).png".utf8),
                                                                  libraryPath: Array(path.utf8), size: Int64(bytes.count),
                                                                  mtime: 1_795_690_000))
            entries.append(OutboxEntry.make(body, timeMs: 1_795_690_000_000)!)
        }
        let result = try store.appendOutbox(entries, limit: door.settings.outboxLimit)
        door.appended(result)
        return result
    }

    /// Runs the loop until `condition` holds; false after `timeout` seconds.
    @discardableResult
    func run(until condition: () -> Bool, timeout: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            loop.runOnce()
        }
        return true
    }

    /// Runs the loop for `seconds`, whatever happens.
    func run(for seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { loop.runOnce() }
    }

    /// Shuts the door and the loop down; true when the child was gone in time.
    @discardableResult
    func close() -> Bool {
        var closed = false
        door?.shutdown { closed = true }
        // EOF, then SIGTERM after `exitGraceMs` and SIGKILL after `termGraceMs`: gone well within this.
        let ok = run(until: { closed }, timeout: 20)
        pulse?.close()
        pulse = nil
        loop.closeAll()
        _ = loop.run()
        try? loop.close()
        return ok
    }

    func outboxCount() -> Int { (try? store.outboxCount()) ?? -1 }

    /// (pid, time) of every child start so far.
    func starts() -> [(pid: Int32, time: Double)] {
        guard let text = try? String(contentsOfFile: temp.sub("starts"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let pid = Int32(parts[0]), let time = Double(parts[1]) else { return nil }
            return (pid, time)
        }
    }

    /// The child: `test-ingest.py RECEIVED STATE_DIR [flags]`.
    static let testIngest = #"""
        import json, os, sys, time
        received, state, flags = sys.argv[1], sys.argv[2], sys.argv[3:]
        def flag(name, default=None):
            for f in flags:
                if f == name: return True
                if f.startswith(name + "="): return f.split("=", 1)[1]
            return default
        def send(obj):
            sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()
        starts = os.path.join(state, "starts")
        with open(starts, "a") as f: f.write(f"{os.getpid()} {time.time()}\n")
        start_count = len(open(starts).read().splitlines())
        env = {k: os.environ.get(k) for k in ("MEDIASYNC_INGEST_PROTOCOL", "NOTIFY_SOCKET", "LISTEN_FDS")}
        json.dump(env, open(os.path.join(state, "env.json"), "w"))
        print(f"test ingest {os.getpid()} start {start_count}", file=sys.stderr, flush=True)
        log = open(received, "a")
        hello = sys.stdin.readline()
        log.write(hello); log.flush()
        if flag("--crash"):
            sys.exit(1)
        if flag("--refuse"):
            send({"type": "error", "message": "this ingest speaks protocol 2 or later"}); sys.exit(3)
        if flag("--no-ready"):
            for line in sys.stdin: pass
            sys.exit(0)
        caps = flag("--caps", "metadata,verify,batch-ack")
        send({"type": "ready", "protocol": 1, "capabilities": [c for c in caps.split(",") if c] + (["teleport"] if flag("--odd-cap") else [])})
        garbage_runs = int(flag("--garbage-runs", "0"))
        hold = int(flag("--hold", "1"))
        committed = set(json.load(open(flag("--committed")))) if flag("--committed") else None
        held = []
        for line in sys.stdin:
            log.write(line); log.flush()
            msg = json.loads(line)
            if msg.get("type") == "verify":
                if flag("--silent-verify"): continue
                ok = committed is None or msg["library_path"] in committed
                send({"id": msg["id"], "committed": ok}); continue
            if start_count <= garbage_runs:
                print("Traceback (most recent call last): oops", flush=True); continue
            if flag("--no-ack"): continue
            held.append(msg["id"])
            if len(held) >= hold:
                send({"ack": held} if hold > 1 else {"ack": held[0]}); held = []
        if held: send({"ack": held})
        """#
}
