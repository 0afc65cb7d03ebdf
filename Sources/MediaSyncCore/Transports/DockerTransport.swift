/// `transport: docker`: a container on this machine, reached with `<command> exec -i` (docker, or a drop-in
/// such as podman). rsync uses it as its remote shell, so the container needs rsync but no ssh server.
public struct DockerTransport: SourceTransport {
    /// The container's name (`docker ps` shows it).
    public var container: String
    /// `docker`, or a drop-in such as `podman`; `docker_command:` in the config.
    public var command: String

    public init(container: String, command: String = "docker") {
        self.container = container
        self.command = command
    }

    public static let name = "docker"
    public static let keys = ["container", "docker_command"]
    public static let rootPlace = "inside the container"

    public static func parse(_ keys: inout TransportKeys) -> DockerTransport? {
        let container = keys.requiredWord("container", example: "forge-1", what: "container name",
                                          ifMissing: "a docker source needs the container name (docker ps shows it), e.g. `container: forge-1`")
        var command: String? = "docker"
        if keys.isPresent("docker_command") {
            command = keys.word("docker_command", example: "podman", what: "program")
        }
        guard let container, let command else { return nil }
        return DockerTransport(container: container, command: keys.expandTilde(command))
    }

    public var summary: String { "\(command) container \(container)" }

    public func scriptArgv(_ script: String, connectionFolder: String?) -> [String] {
        [command, "exec", "-i", container, "sh", "-c", script]
    }

    public func rsyncRemote(path: String, connectionFolder: String?) -> RsyncRemote {
        // `docker exec -i` has no shell behind it and needs blocking I/O (see NOTES.md). `-s` (long name
        // --secluded-args since 3.3, --protect-args before): paths travel inside rsync's protocol.
        RsyncRemote(options: ["-s", "--blocking-io", "-e", TransportCommands.rsyncShellCommand([command, "exec", "-i"])],
                    source: "\(container):\(path)")
    }

    public static let failureWords = TransportFailureWords(
        lines: [
            // docker / podman complaints from `docker exec -i NAME rsync ...`.
            StderrLine(.prefix("Error: No such container"), .error, .remote),
            StderrLine(.prefix("Error response from daemon"), .error, .remote),
            StderrLine(.prefix("OCI runtime exec failed"), .error, .remote),
            StderrLine(.prefix("Error: no container with name"), .error, .remote),
            StderrLine(.prefix("Error: "), .error, .remote),
            StderrLine(.prefix("Cannot connect to the Docker daemon"), .error, .remote),
        ],
        hopeless: ["No such container", "no container with name", "executable file not found"],
        // docker and podman's words for a container that exists but is stopped.
        passing: ["is not running", "container state improper"],
        rsyncMissing: ["executable file not found"])
}

extension Transport {
    /// `<command> exec -i container ...`; command is `docker` or a drop-in such as `podman`.
    public static func docker(container: String, command: String) -> Transport {
        Transport(DockerTransport(container: container, command: command))
    }
}
