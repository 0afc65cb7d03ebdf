import MediaSyncCore
import Testing

@Suite("Config: valid files")
struct ConfigParseTests {
    static let full = """
        library: /srv/media/            # trailing slash dropped
        state_dir: /var/lib/mediasync
        socket: /run/mediasync/mediasync.sock
        socket_group: media
        interval: 5m
        concurrency: 6
        settle: 90s
        stall_timeout: 3m
        io_timeout: 45s
        retry: {attempts: 5, backoff: 15s, max_backoff: 1h30m}
        purge: {enabled: true, min_age: 2d, protect: ["*.keep", "favorites/*"], verify: checksum, dry_run: true}
        sources:
          - name: forge
            transport: docker
            container: forge-1
            docker_command: podman
            root: /app/outputs
            folders: [txt2img-images, img2img-images/]
            bwlimit: 20M
          - name: comfy.vast_2
            transport: ssh
            host: ssh4.vast.ai
            port: 40022
            user: ubuntu
            identity: ~/.ssh/vast
            ssh_options: [Compression=no, ServerAliveInterval=15]
            root: /workspace/ComfyUI
            folders: [output]
            dest: ai/comfy
            purge: false
            settle: 5m
            streams: 8
          - name: scans
            transport: local
            root: ~/Scans
            folders: [2026/inbox]
        ingest: {command: ["~/bin/media-ingest", "--db", "~/media.db"], verify_before_purge: false}
        """

    @Test func fullConfigGivesExactTypedValues() throws {
        let config = try parseConfig(Self.full)
        #expect(config.library == "/srv/media")
        #expect(config.stateDirectory == "/var/lib/mediasync")
        #expect(config.socket == "/run/mediasync/mediasync.sock")
        #expect(config.socketGroup == "media")
        #expect(config.interval == .seconds(300))
        #expect(config.concurrency == 6)
        #expect(config.settle == .seconds(90))
        #expect(config.stallTimeout == .seconds(180))
        #expect(config.ioTimeout == .seconds(45))
        #expect(config.retry == RetryPolicy(attempts: 5, backoff: .seconds(15), maxBackoff: .seconds(5400)))
        #expect(config.purge == PurgeSettings(enabled: true, minAge: .seconds(2 * 86400),
                                              protect: ["*.keep", "favorites/*"], verify: .checksum, dryRun: true))
        #expect(config.ingest == IngestSettings(command: ["/home/ada/bin/media-ingest", "--db", "~/media.db"],
                                                verifyBeforePurge: false))
        #expect(config.sources == [
            Source(name: "forge", transport: .docker(container: "forge-1", command: "podman"), root: "/app/outputs",
                   folders: ["txt2img-images", "img2img-images"], dest: "forge", bwlimit: "20M", purge: true,
                   settle: .seconds(90)),
            Source(name: "comfy.vast_2",
                   transport: .ssh(host: "ssh4.vast.ai", port: 40022, user: "ubuntu", identity: "/home/ada/.ssh/vast",
                                   options: ["Compression=no", "ServerAliveInterval=15"]),
                   root: "/workspace/ComfyUI", folders: ["output"], dest: "ai/comfy", bwlimit: nil, purge: false,
                   settle: .seconds(300), streams: .fixed(8)),
            Source(name: "scans", transport: .local, root: "/home/ada/Scans", folders: ["2026/inbox"], dest: "scans",
                   bwlimit: nil, purge: true, settle: .seconds(90)),
        ])
        #expect(config.jobs.map(\.id) == ["forge/txt2img-images", "forge/img2img-images", "comfy.vast_2/output",
                                          "scans/2026/inbox"])
        #expect(config.jobs.map(\.destination) == ["/srv/media/forge/txt2img-images", "/srv/media/forge/img2img-images",
                                                   "/srv/media/ai/comfy/output", "/srv/media/scans/2026/inbox"])
        #expect(config.sources[1].path(of: "output") == "/workspace/ComfyUI/output")
    }

    @Test func minimalConfigGetsDocumentedDefaults() throws {
        let config = try parseConfig("""
            library: ~/media
            sources:
              - {name: box, transport: ssh, host: gpu.example, root: /root/out, folders: [a]}
            """)
        #expect(config.library == "/home/ada/media")
        #expect(config.stateDirectory == "/home/ada/.local/state/mediasync")
        #expect(config.socket == "/home/ada/.local/state/mediasync/mediasync.sock")
        #expect(config.socketGroup == nil)
        #expect(config.interval == .seconds(300))
        #expect(config.concurrency == 8)
        #expect(config.settle == .seconds(120))
        #expect(config.stallTimeout == .seconds(120))
        #expect(config.ioTimeout == .seconds(60))
        #expect(config.retry == RetryPolicy(attempts: 3, backoff: .seconds(10), maxBackoff: .seconds(600)))
        // Purging is off unless the user turns it on: deleting is irreversible.
        #expect(config.purge == PurgeSettings(enabled: false, minAge: .seconds(86400), protect: [], verify: .size,
                                              dryRun: false))
        #expect(config.ingest == nil)
        // Port, user and key are ssh's to decide (its defaults, ~/.ssh/config) unless the config sets them.
        #expect(config.sources[0].transport == .ssh(host: "gpu.example", port: nil, user: nil, identity: nil, options: []))
        #expect(config.sources[0].dest == "box")
        #expect(config.sources[0].purge == false)
    }

    @Test func stateDirAndSocketFollowXDG() throws {
        let yaml = "library: /m\nsources: [{name: l, transport: local, root: /in, folders: [x]}]"
        let both = try parseConfig(yaml, environment: ["XDG_STATE_HOME": "/xdg/state", "XDG_RUNTIME_DIR": "/run/user/1000"])
        #expect(both.stateDirectory == "/xdg/state/mediasync")
        #expect(both.socket == "/run/user/1000/mediasync.sock")
        let stateOnly = try parseConfig(yaml, environment: ["XDG_STATE_HOME": "/xdg/state"])
        #expect(stateOnly.socket == "/xdg/state/mediasync/mediasync.sock")
        // A relative XDG value is ignored, as the XDG spec says.
        let relative = try parseConfig(yaml, environment: ["XDG_STATE_HOME": "state"])
        #expect(relative.stateDirectory == "/home/ada/.local/state/mediasync")
    }

    @Test func perSourcePurgeSwitchOverridesTheGlobalOne() throws {
        let config = try parseConfig("""
            library: /m
            sources:
              - {name: a, transport: local, root: /in, folders: [x]}
              - {name: b, transport: local, root: /in, folders: [y], purge: true}
            """)
        #expect(config.purge.enabled == false)
        #expect(config.sources.map(\.purge) == [false, true])
    }

    @Test func maxBackoffDefaultGrowsWithALongBackoff() throws {
        let config = try parseConfig("""
            library: /m
            retry: {backoff: 20m}
            sources: [{name: a, transport: local, root: /in, folders: [x]}]
            """)
        #expect(config.retry.maxBackoff == .seconds(1200))
    }

    @Test func retryDelaysDoubleUpToTheCap() {
        let retry = RetryPolicy(attempts: 6, backoff: .seconds(10), maxBackoff: .seconds(60))
        #expect((1...6).map { retry.delay(beforeAttempt: $0) } == [.zero, .seconds(10), .seconds(20), .seconds(40),
                                                                   .seconds(60), .seconds(60)])
    }
}
