import Dispatch
import MediaSyncCore
import UV

/// A purge's work for a source on this machine (`SourceTransport.isOnThisMachine`): the listing
/// (`LocalListing`) and the delete batches (`LocalDelete`) run in this process on another thread, where other
/// sources pay for a child (a shell, find, stat, rm, xargs...). Their ends read as `PurgeChild`'s do
/// (`PurgeChildReport.Outcome`), and the stall watchdog watches them too: a folder on a frozen mount fails the
/// purge after `stall_timeout` and stops the thread at its next file (a system call stuck in the kernel cannot be
/// cut short; its result is dropped, and a batch's intent completes the audit next time).
struct PurgeHere {
    let loop: Loop
    let stallTimeout: Duration
    /// How the source is reached, for the report's lines (`local`).
    let target: String

    /// What the thread tells the loop.
    private enum News: Sendable {
        case alive
        case answers([RemotePurgeResult])
        case listed(LocalListing.Result)
        case deleted(failure: LocalDelete.Failure?)
    }

    /// Lists `folder` below `root` as the purge's listing script would; `then` gets the outcome and, when the
    /// listing can be read, the listing. Returns the work to stop it, or nil when it could not start.
    func list(root: String, folder: String, cancelled: @escaping () -> Bool,
              then: @escaping (PurgeChildReport.Outcome, RemoteListing?) -> Void) -> PurgeHereWork? {
        var report = PurgeChildReport(what: "listing", target: target, vanishedIsFine: true)
        return start("listing", then: { then($0, nil) }, work: { _, poster in
            poster.post(.listed(LocalListing.list(root: root, folder: folder) { poster.post(.alive) }))
        }) { news in
            guard case let .listed(result) = news else { return nil }
            // A walk cannot be cut short: a cancelled one ends as a stopped child's would.
            if cancelled() { return { then(.failed("cancelled"), nil) } }
            for text in result.complaints { report.add(line: text) }
            let outcome = report.outcome(code: result.code, signal: 0, status: "exited with status \(result.code)",
                                         stalled: false, cancelled: cancelled(), stallTimeout: stallTimeout)
            if case .failed = outcome { return { then(outcome, nil) } }
            // Only vanished files complained of, but no files read either (the folder itself went meanwhile).
            guard let listing = result.listing else {
                let line = "the listing on \(target) ended without a result: \(result.complaints.first ?? "code \(result.code)")"
                return { then(.failed(line), nil) }
            }
            return { then(outcome, listing) }
        }
    }

    /// Deletes `records` below `folder` (`LocalDelete`); `onAnswers` gets its answers as they come, `then` the
    /// outcome. Returns the work to stop it, or nil when it could not start.
    func delete(folder: String, minAgeSeconds: Int64, records: [RemotePurgeScript.Record],
                onAnswers: @escaping ([RemotePurgeResult]) -> Void,
                then: @escaping (PurgeChildReport.Outcome) -> Void) -> PurgeHereWork? {
        start("purge", then: then, work: { stop, poster in
            let failure = LocalDelete.run(folder: folder, minAgeSeconds: minAgeSeconds, records: records, stop: stop) {
                poster.post(.answers($0))
            }
            poster.post(.deleted(failure: failure))
        }) { news in
            switch news {
            case let .answers(answers):
                onAnswers(answers)
                return nil
            case let .deleted(failure):
                return { then(failure.map { .failed("the purge on \(target) failed: \($0)") } ?? .succeeded) }
            default:
                return nil
            }
        }
    }

    /// Runs `work` on another thread; `receive` reads each piece of news on the loop and returns the ending when
    /// it is the last one.
    private func start(_ what: String, then failed: @escaping (PurgeChildReport.Outcome) -> Void,
                       work: @escaping @Sendable (StopFlag, MailboxPoster<News>) -> Void,
                       receive: @escaping (News) -> (() -> Void)?) -> PurgeHereWork? {
        let handle = PurgeHereWork()
        let loop = self.loop
        var watchdog = StallWatchdog(limit: stallTimeout, startedAt: Double(loop.now) / 1000)
        do {
            // The handle is held by its own callbacks until it ends (`end` drops them): the loop owns it meanwhile.
            let mailbox = try Mailbox<News>(loop: loop) { batch in
                guard !handle.ended else { return }
                for news in batch {
                    watchdog.activity(at: Double(loop.now) / 1000)
                    if let ending = receive(news) {
                        handle.end()
                        return ending()
                    }
                }
            }
            handle.closing.append(mailbox.close)
            let timer = try UV.Timer(loop: loop)
            handle.closing.append(timer.close)
            let stallTimeout = self.stallTimeout, target = self.target
            timer.start(after: 1_000, repeat: 1_000) {
                guard !handle.ended, watchdog.isStalled(at: Double(loop.now) / 1000) else { return }
                handle.end()
                failed(PurgeChildReport(what: what, target: target).outcome(
                    code: 0, signal: 0, status: "", stalled: true, cancelled: false, stallTimeout: stallTimeout))
            }
            let stop = handle.stop, poster = mailbox.poster
            DispatchQueue.global(qos: .userInitiated).async { work(stop, poster) }
            return handle
        } catch {
            handle.end()
            failed(.failed("cannot start the \(what) on \(target): \(error)"))
            return nil
        }
    }
}

/// One piece of `PurgeHere` work, running on another thread.
final class PurgeHereWork {
    let stop = StopFlag()
    fileprivate var ended = false
    fileprivate var closing: [() -> Void] = []

    /// Stops the thread at its next file; its ending still comes (cut short), as a stopped child's does.
    func cancel() { stop.raise() }

    /// No more news: the thread is told to stop, its later posts are dropped.
    fileprivate func end() {
        ended = true
        stop.raise()
        for close in closing { close() }
        closing = []
    }
}
