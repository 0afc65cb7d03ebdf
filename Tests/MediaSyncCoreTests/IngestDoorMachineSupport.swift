import Foundation
import MediaSyncCore
import Testing

/// An `IngestDoorMachine` on manual time, with the executor's parts played by plain values: the outbox table
/// is an array, the outbox worker answers at once (or when `holdWorker` is off again), timers are due
/// times, and the child says and does what the test tells it. No process, no loop: what a test checks is
/// the decision itself, to the millisecond.
struct DoorBench {
    var door: IngestDoorMachine
    /// The loop's time, in milliseconds.
    private(set) var now: UInt64 = 0
    private(set) var timers: [IngestDoorTimer: (due: UInt64, every: UInt64)] = [:]
    /// The outbox table.
    private(set) var table: [OutboxItem] = []
    private var lastID: Int64 = 0
    /// The running child's pid, nil when none runs.
    private(set) var child: Int32?
    private var lastPID: Int32 = 1000
    /// When each child was asked for.
    private(set) var spawnTimes: [UInt64] = []
    /// Spawns that fail before one succeeds.
    var failingSpawns = 0
    /// Every line written to any child, parsed, in order.
    private(set) var sent: [[String: Any]] = []
    private(set) var stdinClosed = false
    /// The grace of every stop asked for.
    private(set) var stops: [UInt64] = []
    private(set) var logs: [(level: String, message: String)] = []
    private(set) var verifyAnswers: [Int: (answers: [[UInt8]: Bool], note: String?)] = [:]
    private(set) var drainEnded = false
    private(set) var drainRefused = false
    /// The deletes `.close` asked for, once the door closed.
    private(set) var closedDeleting: [Int64]?
    /// The most events in flight seen after any event.
    private(set) var mostInFlight = 0
    /// The child's stdin backlog as the executor would report it.
    var pipeBacklog = 0
    /// While true, loads and deletes wait for `releaseWorker()`.
    var holdWorker = false
    private var heldWork: [IngestDoorAction] = []

    init(timings: IngestTimings = IngestTimings(), verifyBeforePurge: Bool = true, outboxLimit: Int = 100_000) {
        let settings = IngestSettings(command: ["/usr/local/bin/ingest", "--db", "/srv/media.db"],
                                      verifyBeforePurge: verifyBeforePurge, outboxLimit: outboxLimit)
        door = IngestDoorMachine(settings: settings, timings: timings, ownPID: 4242)
    }

    /// Event lines the children got (hello and verify left out), by id.
    var sentEventIDs: [Int64] { sent.filter { $0["v"] != nil }.compactMap { ($0["id"] as? NSNumber)?.int64Value } }
    var sentVerifies: [[String: Any]] { sent.filter { $0["type"] as? String == "verify" } }

    func messages(_ level: String? = nil) -> [String] {
        logs.filter { level == nil || $0.level == level }.map(\.message)
    }

    // MARK: - Events

    /// Hands an event to the machine (the pipe's backlog set as the executor would) and performs its actions.
    mutating func feed(_ event: (inout IngestDoorMachine, UInt64) -> [IngestDoorAction]) {
        door.stdinBacklog = pipeBacklog
        perform(event(&door, now))
    }

    /// The door starts with `waiting` events in the table from an earlier run.
    mutating func start(waiting: Int = 0) {
        store(count: waiting, tellDoor: false)
        let count = table.count
        feed { $0.start(outboxCount: count, at: $1) }
    }

    /// A line on the child's stdout.
    mutating func say(_ line: String) {
        feed { $0.stdout(Array((line + "\n").utf8), at: $1) }
    }

    mutating func ready(_ capabilities: [String] = ["metadata", "verify", "batch-ack"]) {
        let list = capabilities.map { "\"\($0)\"" }.joined(separator: ",")
        say(#"{"type":"ready","protocol":1,"capabilities":[\#(list)]}"#)
    }

    mutating func ack(_ ids: Int64...) {
        say(#"{"ack":[\#(ids.map(String.init).joined(separator: ","))]}"#)
    }

    /// The child ends (exit `code`, or killed by `signal`).
    mutating func exit(code: Int64 = 0, signal: Int32 = 0) {
        child = nil
        let description = signal != 0 ? "killed by signal \(signal)" : "exited with status \(code)"
        feed { $0.childExited(code: code, signal: signal, description: description, at: $1) }
    }

    /// `count` new events stored (as a cycle's record does); the door is told unless `tellDoor` is false.
    mutating func store(count: Int, tellDoor: Bool = true) {
        guard count > 0 else { return }
        for _ in 0..<count {
            lastID += 1
            let body = Array(#"{"time":"2026-11-20T10:00:00Z","type":"file_synced","library_path":"/lib/f\#(lastID).png"}"#.utf8)
            table.append(OutboxItem(id: lastID, type: "file_synced", body: body, metadata: Array(#"{"size":1}"#.utf8),
                                    awaitingMetadata: false))
        }
        if tellDoor {
            let total = table.count
            feed { $0.appended(OutboxAppend(stored: count, dropped: 0, total: total), at: $1) }
        }
    }

    /// Asks the door about `paths`; returns the batch whose answer lands in `verifyAnswers`.
    mutating func verify(_ paths: [String]) -> Int {
        door.stdinBacklog = pipeBacklog
        let (batch, actions) = door.verify(paths.map { IngestVerifyFile(libraryPath: Array($0.utf8), size: 1) }, at: now)
        perform(actions)
        return batch
    }

    /// Moves the clock to `target`, firing every timer due on the way, in order.
    mutating func advance(to target: UInt64) {
        precondition(target >= now, "time runs forward")
        let order = IngestDoorTimer.allCases
        while let (which, timer) = timers.filter({ $0.value.due <= target })
            .min(by: { ($0.value.due, order.firstIndex(of: $0.key)!) < ($1.value.due, order.firstIndex(of: $1.key)!) }) {
            now = timer.due
            timers[which] = timer.every > 0 ? (timer.due + timer.every, timer.every) : nil
            switch which {
            case .housekeeping: feed { $0.tick(at: $1) }
            case .restart: feed { $0.restartDue(at: $1) }
            case .exitGrace: feed { $0.exitGraceExpired(at: $1) }
            case .drainIdle: feed { $0.drainIdleExpired(at: $1) }
            }
        }
        now = target
    }

    mutating func advance(by ms: UInt64) { advance(to: now + ms) }

    /// Answers the loads and deletes held while `holdWorker` was on.
    mutating func releaseWorker() {
        holdWorker = false
        let work = heldWork
        heldWork = []
        perform(work.flatMap { answer($0) })
    }

    // MARK: - The executor's side

    private mutating func perform(_ actions: [IngestDoorAction]) {
        var queue = actions
        var checkOutbox = false
        while true {
            while !queue.isEmpty {
                let action = queue.removeFirst()
                switch action {
                case .spawnChild:
                    spawnTimes.append(now)
                    if failingSpawns > 0 {
                        failingSpawns -= 1
                        queue += door.spawnFailed("no such file or directory", at: now)
                    } else {
                        lastPID += 1
                        child = lastPID
                        stdinClosed = false
                        queue += door.spawned(pid: lastPID, at: now)
                    }
                case let .write(bytes):
                    #expect(child != nil && !stdinClosed, "a write with no child to take it")
                    for line in bytes.split(separator: 0x0A) {
                        let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
                        #expect(object != nil, "not a JSON object: \(String(decoding: line, as: UTF8.self))")
                        sent.append(object ?? [:])
                    }
                case .closeStdin:
                    stdinClosed = true
                case let .stopChild(grace):
                    stops.append(grace)
                case let .startTimer(which, after, every):
                    timers[which] = (now + after, every)
                case let .stopTimer(which):
                    timers[which] = nil
                case .readMetadata:
                    break
                case .load, .delete:
                    if holdWorker { heldWork.append(action) } else { queue += answer(action) }
                case let .log(level, message):
                    logs.append((level, message))
                case let .verifyDone(batch, answers, note):
                    #expect(verifyAnswers[batch] == nil, "batch \(batch) answered twice")
                    verifyAnswers[batch] = (answers, note)
                case .checkOutboxEmpty:
                    checkOutbox = true
                case .drainEnded:
                    drainEnded = true
                case .drainRefused:
                    drainRefused = true
                case let .close(deletes):
                    table.removeAll { deletes.contains($0.id) }
                    closedDeleting = deletes
                    timers = [:]
                }
            }
            mostInFlight = max(mostInFlight, door.inFlight.count)
            guard checkOutbox else { return }
            checkOutbox = false
            if table.isEmpty { queue += door.outboxEmpty(at: now) }
        }
    }

    /// What the outbox worker answers.
    private mutating func answer(_ action: IngestDoorAction) -> [IngestDoorAction] {
        switch action {
        case let .load(after, limit, _, generation):
            let items = Array(table.filter { $0.id > after }.prefix(limit))
            return door.loaded(generation: generation, items: items, at: now)
        case let .delete(ids):
            table.removeAll { ids.contains($0.id) }
            return door.deleted(outboxCount: table.count, at: now)
        default:
            return []
        }
    }
}
