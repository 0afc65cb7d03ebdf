/// The listing and the plan: one remote call lists the folder, its exit decides what comes next.
extension JobMachine {
    mutating func startListing(at now: Double, _ out: inout [JobAction]) {
        guard move(to: .listing, &out) else { return }
        out.append(.progress(.publish))
        children = [newChild(.listing, at: now)]
        listingOutput = RemoteListingReader()
        out.append(.spawnListing)
    }

    /// Bytes the listing printed: parsed as they come (a big folder is not held twice), and a sign of life
    /// for the watchdog.
    public mutating func listingOutput(_ bytes: UnsafeRawBufferPointer, at now: Double) {
        guard let index = childIndex(.listing), children[index].isRunning else { return }
        listingOutput.feed(bytes)
        children[index].watchdog.activity(at: now)
    }

    /// The same, from an array (tests).
    public mutating func listingOutput(_ bytes: [UInt8], at now: Double) {
        bytes.withUnsafeBytes { listingOutput($0, at: now) }
    }

    /// A listing made in this process (`listedHere`) is still walking: a sign of life for the watchdog, as a
    /// child's output is.
    public mutating func listingAlive(at now: Double) {
        guard let index = childIndex(.listing), children[index].isRunning else { return }
        children[index].watchdog.activity(at: now)
    }

    /// The listing was made in this process rather than by a child (a folder on this machine): the executor
    /// told `spawned(.listing)` when it began, and now hands over what the script would have printed, already
    /// read (`listing`, nil when it failed), its complaints, and its exit. Judged as a child's listing is.
    public mutating func listedHere(_ listing: RemoteListing?, complaints: [String], exit: ChildExit,
                                    at now: Double) -> [JobAction] {
        guard let index = childIndex(.listing), children[index].isRunning else { return [illegal("listing made here")] }
        for text in complaints {
            children[index].messages.append(RsyncMessages.classify(text, stream: .stderr))
        }
        if let listing { listingOutput = RemoteListingReader(listed: listing) }
        return exited(.listing, exit, at: now)
    }

    mutating func listingExited(_ run: ChildRun, at now: Double, _ out: inout [JobAction]) {
        let exit = run.exit!
        // find exits 1 when files vanish while it lists them; what it printed is complete for the rest.
        let vanished = stopReason(run) == nil
            ? VanishedFiles.completeDespite(code: exit.code, signal: exit.signal, messages: run.messages)
            : nil
        hasListed = vanished != nil
        out.append(.slot(.listed))
        if !cancelled, let noise = listingOutput.shellNoise {
            // Only the box's owner can silence the shell: no retry. Named first even when the listing failed
            // too, since the noise would break rsync anyway.
            hasListed = false
            return finish(failedWith: "\(settings.job): " + NoisyShell.line(target: settings.transport, firstLine: noise.firstLine),
                          exitCode: nil, at: now, &out)
        }
        guard let vanished else {
            return failedAttempt(run, what: "listing", at: now, &out)
        }
        if vanished > 0 {
            log("info", "\(settings.job): \(ViewFormat.count(vanished, "file")) vanished while the folder was listed (deleted at the source)",
                &out)
        }
        let listing: RemoteListing
        do {
            listing = try listingOutput.finish()
        } catch {
            hasListed = false
            return finish(failedWith: "\(settings.job): the listing from the source could not be read: \(error)",
                          exitCode: nil, at: now, &out)
        }
        listingOutput = RemoteListingReader()
        if listing.format == .absent {
            // Forge creates a folder only when its tab is first used: an empty folder, not an error.
            note = "not created yet"
            log("info", "\(settings.job): \(settings.sourceFolder) is not created yet on the source; nothing to sync", &out)
            out.append(.progress(.plan(files: 0, bytes: 0)))
            return finishDone(exitCode: nil, mayPurge: false, at: now, &out)
        }
        out.append(.plan(listing))
    }

    /// The executor planned the listing (`SyncPlan`, with the manifest and the library): files settling or
    /// refused are told, files already home adopted, and the rest transferred.
    public mutating func planned(_ plan: SyncPlan, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard state == .listing, hasListed, planned.isEmpty, pending.isEmpty else {
            out.append(illegal("plan"))
            return out
        }
        for deferred in plan.deferred {
            if let detail = deferred.detail {
                log("warning", "\(settings.job): \(String(decoding: deferred.remotePath, as: UTF8.self)) stays at the source: \(detail)",
                    &out)
            }
            out.append(.emit(.fileDeferred(cycle: settings.cycle, job: eventJob, path: deferred.remotePath,
                                           reason: deferred.reason.rawValue)))
        }
        for adopted in plan.adopted {
            // Already at its library name with the same size and mtime (a crash between move and record).
            filesHome += 1
            bytesHome += adopted.size
            out.append(.fileHome(adopted, libraryPath: adopted.libraryPath))
        }
        planned = plan.transfers
        placement = Placement.choose(plan.transfers, traits: traits, libraryPlain: plan.libraryPlain)
        pending = PendingFiles(planned)
        out.append(.progress(.plan(files: planned.count, bytes: plan.totalBytes)))
        out.append(.progress(.publish))
        if pending.isEmpty {
            finishDone(exitCode: nil, at: now, &out)
        } else {
            startTransfer(at: now, &out)
        }
        return out
    }
}
