import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync trigger`: asks the supervisor for a cycle now (or right after the running one).
struct Trigger: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running supervisor for a cycle now.",
        discussion: """
            A cycle already running gets exactly one more queued behind it. With --purge, the cycle is a purge \
            of its own (every folder whose purge is on), whatever purge.schedule says; it waits for a running \
            sync. With --wait, waits for that cycle to finish: exit 0 when every job succeeded, 1 when any \
            failed. Exit 3 when no supervisor runs.
            """)

    @OptionGroup var socket: SocketOptions

    @Option(name: .customLong("source"), help: ArgumentHelp("Only this source (repeatable).", valueName: "name"))
    var sources: [String] = []

    @Flag(help: "Wait until the cycle has finished; exit 1 if any job failed.")
    var wait = false

    @Flag(help: "Start a purge cycle instead of a sync (lists, verifies, asks the ingest, deletes).")
    var purge = false

    func run() throws {
        let client = try socket.connect()
        var request = #"{"cmd":"trigger""#
        if !sources.isEmpty { request += #","sources":["# + sources.map(ControlCommand.quoted).joined(separator: ",") + "]" }
        if wait { request += #","wait":true"# }
        if purge { request += #","purge":true"# }
        request += "}"
        let reply = try ControlCommand.request(client, request)
        if purge { return try purgeReply(reply, client) }
        if reply["queued"] as? Bool == true {
            ControlCommand.fail("mediasync: a cycle is running; one more will start after it")
        } else if let cycle = reply["cycle"] as? Int {
            ControlCommand.fail("mediasync: cycle \(cycle) started")
        }
        guard wait else { return }
        guard let line = try? client.readLine(),
              let finished = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        else {
            ControlCommand.fail("mediasync: the supervisor went away before the cycle finished")
            throw ExitCode(1)
        }
        let failed = finished["jobs_failed"] as? Int ?? 0
        let done = finished["jobs_done"] as? Int ?? 0
        let files = finished["files"] as? Int ?? 0
        let bytes = (finished["bytes"] as? NSNumber)?.int64Value ?? 0
        print("cycle \(finished["cycle"] as? Int ?? 0): \(done) of \(done + failed) jobs done, \(ViewFormat.count(files, "file")), \(ViewFormat.bytes(bytes))"
              + (failed > 0 ? "; \(failed) failed" : ""))
        if failed > 0 { throw ExitCode(1) }
    }

    private func purgeReply(_ reply: [String: Any], _ client: BlockingControlClient) throws {
        if reply["already_running"] as? Bool == true {
            ControlCommand.fail("mediasync: purge cycle \(reply["cycle"] as? Int ?? 0) is running already")
        } else if reply["queued"] as? Bool == true {
            ControlCommand.fail("mediasync: a cycle is running; the purge starts after it")
        } else if let cycle = reply["cycle"] as? Int {
            ControlCommand.fail("mediasync: purge cycle \(cycle) started")
        }
        guard wait else { return }
        guard let line = try? client.readLine(),
              let finished = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        else {
            ControlCommand.fail("mediasync: the supervisor went away before the purge finished")
            throw ExitCode(1)
        }
        let failed = finished["jobs_failed"] as? Int ?? 0
        let done = finished["jobs_done"] as? Int ?? 0
        print("purge cycle \(finished["cycle"] as? Int ?? 0): \(done) of \(done + failed) folders purged, "
              + "\(ViewFormat.count(finished["files_purged"] as? Int ?? 0, "file")) deleted" + (failed > 0 ? "; \(failed) failed" : ""))
        if failed > 0 { throw ExitCode(1) }
    }
}

/// `mediasync pause`: no new cycle starts until `resume` (the running one finishes).
struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold new cycles back until `mediasync resume` (a running cycle finishes).")
    @OptionGroup var socket: SocketOptions

    func run() throws {
        _ = try ControlCommand.request(try socket.connect(), #"{"cmd":"pause"}"#)
        print("paused")
    }
}

/// `mediasync resume`: cycles run again; one that came due while paused starts now.
struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Let cycles run again after `mediasync pause`.")
    @OptionGroup var socket: SocketOptions

    func run() throws {
        let reply = try ControlCommand.request(try socket.connect(), #"{"cmd":"resume"}"#)
        print("resumed (\(reply["state"] as? String ?? "idle"))")
    }
}

/// `mediasync reload`: the supervisor rereads its config; a bad one is rejected with its errors.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the supervisor reread its config (as SIGHUP does).",
        discussion: "A config with problems is rejected and the running one stays; the problems are printed and the exit status is 1.")
    @OptionGroup var socket: SocketOptions

    func run() throws {
        let reply = try ControlCommand.request(try socket.connect(), #"{"cmd":"reload"}"#)
        print("reloaded: \(reply["sources"] as? Int ?? 0) sources, \(reply["jobs"] as? Int ?? 0) folders")
    }
}
