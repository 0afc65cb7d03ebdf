/// Where a job stands in its cycle; the raw values are what the JSON events carry.
///
/// The legal moves (anything else is refused by `canMove(to:)` and changes nothing):
///
/// ```
/// queued         -> listing | transferring | failed
/// listing        -> transferring | purging | done | failed | waiting_retry
/// transferring   -> purging | done | failed | waiting_retry
/// purging        -> done | failed | waiting_retry
/// waiting_retry  -> listing | transferring | purging | failed
/// done, failed   -> nothing (final; the next cycle makes new jobs)
/// ```
/// `listing -> purging | done`: nothing new to copy. `-> failed` from waiting_retry: retries given up.
/// A second rsync run of the same job always passes through `waiting_retry`, even with no delay:
/// entering `transferring` is what starts a new attempt.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued
    case listing
    case transferring
    case purging
    case done
    case failed
    case waitingToRetry = "waiting_retry"

    /// True for `done` and `failed`: nothing will happen to the job in this cycle any more.
    public var isFinal: Bool { self == .done || self == .failed }

    /// True while the job holds one of the cycle's concurrency slots (a child may be running).
    public var holdsSlot: Bool { self == .listing || self == .transferring || self == .purging }

    /// Whether moving from this state to `next` is a legal transition (see the graph above).
    public func canMove(to next: JobState) -> Bool {
        switch (self, next) {
        case (.queued, .listing), (.queued, .transferring), (.queued, .failed):
            return true
        case (.listing, .transferring), (.listing, .purging), (.listing, .done),
             (.listing, .failed), (.listing, .waitingToRetry):
            return true
        case (.transferring, .purging), (.transferring, .done), (.transferring, .failed),
             (.transferring, .waitingToRetry):
            return true
        case (.purging, .done), (.purging, .failed), (.purging, .waitingToRetry):
            return true
        case (.waitingToRetry, .listing), (.waitingToRetry, .transferring),
             (.waitingToRetry, .purging), (.waitingToRetry, .failed):
            return true
        default:
            return false
        }
    }
}
