import ArgumentParser
import Foundation
import MediaSyncCore

/// The `--config PATH` option shared by every subcommand that reads the config file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The config file to read.",
        discussion: "Without it: $MEDIASYNC_CONFIG, else $XDG_CONFIG_HOME/mediasync/config.yaml (~/.config/...), else /etc/mediasync/config.yaml.",
        valueName: "path"))
    var config: String?

    /// Finds, reads and parses the config file, or prints every problem to stderr and exits with status 2.
    func load() throws -> (location: ConfigLocation, config: Config) {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let location: ConfigLocation
        do {
            location = try ConfigLocator.locate(option: config, environment: environment, homeDirectory: home,
                                                fileExists: { FileManager.default.fileExists(atPath: $0) })
        } catch {
            throw ConfigFailure(message: "mediasync: " + error.description)
        }
        let text = try Self.read(location)
        do {
            let parsed = try Config.parse(yaml: text, fileName: location.path, environment: environment, homeDirectory: home)
            return (location, parsed)
        } catch {
            let count = error.issues.count
            throw ConfigFailure(message: error.description
                + "\nmediasync: \(count) problem\(count == 1 ? "" : "s") in \(location.path)")
        }
    }

    /// The parsed config, or (after printing every problem to stderr) exit status 2.
    func loadOrExit() throws -> Config {
        do {
            return try load().config
        } catch let failure as ConfigFailure {
            throw failure.report()
        }
    }

    /// Exits with status 2, naming the known sources, when `--source` names one the config lacks.
    static func requireSources(_ names: [String], in config: Config) throws {
        let unknown = names.filter { name in !config.sources.contains { $0.name == name } }
        guard !unknown.isEmpty else { return }
        let known = config.sources.map(\.name).joined(separator: ", ")
        throw ConfigFailure(message: "mediasync: no source named \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in the config; the sources are: \(known)").report()
    }

    private static func read(_ location: ConfigLocation) throws -> String {
        let path = location.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigFailure(message: "mediasync: cannot read \(location): no such file; check the path, or create it (contrib/example-config.yaml is a start)")
        }
        if isDirectory.boolValue {
            throw ConfigFailure(message: "mediasync: cannot read \(location): it is a directory; give the config file inside it")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFailure(message: "mediasync: cannot read \(location): permission denied; run as a user who can read it, or fix its mode")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFailure(message: "\(path):1:1: the file is not UTF-8 text; save it as UTF-8")
        }
        return text
    }
}

/// A config that cannot be used: its message goes to stderr and the process exits with status 2.
struct ConfigFailure: Error {
    let message: String

    /// Prints the message and returns the exit code that signals a config problem.
    func report() -> ExitCode {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return ExitCode(2)
    }
}
