/// What a client gets first when it attaches, before the live events: `hello`, a `snapshot` of the state,
/// and with `since` the events after it that the ring still holds, behind a `gap` notice when some are gone.
///
/// ```swift
/// let lines = AttachGreeting.lines(version: "1.2.0", pid: 4242, snapshot: stateLine,
///                                  replay: since.map(bus.replay(since:)), since: since, timeMs: now)
/// client.attach(sendingFirst: lines)
/// ```
public enum AttachGreeting {
    public static func lines(version: String, pid: Int, snapshot: [UInt8], replay: EventBus.Replay?, since: Int64?,
                             timeMs: Int64) -> [EventLine] {
        var lines = [EventLine(seq: 0, type: "hello", line: ControlProtocol.okLine { o in
            o.field("type", "hello")
            o.field("version", version)
            o.field("pid", pid)
            o.field("protocol", ControlProtocol.version)
        })]
        lines.append(EventLine(seq: 0, type: "snapshot", line: snapshot))
        if let replay, let since {
            if replay.missed > 0 {
                lines.append(EventLine(seq: 0, type: "gap", line: EventBus.gapLine(since: since, missed: replay.missed, timeMs: timeMs)))
            }
            lines.append(contentsOf: replay.lines)
        }
        return lines
    }
}
