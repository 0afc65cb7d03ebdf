import MediaSyncCore

/// A config file's text through Yams and `Config.parse`: it is read or refused with issues that each name
/// a place; never a crash.
enum ConfigFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        let environment = ["XDG_STATE_HOME": "/home/u/.local/state", "XDG_RUNTIME_DIR": "/run/user/1000"]
        do {
            let config = try Config.parse(yaml: text, fileName: "config.yaml", environment: environment,
                                          homeDirectory: "/home/u")
            _ = String(describing: config)
        } catch {
            fuzzCheck(!error.issues.isEmpty, "a refused config without an issue")
            for issue in error.issues {
                fuzzCheck(issue.description.hasPrefix("config.yaml"), "an issue that does not name the file: \(issue)")
            }
        }
    }
}
