/// Decides which config file to read: `--config`, then `$MEDIASYNC_CONFIG`, then the search path.
///
/// Pure: existence is asked through a closure, so the CLI passes `FileManager` and tests pass a set.
public enum ConfigLocator {
    /// The system-wide config, last place searched.
    public static let systemPath = "/etc/mediasync/config.yaml"

    /// The files searched, in order, when neither `--config` nor `$MEDIASYNC_CONFIG` is given:
    /// `$XDG_CONFIG_HOME/mediasync/config.yaml` (or `~/.config/...`), then ``systemPath``.
    public static func searchPath(environment: [String: String], homeDirectory: String) -> [String] {
        let configHome: String
        // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            configHome = xdg
        } else {
            configHome = ConfigPath.join(homeDirectory, ".config")
        }
        return [ConfigPath.join(configHome, "mediasync/config.yaml"), systemPath]
    }

    /// The config file to read. An explicit choice (`option`, then `$MEDIASYNC_CONFIG`) wins even if the
    /// file does not exist, so a typo there is reported as such rather than silently falling back.
    public static func locate(option: String?, environment: [String: String], homeDirectory: String,
                              fileExists: (String) -> Bool) throws(ConfigNotFound) -> ConfigLocation {
        if let option, !option.isEmpty {
            return ConfigLocation(path: ConfigPath.expandTilde(option, home: homeDirectory), origin: .option)
        }
        if let variable = environment["MEDIASYNC_CONFIG"], !variable.isEmpty {
            return ConfigLocation(path: ConfigPath.expandTilde(variable, home: homeDirectory), origin: .environment)
        }
        let candidates = searchPath(environment: environment, homeDirectory: homeDirectory)
        for (index, path) in candidates.enumerated() where fileExists(path) {
            return ConfigLocation(path: path, origin: index == candidates.count - 1 ? .system : .user)
        }
        throw ConfigNotFound(looked: candidates)
    }
}

/// The config file chosen by ``ConfigLocator`` and why it was chosen.
public struct ConfigLocation: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var origin: Origin

    /// How the path was found.
    public enum Origin: Sendable, Equatable {
        case option, environment, user, system
    }

    public init(path: String, origin: Origin) {
        self.path = path
        self.origin = origin
    }

    /// `/etc/mediasync/config.yaml (system config)`, for the summary line.
    public var description: String {
        switch origin {
        case .option: "\(path) (from --config)"
        case .environment: "\(path) (from $MEDIASYNC_CONFIG)"
        case .user: "\(path) (user config)"
        case .system: "\(path) (system config)"
        }
    }
}

/// No config file was given and none exists in the search path.
public struct ConfigNotFound: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every path looked at, in order.
    public var looked: [String]

    public init(looked: [String]) { self.looked = looked }

    public var description: String {
        "no config file found; looked at:\n" + looked.map { "  \($0)" }.joined(separator: "\n")
            + "\ncreate one there (contrib/example-config.yaml is a start), or pass --config PATH or set MEDIASYNC_CONFIG"
    }
}
