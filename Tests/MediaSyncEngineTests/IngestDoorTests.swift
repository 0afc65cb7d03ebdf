import Foundation
import MediaSyncCore
@testable import MediaSyncEngine
import Testing

/// The ingest door against a real python3 child: delivery in order with metadata, the window, redelivery
/// after a crash or garbage, the handshake and ack timeouts, refusal, verify, and the outbox limit.
@Suite("ingest door", .serialized)
struct IngestDoorTests {
    @Test("events arrive in id order with metadata read from the library copy; acked ones leave the outbox")
    func deliversInOrderWithMetadata() throws {
        let world = try DoorWorld("idd")
        try world.open(environment: ["NOTIFY_SOCKET": "/run/systemd/notify", "MS_TEST": "kept"])
        try world.storeSynced(20)
        #expect(world.run(until: { world.outboxCount() == 0 && world.door.eventsInFlight == 0 }))
        let lines = world.receivedLines()
        #expect(lines.first?["type"] as? String == "hello")
        #expect(world.receivedEventIDs() == world.receivedEventIDs().sorted())
        #expect(world.receivedEventIDs().count == 20)
        for line in lines.dropFirst() {
            let path = try #require(line["library_path"] as? String)
            let metadata = try #require(line["metadata"] as? [String: Any], "no metadata in \(line)")
            let bytes = try #require(FileManager.default.contents(atPath: path))
            #expect(metadata["sha256"] as? String == SHA256.hash(Array(bytes)).hex)
            #expect(metadata["size"] as? Int == bytes.count && line["size"] as? Int == bytes.count)
        }
        // The child's stderr is in our log under its pid; systemd's socket is not in its environment.
        let pid = try #require(world.starts().first?.pid)
        #expect(world.messages("info").contains("ingest[\(pid)]: test ingest \(pid) start 1"))
        let env = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.temp.sub("env.json")))) as? [String: Any]
        #expect(env?["MEDIASYNC_INGEST_PROTOCOL"] as? String == "1")
        #expect(env?["NOTIFY_SOCKET"] is NSNull)
        #expect(world.close())
    }

    @Test("never more than the window in flight; the rest follows as acks free slots")
    func windowBoundsInFlight() throws {
        let world = try DoorWorld("idw")
        var timings = DoorWorld.fast
        timings.window = 8
        timings.ackTimeoutMs = 60_000
        try world.open(["--hold=100"], timings: timings)
        try world.storeSynced(30)
        #expect(world.run(until: { world.receivedEventIDs().count >= 8 }))
        world.run(for: 0.8)
        #expect(world.receivedEventIDs().count == 8, "the child holds its acks: nothing beyond the window may come")
        #expect(world.door.eventsInFlight == 8)
        // At EOF the child acks what it holds: exactly those 8 leave the outbox.
        #expect(world.close())
        #expect(world.outboxCount() == 22)
    }

    @Test("garbage on stdout: logged with the line, child restarted, every event delivered to the next one")
    func garbageRestartsAndRedelivers() throws {
        let world = try DoorWorld("idg")
        try world.open(["--garbage-runs=1"])
        try world.storeSynced(5)
        #expect(world.run(until: { world.outboxCount() == 0 }))
        #expect(world.starts().count == 2)
        #expect(world.messages("error").contains { $0.contains("broke the protocol") && $0.contains("Traceback (most recent call last)") })
        // The second child got all five again, from the first id.
        let ids = world.receivedEventIDs()
        #expect(Array(ids.suffix(5)) == Array(ids.prefix(1)) + Array(ids.suffix(4)))
        #expect(Set(ids).count == 5)
        #expect(world.close())
    }

    @Test("a child killed mid-window: the next one gets the unacked events again, same id, same bytes")
    func killedChildGetsRedelivery() throws {
        let world = try DoorWorld("idk")
        try world.open(["--hold=5"])
        try world.storeSynced(12)
        #expect(world.run(until: { world.receivedEventIDs().count == 12 && world.outboxCount() == 2 }))
        let firstPID = try #require(world.door.pid)
        let before = world.receivedLines().filter { $0["id"] != nil && $0["type"] as? String != "verify" }
        kill(firstPID, SIGKILL)
        #expect(world.run(until: { world.receivedEventIDs().count == 14 }))
        #expect(world.messages("error").contains { $0.contains("exited") && $0.contains("restarting it") })
        let after = world.receivedLines().filter { $0["id"] != nil && $0["type"] as? String != "verify" }
        let again = after.suffix(2)
        for line in again {
            let original = try #require(before.first { $0["id"] as? Int == line["id"] as? Int })
            #expect(NSDictionary(dictionary: original).isEqual(to: line), "redelivery changed the event")
        }
        #expect(world.close())
        #expect(world.outboxCount() == 0, "the second child acked the held events at EOF")
    }

    @Test("no ready within the handshake timeout: stopped and restarted, with the reason logged")
    func handshakeTimeout() throws {
        let world = try DoorWorld("idh")
        try world.open(["--no-ready"], timings: DoorWorld.fast { $0.handshakeMs = 1_000 })
        #expect(world.run(until: { world.starts().count >= 2 }, timeout: 30))
        #expect(world.messages("error").contains { $0.contains("no `ready` within 1 s") })
        #expect(world.close())
    }

    @Test("a child that cannot speak our protocol is not restarted, and says so")
    func refusalHalts() throws {
        let world = try DoorWorld("idr")
        try world.open(["--refuse"])
        #expect(world.run(until: { world.door.isHalted }))
        world.run(for: 1.0)
        #expect(world.starts().count == 1)
        #expect(world.messages("error").contains { $0.contains("this ingest speaks protocol 2 or later") })
        #expect(world.messages("error").contains { $0.contains("not restarted until the config is reloaded") })
        var answered: String??
        world.door.verify([IngestVerifyFile(libraryPath: Array("/x".utf8), size: 1)]) { _, note in answered = .some(note) }
        #expect(answered == .some("the ingest is not running"))
        #expect(world.close())
    }

    @Test("an ingest that stops acknowledging is restarted after the ack timeout; its events come again")
    func ackTimeoutRestarts() throws {
        let world = try DoorWorld("ida")
        try world.open(["--no-ack"], timings: DoorWorld.fast { $0.ackTimeoutMs = 2_000 })
        try world.storeSynced(3)
        #expect(world.run(until: { world.starts().count >= 2 && world.receivedEventIDs().count >= 6 }, timeout: 30))
        #expect(world.messages("error").contains { $0.contains("did not acknowledge event") && $0.contains("within 2 s") })
        #expect(world.outboxCount() == 3)
        #expect(world.close())
    }

    @Test("restarts back off: never sooner than 0.1 s, 0.2 s, 0.4 s between the starts of a child that keeps dying")
    func backoffDoubles() throws {
        let world = try DoorWorld("idb")
        try world.open(["--crash"])
        #expect(world.run(until: { world.starts().count >= 4 }, timeout: 30))
        let times = world.starts().map(\.time)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        try #require(gaps.count >= 3, "starts at \(times)")
        // Each gap is the backoff plus a python3 start, which a loaded machine makes longer but never shorter;
        // the exact sequence is checked on manual time (IngestDoorMachineTests).
        #expect(gaps[0] >= 0.1 && gaps[1] >= 0.2 && gaps[2] >= 0.4, "gaps \(gaps)")
        #expect(world.close())
    }

    @Test("verify: yes, no and silence; silence and a child without the capability mean keep")
    func verifyAnswers() throws {
        let world = try DoorWorld("idv")
        let yes = [world.library + "/f0.png", world.library + "/f1.png"]
        let list = world.temp.sub("committed.json")
        try JSONSerialization.data(withJSONObject: yes).write(to: URL(fileURLWithPath: list))
        try world.open(["--committed=\(list)"])
        try world.storeSynced(3)
        let files = (0..<3).map { IngestVerifyFile(libraryPath: Array((world.library + "/f\($0).png").utf8), size: 6) }
        var result: ([[UInt8]: Bool], String?)?
        world.door.verify(files) { result = ($0, $1) }
        #expect(world.run(until: { result != nil }))
        #expect(result?.0 == [files[0].libraryPath: true, files[1].libraryPath: true, files[2].libraryPath: false])
        // Asked after the events were committed: the door let the ingest catch up first.
        #expect(world.receivedLines().last?["type"] as? String == "verify")
        #expect(world.close())

        let silent = try DoorWorld("idv2")
        try silent.open(["--silent-verify"], timings: DoorWorld.fast { $0.verifyTimeoutMs = 1_000 })
        #expect(silent.run(until: { silent.door.stateName == "ready" }))
        var quiet: ([[UInt8]: Bool], String?)?
        silent.door.verify(files) { quiet = ($0, $1) }
        // The note names the timeout that ended it (the exact moment is checked on manual time).
        #expect(silent.run(until: { quiet != nil }, timeout: 20))
        #expect(quiet?.0.isEmpty == true)
        #expect(quiet?.1 == "the ingest did not answer within 1 s")
        #expect(silent.close())

        let unable = try DoorWorld("idv3")
        try unable.open(["--caps=metadata"])
        #expect(unable.run(until: { unable.door.stateName == "ready" }))
        #expect(unable.messages("warning").contains { $0.contains("does not answer verify") && $0.contains("verify_before_purge") })
        var none: String??
        unable.door.verify(files) { _, note in none = .some(note) }
        #expect(none == .some("the ingest does not answer verify"))
        #expect(unable.close())
    }

    @Test("a purge's questions never hang: a crashing child, a refusing child and a shutdown each end them")
    func verifyNeverHangs() throws {
        let file = [IngestVerifyFile(libraryPath: Array("/lib/x.png".utf8), size: 1)]
        // A child that dies at every start: the questions wait for the next one, then time out.
        let crashing = try DoorWorld("idn1")
        try crashing.open(["--crash"], timings: DoorWorld.fast { $0.verifyTimeoutMs = 1_000 })
        var first: String??
        crashing.door.verify(file) { answers, note in first = answers.isEmpty ? .some(note) : .some("answered") }
        #expect(crashing.run(until: { first != nil }, timeout: 20))
        #expect(first == .some("the ingest did not answer within 1 s"))
        #expect(crashing.close())

        // A child that refuses the protocol while the question waits for its handshake.
        let refusing = try DoorWorld("idn2")
        try refusing.open(["--refuse"])
        var second: String??
        refusing.door.verify(file) { _, note in second = .some(note) }
        #expect(refusing.run(until: { second != nil }, timeout: 5))
        #expect(refusing.door.isHalted)
        #expect(refusing.close())

        // mediasync stopping while a question waits.
        let stopping = try DoorWorld("idn3")
        try stopping.open(["--no-ready"])
        var third: String??
        stopping.door.verify(file) { _, note in third = .some(note) }
        #expect(stopping.close())
        #expect(third == .some("mediasync is stopping"))
    }

    @Test("the outbox warns as it fills, then stores no more and says how many events it dropped")
    func outboxLimit() throws {
        let world = try DoorWorld("idl")
        try world.open(["--no-ack"], outboxLimit: 10)
        #expect(try world.storeSynced(7) == OutboxAppend(stored: 7, dropped: 0, total: 7))
        #expect(!world.messages("warning").contains { $0.contains("outbox") })
        try world.storeSynced(2, from: 7)
        #expect(world.messages("warning").contains { $0.contains("the outbox holds 9 of at most 10 events") })
        #expect(try world.storeSynced(5, from: 9) == OutboxAppend(stored: 1, dropped: 4, total: 10))
        #expect(world.messages("error").contains { $0.contains("the outbox is full (10 events): 4 new events were not stored") && $0.contains("outbox_limit") })
        #expect(world.outboxCount() == 10)
        #expect(world.close())
    }

    @Test("metadata is read once: a redelivery carries what the file held when it was synced")
    func metadataReadOnce() throws {
        let world = try DoorWorld("idm")
        try world.open(["--no-ack"])
        let parameters = PNGWriter.forgeParameters(prompt: "a lighthouse", seed: 7, width: 8, height: 8)
        let png = try PNGWriter.encode(width: 8, height: 8, pixels: PNGWriter.gradient(width: 8, height: 8, seed: 1),
                                       text: [("parameters", parameters)])
        try world.storeSynced(1) { _ in png }
        #expect(world.run(until: { world.receivedEventIDs().count == 1 }))
        let first = try #require(world.receivedLines().last?["metadata"] as? [String: Any])
        #expect(first["parameters"] as? String == parameters)
        #expect(first["width"] as? Int == 8 && first["kind"] as? String == "image" && first["format"] as? String == "png")
        try Data("changed".utf8).write(to: URL(fileURLWithPath: world.library + "/f0.png"))
        kill(try #require(world.door.pid), SIGKILL)
        #expect(world.run(until: { world.receivedEventIDs().count == 2 }))
        let again = try #require(world.receivedLines().last?["metadata"] as? [String: Any])
        #expect(NSDictionary(dictionary: first).isEqual(to: again))
        #expect(world.close())
    }
}
