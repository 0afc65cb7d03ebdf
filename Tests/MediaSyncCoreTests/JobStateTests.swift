import Testing
@testable import MediaSyncCore

@Suite struct JobStateTests {
    @Test func rawValuesAreTheWireStrings() {
        #expect(JobState.allCases.map(\.rawValue) ==
                ["queued", "listing", "transferring", "purging", "done", "failed", "waiting_retry"])
        #expect(JobState(rawValue: "waiting_retry") == .waitingToRetry)
    }

    @Test func aJobWithARetryWalksTheWholeGraph() {
        var job = JobProgress(id: JobID(source: "forge", folder: "outputs/txt2img-images"))
        #expect(job.id.description == "forge/outputs/txt2img-images")
        for next: JobState in [.listing, .transferring, .waitingToRetry, .transferring, .purging, .done] {
            do { let applied = job.transition(to: next, at: 0); #expect(applied, "refused \(job.state) -> \(next)") }
        }
        #expect(job.attempt == 2)
        #expect(job.state == .done)
    }

    @Test(arguments: [
        (JobState.done, JobState.transferring), (.failed, .queued), (.done, .failed),
        (.queued, .done), (.queued, .purging), (.queued, .waitingToRetry),
        (.transferring, .transferring), (.transferring, .listing), (.purging, .transferring),
        (.waitingToRetry, .done), (.listing, .queued),
    ])
    func illegalTransitionsAreRefusedAndChangeNothing(from: JobState, to: JobState) {
        #expect(!from.canMove(to: to))
        var job = JobProgress(id: JobID(source: "s", folder: "f"))
        let path: [JobState] = switch from {
        case .queued: []
        case .listing: [.listing]
        case .transferring: [.transferring]
        case .purging: [.transferring, .purging]
        case .done: [.transferring, .done]
        case .failed: [.failed]
        case .waitingToRetry: [.transferring, .waitingToRetry]
        }
        for step in path { do { let applied = job.transition(to: step, at: 0); #expect(applied) } }
        let attempt = job.attempt
        do { let applied = job.transition(to: to, at: 1); #expect(!applied) }
        #expect(job.state == from)
        #expect(job.attempt == attempt)
    }

    @Test func finalStatesAcceptNothing() {
        for final in [JobState.done, .failed] {
            #expect(final.isFinal)
            #expect(JobState.allCases.allSatisfy { !final.canMove(to: $0) })
        }
    }

    @Test func everyStateThatRunsCanFailOrGiveUp() {
        for state in JobState.allCases where !state.isFinal {
            #expect(state.canMove(to: .failed), "\(state) cannot fail")
        }
    }
}
