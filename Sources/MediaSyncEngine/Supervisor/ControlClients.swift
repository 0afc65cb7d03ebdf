import MediaSyncCore
import UV

/// The control socket's clients: their connections by id, and the live lines the attached ones share
/// (one `ClientLog`, each client reading it with its own cursor).
final class ControlClients {
    /// Live lines for the attached clients, held once for all of them.
    let log: ClientLog
    private var connections: [Int: ControlConnection] = [:]
    private var lastID = 0
    private var appendsSinceTrim = 0

    init(maxLagBytes: Int, maxLagCount: Int) {
        log = ClientLog(maxLagBytes: maxLagBytes, maxLagCount: maxLagCount)
    }

    /// A connection for `pipe` with the next id, kept until it closes.
    func add(_ pipe: UV.Pipe, onRequest: @escaping (ControlConnection, Result<ControlRequest, ControlRequestError>) -> Void,
             onClosed: @escaping (ControlConnection) -> Void) -> ControlConnection {
        lastID += 1
        let connection = ControlConnection(id: lastID, pipe: pipe, log: log, onRequest: onRequest,
                                           onClosed: { [unowned self] client in
                                               connections[client.id] = nil
                                               onClosed(client)
                                           })
        connections[connection.id] = connection
        return connection
    }

    /// Clients attached now (`mediasync attach`), for the metrics.
    var attachedCount: Int { connections.values.filter { $0.attached && !$0.isClosed }.count }

    /// The open connection `id`, if it is still there.
    subscript(id: Int) -> ControlConnection? { connections[id] }

    /// A bus event: held for the attached clients and pushed to them. Nobody attached: nothing is held (a
    /// client attaching later starts from its snapshot).
    func publish(_ event: Event, _ line: [UInt8]) {
        guard connections.values.contains(where: \.attached) else {
            if log.heldCount > 0 { log.trim(before: nil) }
            return
        }
        log.append(EventLine(seq: event.seq, type: event.type, line: line))
        for client in connections.values where client.attached { client.logGrew() }
        appendsSinceTrim += 1
        if appendsSinceTrim >= 64 { trim() }
    }

    /// Drops the live lines every attached client has been sent.
    func trim() {
        appendsSinceTrim = 0
        log.trim(before: connections.values.filter { $0.attached && !$0.isClosed }.map(\.cursor).min())
    }

    func closeAll() {
        for client in Array(connections.values) { client.close() }
        connections.removeAll()
    }
}
