import Foundation
import Testing

/// An attached client may still send requests on its connection: the reply takes its place in the stream
/// after the events published before the request, and the events go on after it.
extension SupervisorStreamTests {
    @Test func anAttachedClientsReplyKeepsItsPlaceInTheStream() throws {
        let serve = try ServeHarness(folders: ["a"], sourceExtra: ", bwlimit: 500")
        defer { serve.stop() }
        try serve.start()
        let client = try SocketClient(path: serve.socket)
        client.send(#"{"cmd":"attach"}"#)
        #expect(client.readObject()?.type == "hello")
        let snapshot = try #require(client.readObject())
        if snapshot["state"] as? String == "syncing" { _ = client.collect { $0.type == "cycle_finished" } }

        try serve.makeFiles("a", count: 10, size: 200_000)
        client.send(#"{"cmd":"trigger"}"#)
        // The trigger's reply, then the cycle's events; mid-cycle a status request on the same connection.
        let untilFirstFile = try #require(client.collect(until: { $0.type == "file_synced" }, timeout: 30))
        #expect(untilFirstFile.contains { $0["ok"] as? Bool == true && $0["type"] == nil }, "the trigger's reply")
        let lastSeqBefore = untilFirstFile.last?.seq ?? 0
        client.send(#"{"cmd":"status"}"#)
        let rest = try #require(client.collect(until: { $0.type == "cycle_finished" }, timeout: 60))
        let replyIndex = try #require(rest.firstIndex { $0.type == "status" }, "no status reply in \(rest.map(\.type))")
        #expect(rest[replyIndex]["state"] as? String == "syncing")
        // Events around the reply keep increasing seqs, and events follow it.
        let seqs = rest.filter { $0["seq"] != nil && $0.type != "status" }.map(\.seq)
        #expect(seqs == seqs.sorted() && (seqs.first ?? 0) > lastSeqBefore)
        #expect(rest[(replyIndex + 1)...].contains { $0.type == "file_synced" || $0.type == "job_finished" })
    }
}
