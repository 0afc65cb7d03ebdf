import MediaSyncCore
import Testing

/// Files deleted at the source while they are listed or copied are not failures; anything else still is.
/// The lines are what GNU find 4.9 and rsync 3.5.0 print here (see SyncLiveSourceTests for the real runs).
@Suite("vanished files")
struct VanishedFilesTests {
    func messages(_ lines: [String]) -> [RsyncMessage] {
        var parser = RsyncOutputParser(stream: .stderr)
        var out: [RsyncMessage] = []
        for record in parser.feed(Array(lines.joined(separator: "\n").utf8) + [0x0A]) {
            if case .message(let m) = record { out.append(m) }
        }
        return out
    }

    @Test("find's exit 1 for entries that vanished between readdir and stat leaves a complete listing")
    func findVanished() {
        let lines = ["find: './000000.png': No such file or directory", "find: ‘./sub/000007.png’: No such file or directory"]
        #expect(VanishedFiles.completeDespite(code: 1, signal: 0, messages: messages(lines)) == 2)
        // ssh's chatter on the same stream does not change that.
        let withSSH = ["Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts."] + lines
        #expect(VanishedFiles.completeDespite(code: 1, signal: 0, messages: messages(withSSH)) == 2)
    }

    @Test("a listing that really failed stays a failure: the folder itself, permission, I/O, a signal")
    func realFailures() {
        #expect(VanishedFiles.completeDespite(code: 1, signal: 0, messages: messages(["find: '.': No such file or directory"])) == nil)
        #expect(VanishedFiles.completeDespite(code: 1, signal: 0, messages: messages([
            "find: './a.png': No such file or directory", "find: './private': Permission denied"])) == nil)
        #expect(VanishedFiles.completeDespite(code: 1, signal: 0, messages: messages([
            "find: './b.png': Input/output error"])) == nil)
        #expect(VanishedFiles.completeDespite(code: 1, signal: 0, messages: []) == nil, "exit 1 with no reason is a failure")
        #expect(VanishedFiles.completeDespite(code: 0, signal: 9, messages: []) == nil)
        #expect(VanishedFiles.completeDespite(code: 2, signal: 0, messages: messages([
            "find: './a.png': No such file or directory"])) == nil, "only find's 1 and rsync's 23/24 are vanishing codes")
    }

    @Test("rsync: a name of the list that is gone (23) or a file that vanished mid-transfer (24) is not a failure")
    func rsyncVanished() {
        let gone = ["rsync: [sender] link_stat \"/srv/out/gone.png\" failed: No such file or directory (2)",
                    "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]"]
        #expect(VanishedFiles.completeDespite(code: 23, signal: 0, messages: messages(gone)) == 1)
        let midway = ["file has vanished: \"/srv/out/a.png\"",
                      "rsync warning: some files vanished before they could be transferred (code 24) at main.c(1394) [sender=3.5.0]"]
        #expect(VanishedFiles.completeDespite(code: 24, signal: 0, messages: messages(midway)) == 1)
        // A 23 with any other complaint (a full disk, a permission) is a failure, vanished files or not.
        let mixed = gone + ["rsync: [receiver] write failed on \"x\": No space left on device (28)"]
        #expect(VanishedFiles.completeDespite(code: 23, signal: 0, messages: messages(mixed)) == nil)
        let denied = ["rsync: [sender] send_files failed to open \"/srv/out/a.png\": Permission denied (13)",
                      "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]"]
        #expect(VanishedFiles.completeDespite(code: 23, signal: 0, messages: messages(denied)) == nil)
    }
}
