import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync status`: a one-shot table of what the supervisor is doing and how each folder last went.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the supervisor's state, each folder's last result and the next cycle.",
        discussion: "Exit 0 when a supervisor answered, 3 when none runs.")

    @OptionGroup var socket: SocketOptions

    @Flag(help: "Print the supervisor's status reply as one JSON object (docs/protocol.md).")
    var json = false

    func run() throws {
        let client = try socket.connect(timeoutSeconds: 10)
        do {
            try client.send(#"{"cmd":"status"}"#)
        } catch {
            ControlCommand.fail("mediasync: \(error)")
            throw ExitCode(3)
        }
        guard let line = try? client.readLine(),
              let reply = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        else {
            ControlCommand.fail("mediasync: the supervisor did not answer; is it stuck? (check `journalctl -u mediasync`)")
            throw ExitCode(3)
        }
        // A refusal (a peer it does not serve) is an error, not a status, with or without --json.
        guard reply["ok"] as? Bool != false else {
            ControlCommand.fail("mediasync: " + (reply["error"] as? String ?? "the supervisor refused the request"))
            throw ExitCode(1)
        }
        if json {
            FileHandle.standardOutput.write(Data(line + [0x0A]))
            return
        }
        print(Self.table(reply), terminator: "")
    }

    static func table(_ reply: [String: Any]) -> String {
        var lines: [String] = []
        var state = reply["state"] as? String ?? "?"
        if let cycle = reply["cycle"] as? Int { state += " (cycle \(cycle))" }
        lines.append("state:       \(state)   pid \(reply["pid"] as? Int ?? 0)")
        if let progress = reply["progress"] as? [String: Any], let overall = progress["overall"] as? [String: Any] {
            let percent = (overall["percent"] as? NSNumber)?.doubleValue ?? 0
            lines.append("progress:    \(ViewFormat.percent(percent))  \(overall["files_done"] as? Int ?? 0)/\(overall["files_total"] as? Int ?? 0) files")
        }
        lines.append("next cycle:  " + ((reply["next_cycle_at"] as? String).map(local) ?? (reply["paused"] as? Bool == true ? "paused" : "-")))
        if let schedule = reply["purge_schedule"] as? String, schedule != "after_sync" {
            let next = (reply["next_purge_at"] as? String).map(local)
                ?? (schedule == "manual" ? "only when asked (mediasync trigger --purge)" : "-")
            lines.append("next purge:  \(next)  (purge.schedule \"\(schedule)\")" + (reply["pending_purge"] as? Bool == true ? ", one waiting" : ""))
        }
        if let last = reply["last_purge"] as? [String: Any] {
            let failed = last["folders_failed"] as? Int ?? 0
            lines.append("last purge:  \(last["cycle"] as? Int ?? 0) at \(local(last["finished_at"] as? String ?? "")): "
                + "\(last["files_purged"] as? Int ?? 0) files deleted, \(last["folders_done"] as? Int ?? 0) folders done, \(failed) failed")
        }
        if let last = reply["last_cycle"] as? [String: Any] {
            let failed = last["jobs_failed"] as? Int ?? 0
            lines.append("last cycle:  \(last["cycle"] as? Int ?? 0) at \(local(last["finished_at"] as? String ?? "")): "
                + "\(last["jobs_done"] as? Int ?? 0) done, \(failed) failed, \(last["files"] as? Int ?? 0) files, "
                + ViewFormat.bytes((last["bytes"] as? NSNumber)?.int64Value ?? 0))
        }
        if let ingest = reply["ingest"] as? [String: Any] {
            let pid = (ingest["pid"] as? Int).map { " (pid \($0))" } ?? ""
            let waiting = ingest["outbox"] as? Int ?? 0
            lines.append("ingest:      \(ingest["state"] as? String ?? "?")\(pid), \(waiting) event\(waiting == 1 ? "" : "s") "
                + "waiting, \(ingest["in_flight"] as? Int ?? 0) sent and not yet acknowledged")
        }
        lines.append("")
        var rows = [["FOLDER", "LAST", "WHEN", "FILES", "BYTES", "NOTE"]]
        for job in reply["jobs"] as? [[String: Any]] ?? [] {
            let last = job["last"] as? [String: Any]
            var note = last?["error"] as? String ?? last?["note"] as? String ?? ""
            if let skipped = job["skipped"] as? String { note = skipped }
            else if let until = job["backoff_until"] as? String { note = "backing off until \(local(until))" + (note.isEmpty ? "" : "; " + note) }
            rows.append([job["job"] as? String ?? "?",
                         last?["state"] as? String ?? "never",
                         (last?["finished_at"] as? String).map(local) ?? "-",
                         last.map { String($0["files"] as? Int ?? 0) } ?? "-",
                         last.map { ViewFormat.bytes(($0["bytes"] as? NSNumber)?.int64Value ?? 0) } ?? "-",
                         note])
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            var text = ""
            for column in 0..<5 { text += row[column].padding(toLength: widths[column] + 2, withPad: " ", startingAt: 0) }
            lines.append((text + row[5]).trimmingCharacters(in: .whitespaces))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// An RFC 3339 UTC time shown in local time, `2026-11-26 12:46:36`.
    static func local(_ rfc3339: String) -> String {
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = parser.date(from: rfc3339) else { return rfc3339 }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }
}
