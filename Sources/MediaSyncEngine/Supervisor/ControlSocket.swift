import Foundation
import UV
#if canImport(Glibc)
import Glibc
#endif

/// Makes the control socket: its folder (0700 when we create it; 0750 and `socket_group`'s with one, so that
/// the group can reach the socket), a stale socket from a crash replaced, a running supervisor refused, the
/// file 0600 (0660 and chowned to `socket_group`).
enum ControlSocket {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func open(loop: Loop, path: String, group: String?) throws -> UnixServer {
        let gid = try group.map(groupID)
        try prepareFolder(of: path, group: gid)
        try clearStale(path)
        // The socket is made with mode (0777 & ~umask); a tight umask closes the window before chmod.
        let previous = umask(0o177)
        defer { umask(previous) }
        let server: UnixServer
        do {
            server = try UnixServer(loop: loop, path: path)
        } catch {
            throw Failure(description: "cannot listen on \(path): \(error)")
        }
        if let gid {
            guard chown(path, uid_t.max, gid) == 0 else {
                let reason = String(cString: strerror(errno))
                server.close()
                throw Failure(description: "cannot give \(path) to group \(group!): \(reason); run as root or as a member of that group, or drop `socket_group`")
            }
        }
        guard chmod(path, gid == nil ? 0o600 : 0o660) == 0 else {
            let reason = String(cString: strerror(errno))
            server.close()
            throw Failure(description: "cannot set the mode of \(path): \(reason)")
        }
        return server
    }

    /// Creates the socket's folder when it is missing: 0700, or 0750 belonging to `group` (a group member
    /// must be able to pass through it to reach the 0660 socket). An existing folder is left as it is.
    static func prepareFolder(of path: String, group: gid_t? = nil) throws {
        let folder = (path as NSString).deletingLastPathComponent
        guard !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: group == nil ? 0o700 : 0o750])
        } catch {
            throw Failure(description: "cannot create the socket's folder \(folder): \(error.localizedDescription); create it or change `socket:` in the config")
        }
        if let group, chown(folder, uid_t.max, group) != 0 {
            throw Failure(description: "cannot give the socket's folder \(folder) to its socket_group: \(String(cString: strerror(errno))); run as root or as a member of that group, or create the folder yourself")
        }
    }

    /// A socket file nobody answers on is left from a crash: remove it. One that answers belongs
    /// to a running supervisor: refuse, naming its pid.
    static func clearStale(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "\(path) exists and is not a socket; remove it or change `socket:` in the config")
        }
        do {
            let client = try BlockingControlClient(path: path, timeoutSeconds: 3)
            var pid = "unknown"
            if let reply = try? client.request(#"{"cmd":"status"}"#), let number = reply["pid"] as? Int {
                pid = String(number)
            }
            throw Failure(description: "another mediasync supervisor (pid \(pid)) is already serving on \(path); stop it first (`kill \(pid)` or `systemctl stop mediasync`) or use another `socket:`")
        } catch let failure as BlockingControlClient.Failure {
            guard case .noSupervisor = failure else {
                throw Failure(description: "cannot tell whether a supervisor runs on \(path): \(failure)")
            }
            if unlink(path) != 0 && errno != ENOENT {
                throw Failure(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func groupID(_ name: String) throws -> gid_t {
        if let entry = getgrnam(name) { return entry.pointee.gr_gid }
        if let number = gid_t(name) { return number }
        throw Failure(description: "socket_group \(name) does not exist; create it (groupadd \(name)) or fix `socket_group:`")
    }

    /// Whether a peer may use the socket: our uid, root, or a member of `socket_group`.
    static func allows(_ peer: PeerCredentials, group: gid_t?) -> Bool {
        if peer.uid == getuid() || peer.uid == 0 { return true }
        guard let group else { return false }
        if peer.gid == group { return true }
        // SO_PEERCRED has only the primary group; the supplementary ones are in /proc.
        guard let status = try? String(contentsOfFile: "/proc/\(peer.pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") })
        else { return false }
        // "Groups:\t1002 1003 ": the first number follows a tab.
        return line.dropFirst(7).split(whereSeparator: { $0 == " " || $0 == "\t" }).contains { gid_t($0) == group }
    }
}
