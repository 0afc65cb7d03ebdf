import MediaSyncCore
import UV

/// The connections one cycle holds to its sources (ssh): which lane each rsync stream rides
/// (`ConnectionLanes`), the lanes opened ahead while the listing runs (a login through a far link takes a
/// second; the listing hides it), and their end: every shared connection and lane is told to exit when the
/// cycle ends, so that no ssh process outlives it.
final class SourceConnections {
    private let loop: Loop
    private let context: SyncContext
    private var lanes: [String: ConnectionLanes] = [:]
    /// Lanes above 0 opened or used, per source: closed at the end.
    private var opened: [String: Set<Int>] = [:]
    /// Openers still logging in, by source and lane (stopped at the end; their masters are then closed like
    /// the rest), with the streams waiting for them.
    private var openers: [LaneKey: (child: Child, waiting: [() -> Void])] = [:]

    /// Sources on a first cycle whose first listing is still logging in: once it has taken
    /// `StreamSplit.farLinkSetupSeconds`, the link is far and the big streams' connections are opened ahead.
    private var measuring: Set<String> = []
    /// Each source's round trip as its first listing of the cycle measured it, and as its link probe did.
    private var listedRoundTrip: [String: Double] = [:]
    private var probedRoundTrip: [String: Double] = [:]
    /// Link probes of sources still measuring (`LinkProbe`): a far link's lanes open as soon as one answers.
    private var probes: [String: LinkProbe] = [:]

    private struct LaneKey: Hashable {
        var source: String
        var lane: Int
    }

    private var concurrency: Int { context.config.concurrency }

    init(loop: Loop, context: SyncContext) {
        self.loop = loop
        self.context = context
    }

    /// The most lanes each source's big streams held at once in this cycle.
    var mostLanes: [String: Int] { lanes.mapValues(\.mostAtOnce) }

    func claim(_ source: Source, bytes: Int64) -> ConnectionLanes.Lane {
        var sourceLanes = lanes[source.name] ?? ConnectionLanes(hasLanes: source.transport.hasLanes)
        let lane = sourceLanes.claim(bytes: bytes)
        lanes[source.name] = sourceLanes
        if lane.number > 0 { opened[source.name, default: []].insert(lane.number) }
        return lane
    }

    func release(_ source: Source, _ lane: ConnectionLanes.Lane) {
        lanes[source.name]?.release(lane)
    }

    /// The source's first listing of the cycle starts (it makes the shared connection). The big streams' own
    /// connections log in while it runs: as many as the last cycle of this source used at once (`hint`); on a
    /// first cycle, as soon as the link probe has timed the link, as many as the streams will use at that
    /// round trip (`probed`), or else, once the listing's login shows a far link, as many as its `streams:`
    /// allows (`tick`).
    func firstListing(of source: Source, hint: Int?) {
        if let hint {
            openAhead(source, lanes: min(hint, concurrency))
        } else if source.transport.hasLanes {
            measuring.insert(source.name)
            let commands = context.transportCommands(for: source)
            guard StreamSplit.most(source.streams, multiConnection: true) > 1, concurrency > 1,
                  let argv = commands.resolveArgv() else { return }
            let probe = LinkProbe(loop: loop, argv: argv, environment: context.childEnvironment(commands)) { [weak self] outcome in
                self?.probed(source, outcome)
            }
            probes[source.name] = probe
            probe.start()
        }
    }

    /// The source's round trip (`StreamSplit.autoMost`): the smaller of what its link probe and its first
    /// listing measured. Both add the server's own work to the link's: the probe a packet's, the listing a
    /// shell's reading its input and answering, which a busy box makes longer. Nil when neither measured.
    func roundTrip(of source: String) -> Double? {
        switch (probedRoundTrip[source], listedRoundTrip[source]) {
        case let (probed?, listed?): min(probed, listed)
        case let (probed, listed): probed ?? listed
        }
    }

    /// A link probe's answer: the round trip decides (`StreamSplit.lanesAhead`) unless the listing already did.
    private func probed(_ source: Source, _ outcome: LinkProbe.Outcome) {
        probes[source.name] = nil
        guard case let .measured(trip) = outcome else {
            if case let .nothing(why) = outcome, measuring.contains(source.name) {
                log("debug", "\(source.name): no link probe (\(why)); its listing's login decides")
            }
            return
        }
        probedRoundTrip[source.name] = trip
        guard measuring.contains(source.name) else { return }
        guard let lanes = StreamSplit.lanesAhead(source.streams, probedRoundTrip: trip) else { return }
        measuring.remove(source.name)
        let count = min(lanes, concurrency)
        guard count > 1 else { return }
        log("info", "\(source.name): the link's round trip is \(Self.milliseconds(trip)) (link probe): "
            + "\(count - 1) connection\(count == 2 ? "" : "s") for its streams log in beside the listing")
        openAhead(source, lanes: count)
    }

    /// The source's first listing ended: what it measured of the link is kept.
    func firstListingEnded(_ job: JobRun) {
        if let trip = job.listingTimer?.roundTrip {
            listedRoundTrip[job.source] = trip
            log("debug", "\(job.source): round trip \(Self.milliseconds(trip)) by its listing"
                + (probedRoundTrip[job.source].map { ", \(Self.milliseconds($0)) by the link probe" } ?? ""))
        }
        measuring.remove(job.source)
        probes.removeValue(forKey: job.source)?.stop()
    }

    private static func milliseconds(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10_000).rounded())
        return "\(tenths / 10).\(tenths % 10) ms"
    }

    private func log(_ level: String, _ message: String) {
        context.emit(.log(level: level, message: message, cycle: context.cycleID, job: nil))
    }

    /// The cycle's tick: a first listing that has not answered for `farLinkSetupSeconds` is on a far link;
    /// its big streams' connections log in now, while it lists.
    func tick(at now: Double, jobs: [JobRun]) {
        for name in measuring {
            guard let job = jobs.first(where: { $0.source == name && $0.listingTimer != nil }),
                  let timer = job.listingTimer else { continue }
            if timer.setup != nil {
                measuring.remove(name)
                probes.removeValue(forKey: name)?.stop()
            } else if timer.isSlow(at: now) {
                measuring.remove(name)
                probes.removeValue(forKey: name)?.stop()
                let source = job.job.source
                openAhead(source, lanes: min(StreamSplit.most(source.streams, multiConnection: true), concurrency))
            }
        }
    }

    /// Opens lanes 1 to `count - 1` of `source` now, each a connection its master keeps up (`ssh -f -N`:
    /// logged in, then in the background, no remote command), for the big streams the plan may start. A
    /// failure here is no failure: the stream then makes its own connection.
    func openAhead(_ source: Source, lanes count: Int) {
        guard count > 1, source.transport.hasLanes else { return }
        let commands = context.transportCommands(for: source)
        for lane in 1..<count {
            guard let argv = commands.openLaneArgv(lane) else { return }
            let key = LaneKey(source: source.name, lane: lane)
            guard openers[key] == nil else { continue }
            opened[source.name, default: []].insert(lane)
            let command = Command(argv[0], Array(argv.dropFirst()), environment: context.childEnvironment(commands),
                                  stdout: .ignore, stderr: .ignore)
            if let child = try? Child(loop: loop, command: command, onFinished: { [weak self] _, _ in
                guard let self, let opener = openers.removeValue(forKey: key) else { return }
                for stream in opener.waiting { stream() }
            }) {
                openers[key] = (child, [])
            }
        }
    }

    /// Runs `start` once lane `lane` of `source` is open: at once, or when its opener, still logging in,
    /// is done (whatever it came to: a stream that started meanwhile would log in a second time, and the
    /// opener has the head start).
    func whenOpen(_ source: Source, lane: Int, _ start: @escaping () -> Void) {
        let key = LaneKey(source: source.name, lane: lane)
        guard openers[key] != nil else { return start() }
        openers[key]?.waiting.append(start)
    }

    /// Ends the shared connection and every lane of `sources`, then calls `done`. `-O exit` without a master
    /// is harmless; one that does not answer within 10 s (a master wedged on a dead link) is stopped.
    func closeAll(_ sources: [Source], then done: @escaping () -> Void) {
        for opener in openers.values { opener.child.stop(grace: 1_000) }
        for probe in probes.values { probe.stop() }
        probes.removeAll()
        var argvs: [([String], TransportCommands)] = []
        for source in sources {
            let commands = context.transportCommands(for: source)
            if let argv = commands.closeSharedConnectionArgv() { argvs.append((argv, commands)) }
            for lane in (opened[source.name] ?? []).sorted() {
                if let argv = commands.closeLaneArgv(lane) { argvs.append((argv, commands)) }
            }
        }
        guard !argvs.isEmpty else { return done() }
        var remaining = argvs.count
        for (argv, commands) in argvs {
            let command = Command(argv[0], Array(argv.dropFirst()), environment: context.childEnvironment(commands),
                                  stdout: .ignore, stderr: .ignore)
            let finished = { remaining -= 1; if remaining == 0 { done() } }
            do {
                let timer = try? UV.Timer(loop: loop)
                let child = try Child(loop: loop, command: command, onFinished: { _, _ in
                    timer?.close()
                    finished()
                })
                timer?.start(after: 10_000) { child.stop(grace: 1_000) }
            } catch {
                finished()
            }
        }
    }
}
