import MediaSyncCore
import Testing

@Suite("Config: each kind of mistake")
struct ConfigErrorTests {
    /// A valid source line to pad configs with.
    static let okSource = "  - {name: ok, transport: local, root: /in, folders: [x]}"

    @Test func missingContainerNamesKeyLineAndFix() throws {
        let issue = try #require(configIssue("""
            library: /srv/media
            sources:
              - name: forge
                transport: docker
                root: /app/outputs
                folders: [txt2img-images]
            """, path: "sources[0].container"))
        #expect(issue.line == 3)
        #expect(issue.description.hasPrefix("config.yaml:3:5: sources[0].container: missing; a docker source needs the container name (docker ps shows it)"))
    }

    @Test func missingRequiredKeysAreEachReported() {
        let issues = configIssues("""
            concurrency: 2
            sources:
              - transport: ssh
                port: 2222
            """)
        #expect(Set(issues.map(\.path)) == ["library", "sources[0].name", "sources[0].root", "sources[0].folders",
                                             "sources[0].host"])
        #expect(issues.first { $0.path == "sources[0].host" }?.line == 3)
        #expect(issues.first { $0.path == "library" }?.fix.contains("/srv/media") == true)
    }

    @Test func missingSourcesKey() throws {
        let issue = try #require(configIssue("library: /srv/media\n", path: "sources"))
        #expect(issue.problem == "missing")
        #expect(issue.fix.contains("name: forge"))
    }

    @Test func unknownKeySuggestsTheClosestKnownKey() throws {
        let issue = try #require(configIssue("""
            library: /srv/media
            sources:
              - name: forge
                transport: local
                root: /in
                folder: [a]
            """, path: "sources[0].folder"))
        #expect(issue.line == 6)
        #expect(issue.fix == "did you mean `folders`?")
        let top = try #require(configIssue("librray: /m\nlibrary: /m\nsources: [{name: a, transport: local, root: /i, folders: [x]}]",
                                           path: "librray"))
        #expect(top.fix == "did you mean `library`?")
    }

    @Test func unknownKeyFarFromAnyListsTheAllowedKeys() throws {
        let issue = try #require(configIssue("library: /m\nretry: {zzz: 1}\nsources: [{name: a, transport: local, root: /i, folders: [x]}]",
                                             path: "retry.zzz"))
        #expect(issue.fix == "the keys allowed here are `attempts`, `backoff`, `max_backoff`")
    }

    @Test func wrongTypes() throws {
        let issues = configIssues("""
            library: [a, b]
            concurrency: many
            purge: {enabled: perhaps}
            sources:
              - name: a
                transport: local
                root: /in
                folders: txt2img-images
            """)
        try #require(issues.map(\.path) == ["library", "concurrency", "purge.enabled", "sources[0].folders"])
        #expect(issues.map(\.line) == [1, 2, 3, 8])
        #expect(issues[0].problem == "expected text, found a list")
        #expect(issues[1].problem == "expected a whole number, found `many`")
        #expect(issues[2].fix.contains("true"))
        #expect(issues[3].fix == "write it like `folders: [txt2img-images, img2img-images]`")
    }

    @Test func duplicateSourceNamesPointAtBothLines() throws {
        let issue = try #require(configIssue("""
            library: /m
            sources:
              - name: forge
                transport: local
                root: /a
                folders: [x]
              - name: forge
                transport: local
                root: /b
                folders: [y]
            """, path: "sources[1].name"))
        #expect(issue.line == 7)
        #expect(issue.problem == "`forge` is already the name of sources[0] on line 3")
    }

    @Test func invalidNames() throws {
        for bad in ["my forge", "forge/1", "..", "förge"] {
            let issue = try #require(configIssue("library: /m\nsources:\n  - {name: \"\(bad)\", transport: local, root: /a, folders: [x]}",
                                                 path: "sources[0].name"))
            #expect(issue.problem == "`\(bad)` is not a valid source name")
            #expect(issue.fix.contains("letters, digits"))
        }
    }

    @Test func foldersThatEscapeTheirRoot() {
        let issues = configIssues("""
            library: /m
            sources:
              - name: a
                transport: local
                root: /in
                folders:
                  - ../etc
                  - /abs
                  - ""
                  - ok/../../x
            """)
        #expect(issues.map(\.path) == ["sources[0].folders[0]", "sources[0].folders[1]", "sources[0].folders[2]",
                                       "sources[0].folders[3]"])
        #expect(issues.map(\.line) == [7, 8, 9, 10])
        #expect(issues[0].problem.contains("`..`"))
        #expect(issues[1].problem == "`/abs` is an absolute path")
        #expect(issues[2].problem == "is empty")
        #expect(issues.allSatisfy { $0.fix.contains("below the source's root") })
    }

    @Test func keysOfAnotherTransport() throws {
        let issue = try #require(configIssue("""
            library: /m
            sources:
              - name: box
                transport: ssh
                host: gpu
                container: forge-1
                root: /r
                folders: [x]
            """, path: "sources[0].container"))
        #expect(issue.line == 6)
        #expect(issue.problem == "`container` is for docker sources, but this source's transport is ssh")
        #expect(issue.fix.contains("transport: docker"))
    }

    @Test func relativeLibraryPath() throws {
        let issue = try #require(configIssue("library: media\n" + "sources:\n" + Self.okSource, path: "library"))
        #expect(issue.problem == "`media` is a relative path")
        #expect(issue.fix.contains("starting with `/` or `~/`"))
    }

    @Test func concurrencyBelowOne() throws {
        let issue = try #require(configIssue("library: /m\nconcurrency: 0\nsources:\n" + Self.okSource, path: "concurrency"))
        #expect(issue.line == 2)
        #expect(issue.problem == "0 is out of range")
        #expect(issue.fix.contains("between 1 and 64"))
    }

    @Test func badDurations() {
        let issues = configIssues("library: /m\ninterval: 5 minutes\nsettle: 2x\nretry: {backoff: -1s}\nsources:\n" + Self.okSource)
        #expect(issues.map(\.path) == ["interval", "settle", "retry.backoff"])
        #expect(issues.map(\.line) == [2, 3, 4])
        #expect(issues[0].problem == "`5 minutes` is not a duration")
        #expect(issues.allSatisfy { $0.fix.contains("90s, 5m, 24h, 1d") })
    }

    @Test func zeroIntervalIsRefused() throws {
        let issue = try #require(configIssue("library: /m\ninterval: 0s\nsources:\n" + Self.okSource, path: "interval"))
        #expect(issue.problem == "must be at least 1s")
    }

    @Test func unknownTransportListsTheValidOnes() throws {
        let issue = try #require(configIssue("library: /m\nsources:\n  - {name: a, transport: dokcer, root: /a, folders: [x]}",
                                             path: "sources[0].transport"))
        #expect(issue.problem == "`dokcer` is not a transport")
        #expect(issue.fix == "did you mean `docker`? valid transports are `docker`, `ssh`, `local`")
    }

    @Test func yamlSyntaxErrorCarriesYamsLine() throws {
        let issues = configIssues("library: /m\nsources:\n  - name: a\n    folders: [x, y\n  - name: b\n")
        let issue = try #require(issues.first)
        #expect(issues.count == 1)
        #expect(issue.path == "")
        #expect(issue.problem.hasPrefix("YAML syntax error"))
        #expect(issue.line == 5)
        #expect(issue.description.hasPrefix("config.yaml:5:"))
    }

    @Test func tabIndentationGetsItsOwnFix() throws {
        let issue = try #require(configIssues("library: /m\nsources:\n\t- name: a\n").first)
        #expect(issue.line == 3)
        #expect(issue.fix == "this line has a tab; YAML indents with spaces only")
    }

    @Test func duplicateKeyIsASyntaxProblemWithItsLine() throws {
        let issue = try #require(configIssues("library: /a\nconcurrency: 2\nlibrary: /b\n").first)
        #expect(issue.problem == "the key `library` appears twice in the same mapping")
        #expect(issue.line == 1)
    }

    @Test func emptyFile() throws {
        for text in ["", "# only a comment\n\n"] {
            let issue = try #require(configIssues(text).first)
            #expect(issue.description.hasPrefix("config.yaml:1:1: the file"))
            #expect(issue.fix.contains("`library:` and `sources:`"))
        }
    }

    @Test func sshFieldsThatWouldBeReadAsOptions() {
        let issues = configIssues("""
            library: /m
            sources:
              - name: box
                transport: ssh
                host: -oProxyCommand=evil
                port: 70000
                user: root@box
                ssh_options: ["-o Compression=no", Compression]
                root: ~/out
                folders: [x]
            """)
        #expect(issues.map(\.path) == ["sources[0].host", "sources[0].port", "sources[0].user",
                                       "sources[0].ssh_options[0]", "sources[0].ssh_options[1]", "sources[0].root"])
        #expect(issues[0].problem.contains("would be read as an option"))
        #expect(issues[1].fix.contains("between 1 and 65535"))
        #expect(issues[3].fix.contains("without `-o`"))
        #expect(issues[5].problem.contains("not the remote one"))
    }

    @Test func userWrittenIntoTheHost() throws {
        let issue = try #require(configIssue("library: /m\nsources:\n  - {name: a, transport: ssh, host: ubuntu@gpu.example, root: /r, folders: [x]}",
                                             path: "sources[0].host"))
        #expect(issue.fix == "write `host: gpu.example` and `user: ubuntu`")
    }

    @Test func badBandwidthLimitAndVerifyMode() {
        let issues = configIssues("""
            library: /m
            purge: {verify: hash}
            sources:
              - {name: a, transport: local, root: /a, folders: [x], bwlimit: 20 MB/s}
            """)
        #expect(issues.map(\.path) == ["purge.verify", "sources[0].bwlimit"])
        #expect(issues[0].fix.contains("`size`") && issues[0].fix.contains("`checksum`"))
        #expect(issues[1].fix.contains("20M"))
    }

    @Test func streamsIsAutoOrACountFrom1To16() {
        let issues = configIssues("""
            library: /m
            sources:
              - {name: a, transport: local, root: /a, folders: [x], streams: 0}
              - {name: b, transport: local, root: /b, folders: [x], streams: many}
              - {name: c, transport: local, root: /c, folders: [x], streams: 17}
              - {name: d, transport: local, root: /d, folders: [x], streams: AUTO}
              - {name: e, transport: local, root: /e, folders: [x], streams: 16}
            """)
        #expect(issues.map(\.path) == ["sources[0].streams", "sources[1].streams", "sources[2].streams"])
        #expect(issues[0].problem == "0 is out of range")
        #expect(issues[1].problem.contains("expected `auto` or a whole number"))
        #expect(issues.allSatisfy { $0.fix.contains("`streams: auto`") && $0.fix.contains("from 1 to 16") })
    }

    @Test func twoSourcesLandingInTheSameLibraryFolder() throws {
        let issue = try #require(configIssue("""
            library: /m
            sources:
              - {name: a, transport: local, root: /a, folders: [out], dest: shared}
              - {name: b, transport: local, root: /b, folders: [out], dest: shared}
            """, path: "sources[1].folders[0]"))
        #expect(issue.problem == "lands in /m/shared/out, which overlaps sources[0].folders[0] on line 3")
        #expect(issue.fix.contains("different `dest:`"))
    }

    @Test func localFolderInsideItsOwnLibraryDestination() throws {
        let issue = try #require(configIssue("""
            library: /srv/media
            sources:
              - {name: inbox, transport: local, root: /srv/media, folders: [inbox]}
            """, path: "sources[0].folders[0]"))
        #expect(issue.problem == "/srv/media/inbox overlaps the library folder /srv/media/inbox/inbox (sources[0].folders[0]), so files would be copied onto themselves")
        // A local folder elsewhere in the library tree, not overlapping any destination, is fine.
        let config = try parseConfig("""
            library: /srv/media
            sources:
              - {name: scans, transport: local, root: /srv/media/incoming, folders: [scans]}
            """)
        #expect(config.jobs.map(\.destination) == ["/srv/media/scans/scans"])
    }

    @Test func defaultSocketUnderALongHomeIsCaughtToo() throws {
        let home = "/home/" + String(repeating: "h", count: 90)
        do {
            _ = try Config.parse(yaml: "library: /m\nsources:\n" + Self.okSource, fileName: "config.yaml",
                                 environment: [:], homeDirectory: home)
            Issue.record("a \(home.count + 40)-byte socket path was accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["socket"])
            #expect(error.issues[0].fix.contains("set `socket:`"))
        }
    }

    @Test func socketPathTooLongForUnixSockets() throws {
        let long = "/run/" + String(repeating: "s", count: 120) + ".sock"
        let issue = try #require(configIssue("library: /m\nsocket: \(long)\nsources:\n" + Self.okSource, path: "socket"))
        #expect(issue.problem.contains("Unix sockets allow 107"))
    }

    @Test func manyErrorsAreAllReportedInFileOrder() {
        let issues = configIssues("""
            library: relative/path
            concurrency: 0
            interval: soon
            sources:
              - name: forge
                transport: docker
                root: /app/outputs
                folders: [../up]
              - name: forge
                transport: ftp
                root: /x
                folders: [a]
                colour: blue
            """)
        #expect(issues.map(\.path) == ["library", "concurrency", "interval", "sources[0].container",
                                       "sources[0].folders[0]", "sources[1].name", "sources[1].transport",
                                       "sources[1].colour"])
        #expect(issues.map(\.line) == [1, 2, 3, 5, 8, 9, 10, 13])
        #expect(issues.allSatisfy { !$0.fix.isEmpty })
    }
}
