import MediaSyncCore
import Testing

/// The registered transports as the config sees them: a transport added with a clashing name or key would make
/// `transport:` ambiguous or steal a key every source has.
@Suite("transports: the registry")
struct TransportRegistryTests {
    @Test("every registered transport has its own name, and none claims a key every source has")
    func namesAndKeysAreTheirOwn() {
        let names = Transport.registered.map(\.name)
        #expect(Set(names).count == names.count, "\(names)")
        let common: Set = ["name", "transport", "root", "folders", "dest", "bwlimit", "purge", "settle"]
        for kind in Transport.registered {
            #expect(common.isDisjoint(with: kind.keys), "\(kind.name) claims \(common.intersection(kind.keys))")
            #expect(Transport.named(kind.name)?.name == kind.name)
        }
        #expect(Transport.named("kubectl") == nil)
    }

    @Test("a transport value says which transport it is, and compares by its settings")
    func valuesCompareBySettings() throws {
        let ssh = Transport.ssh(host: "vast1", port: 2222)
        #expect(ssh.name == "ssh" && Transport.local.name == "local"
            && Transport.docker(container: "forge-1", command: "podman").name == "docker")
        #expect(ssh == .ssh(host: "vast1", port: 2222))
        #expect(ssh != .ssh(host: "vast1", port: 2223))
        #expect(Transport.docker(container: "forge-1", command: "docker") != .docker(container: "forge-1", command: "podman"))
        #expect(Transport.local != ssh)
        #expect(Set([ssh, .ssh(host: "vast1", port: 2222), .local]).count == 2)
        #expect(try #require(ssh.as(SSHTransport.self)).port == 2222)
        #expect(ssh.as(DockerTransport.self) == nil)
        #expect(Transport.local.isOnThisMachine && !ssh.isOnThisMachine)
        #expect(ssh.sharesConnection && !Transport.local.sharesConnection)
    }
}
