import MediaSyncCore
import Testing

@Suite("Config: which file is read")
struct ConfigLocatorTests {
    let home = "/home/ada"

    func locate(option: String? = nil, _ env: [String: String] = [:], existing: Set<String>) throws(ConfigNotFound) -> ConfigLocation {
        try ConfigLocator.locate(option: option, environment: env, homeDirectory: home, fileExists: { existing.contains($0) })
    }

    @Test func optionWinsEvenWhenTheFileDoesNotExist() throws {
        let all: Set = ["/env.yaml", "/home/ada/.config/mediasync/config.yaml", "/etc/mediasync/config.yaml"]
        #expect(try locate(option: "/given.yaml", ["MEDIASYNC_CONFIG": "/env.yaml"], existing: all)
            == ConfigLocation(path: "/given.yaml", origin: .option))
        #expect(try locate(option: "~/my.yaml", existing: []) == ConfigLocation(path: "/home/ada/my.yaml", origin: .option))
    }

    @Test func environmentVariableComesNext() throws {
        #expect(try locate(["MEDIASYNC_CONFIG": "/env.yaml"], existing: ["/etc/mediasync/config.yaml"])
            == ConfigLocation(path: "/env.yaml", origin: .environment))
        // An empty variable counts as unset.
        #expect(try locate(["MEDIASYNC_CONFIG": ""], existing: ["/etc/mediasync/config.yaml"]).origin == .system)
    }

    @Test func searchPathPrefersTheUserConfig() throws {
        let both: Set = ["/home/ada/.config/mediasync/config.yaml", "/etc/mediasync/config.yaml"]
        #expect(try locate(existing: both) == ConfigLocation(path: "/home/ada/.config/mediasync/config.yaml", origin: .user))
        #expect(try locate(["XDG_CONFIG_HOME": "/xdg"], existing: both.union(["/xdg/mediasync/config.yaml"]))
            == ConfigLocation(path: "/xdg/mediasync/config.yaml", origin: .user))
        #expect(try locate(["XDG_CONFIG_HOME": "/xdg"], existing: both)
            == ConfigLocation(path: "/etc/mediasync/config.yaml", origin: .system))
    }

    @Test func noneFoundListsEveryPlaceLooked() {
        #expect(throws: ConfigNotFound(looked: ["/xdg/mediasync/config.yaml", "/etc/mediasync/config.yaml"])) {
            try locate(["XDG_CONFIG_HOME": "/xdg"], existing: [])
        }
        let error = #expect(throws: ConfigNotFound.self) { try locate(existing: []) }
        let message = error?.description ?? ""
        #expect(message.contains("/home/ada/.config/mediasync/config.yaml"), "\(message)")
        #expect(message.contains("/etc/mediasync/config.yaml"), "\(message)")
        #expect(message.contains("--config"), "\(message)")
    }
}
