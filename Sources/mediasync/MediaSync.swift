import ArgumentParser
import MediaSyncCore

/// The `mediasync` command: pulls AI-generated media out of containers into a local library.
@main
struct MediaSync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mediasync",
        abstract: "Pull Forge and ComfyUI outputs from containers and GPU boxes into your media library.",
        version: MediaSyncVersion.string,
        subcommands: [Demo.self, Sync.self, Purge.self, Backfill.self, CheckConfig.self, Serve.self, Attach.self, Status.self, Metrics.self,
                      Trigger.self, Pause.self, Resume.self, Reload.self, Logs.self, AdoptLibrary.self]
    )
}
