import Foundation
import Testing

@Suite("mediasync check-config, run as a built binary")
struct CheckConfigTests {
    static let validConfig = """
        library: /srv/media
        sources:
          - {name: box, transport: local, root: /in, folders: [x]}
        """

    @Test func aMissingIngestProgramIsAWarningNotAnError() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let missing = try cli.write("missing.yaml", Self.validConfig
            + "\ningest: {command: [/opt/nowhere/media-ingest, --db, x], outbox_limit: 5000}\n")
        let result = try cli.run(["check-config", "--config", missing])
        #expect(result.status == 0, "a program installed later is fine: \(result.stderr)")
        #expect(result.stdout.contains("ingest:    /opt/nowhere/media-ingest --db x (purge waits for its confirmation; outbox up to 5000 events)"),
                "\(result.stdout)")
        #expect(result.stdout.contains("warning: /opt/nowhere/media-ingest does not exist"))
        let present = try cli.write("present.yaml", Self.validConfig + "\ningest: {command: [python3, x.py]}\n")
        let ok = try cli.run(["check-config", "--config", present])
        #expect(ok.status == 0 && !ok.stdout.contains("warning:"), "python3 is found in PATH: \(ok.stdout)")
    }

    @Test func brokenConfigPrintsEveryErrorWithItsLineAndExits2() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let path = try cli.write("broken.yaml", """
            library: media
            concurrency: 0
            interval: soon
            sources:
              - name: forge
                transport: docker
                root: /app/outputs
                folders: [txt2img-images, ../etc]
                colour: blue
            """)
        let result = try cli.run(["check-config", "--config", path])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let expected = [
            "\(path):1:10: library: `media` is a relative path",
            "\(path):2:14: concurrency: 0 is out of range",
            "\(path):3:11: interval: `soon` is not a duration",
            "\(path):5:5: sources[0].container: missing; a docker source needs the container name",
            "\(path):8:31: sources[0].folders[1]: `../etc` has a `..` component",
            "\(path):9:5: sources[0].colour: unknown key",
        ]
        for line in expected {
            #expect(result.stderr.contains(line), "missing \(line) in:\n\(result.stderr)")
        }
        #expect(result.stderr.contains("6 problems in \(path)"))
    }

    @Test func exampleConfigIsValidAndItsSummaryShowsEveryDestination() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let example = CLIRunner.packageRoot.appendingPathComponent("contrib/example-config.yaml").path
        let result = try cli.run(["check-config", "--config", example])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty)
        let home = cli.home.path
        for line in [
            "library:   /srv/media",
            "state dir: /var/lib/mediasync",
            "socket:    /run/mediasync/mediasync.sock (group media)",
            "every 5m, up to 8 rsync children at once",
            "purge:     on for 2 of 3 sources (min age 1d, verify size",
            "  forge: docker container forge-1, root /app/outputs",
            "    /app/outputs/txt2img-images -> /srv/media/forge/txt2img-images",
            "    /app/outputs/img2img-images -> /srv/media/forge/img2img-images",
            "    /app/outputs/extras-images -> /srv/media/forge/extras-images",
            "  comfy-vast: ssh root@ssh4.vast.ai port 40022, root /workspace/ComfyUI, key \(home)/.ssh/vast",
            "    /workspace/ComfyUI/output -> /srv/media/comfyui/output",
            "  scratch: local, root \(home)/ai-scratch, purge off",
            "    \(home)/ai-scratch/renders -> /srv/media/scratch/renders",
        ] {
            #expect(result.stdout.contains(line), "missing \(line) in:\n\(result.stdout)")
        }
    }

    @Test func helpListsCheckConfigAndVersionPrintsTheVersion() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let help = try cli.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("check-config"))
        #expect(help.stdout.contains("Check the config file"))
        let subHelp = try cli.run(["check-config", "--help"])
        #expect(subHelp.stdout.contains("--config <path>"))

        // The version the binary must print is the one in the source, read from there.
        let source = try String(contentsOf: CLIRunner.packageRoot.appendingPathComponent("Sources/MediaSyncCore/Version.swift"),
                                encoding: .utf8)
        let version = try #require(source.split(separator: "\"").dropFirst().first.map(String.init))
        let result = try cli.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == version + "\n")
    }

    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/etc/mediasync/config.yaml"),
                   "a system config exists here, so the search would find it"))
    func missingConfigNamesEveryPlaceLooked() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run(["check-config"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no config file found"))
        #expect(result.stderr.contains("\(cli.home.path)/.config/mediasync/config.yaml"))
        #expect(result.stderr.contains("/etc/mediasync/config.yaml"))
        #expect(result.stderr.contains("--config"))

        let xdg = try cli.run(["check-config"], environment: ["XDG_CONFIG_HOME": cli.home.path + "/xdg"])
        #expect(xdg.stderr.contains("\(cli.home.path)/xdg/mediasync/config.yaml"))
    }

    @Test func explicitPathThatDoesNotExistIsNamed() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let missing = cli.home.path + "/nope.yaml"
        let result = try cli.run(["check-config", "--config", missing])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read \(missing) (from --config): no such file"))
        let fromEnv = try cli.run(["check-config"], environment: ["MEDIASYNC_CONFIG": missing])
        #expect(fromEnv.stderr.contains("cannot read \(missing) (from $MEDIASYNC_CONFIG)"))
    }

    @Test func searchPathAndEnvironmentChooseTheFile() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let user = try cli.write(".config/mediasync/config.yaml", Self.validConfig)
        let found = try cli.run(["check-config"])
        #expect(found.status == 0, "stderr: \(found.stderr)")
        #expect(found.stdout.hasPrefix("config:    \(user) (user config)\n"))
        #expect(found.stdout.contains("/in/x -> /srv/media/box/x"))
        // The state dir default follows HOME.
        #expect(found.stdout.contains("state dir: \(cli.home.path)/.local/state/mediasync"))

        let other = try cli.write("other.yaml", Self.validConfig.replacingOccurrences(of: "/srv/media", with: "/data/lib"))
        let viaEnv = try cli.run(["check-config"], environment: ["MEDIASYNC_CONFIG": other])
        #expect(viaEnv.stdout.hasPrefix("config:    \(other) (from $MEDIASYNC_CONFIG)\n"))
        #expect(viaEnv.stdout.contains("/in/x -> /data/lib/box/x"))
    }
}
