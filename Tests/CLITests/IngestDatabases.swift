import Foundation
import Testing

/// A private PostgreSQL server for one test: its own data folder, reachable only through a Unix socket in
/// that folder (no TCP port, so parallel tests cannot collide). Stopped and removed by `stop()`.
final class PostgresCluster {
    let folder: String
    private let bin: String

    init() throws {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted()
        guard let version = versions.last(where: {
            FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb")
        }) else {
            throw SyncTestError("PostgreSQL server programs are missing (no /usr/lib/postgresql/*/bin/initdb); "
                + "install them with `apt-get install postgresql` (bin/test installs MEDIASYNC_TEST_PACKAGES)")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        var template = Array("/tmp/msync-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SyncTestError("mkdtemp failed: errno \(errno)") }
        folder = String(cString: made)
        // PostgreSQL refuses to run as root: run it as the `postgres` user Debian's package creates.
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else {
                throw SyncTestError("running as root but there is no `postgres` user to run PostgreSQL as; "
                    + "install Debian's postgresql package, which creates it")
            }
            chown(folder, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        do {
            _ = try ingestRun(asServer([bin + "/initdb", "-D", folder + "/data", "-A", "trust", "-U", "postgres",
                                        "--no-sync", "-E", "UTF8"]))
            // fsync=off: the tests kill the ingest, never the server, so durability of the server is not under test.
            _ = try ingestRun(asServer([bin + "/pg_ctl", "-D", folder + "/data", "-l", folder + "/server.log", "-w",
                                        "-t", "120", "-o", "-k \(folder) -p 5432 -c listen_addresses='' -c fsync=off",
                                        "start"]))
        } catch {
            let serverLog = (try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)) ?? ""
            stop()
            throw SyncTestError("cannot start a private PostgreSQL server in \(folder): \(error)\n\(serverLog)")
        }
    }

    /// A libpq connection string for the server's Unix socket.
    var conninfo: String { "host=\(folder) port=5432 user=postgres dbname=postgres" }

    func psql(_ sql: String) throws -> [String] {
        let out = try ingestRun([bin + "/psql", "-X", "-q", "-At", "-F", "|", "-d", conninfo, "-c", sql])
        return out.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    func stop() {
        _ = try? ingestRun(asServer([bin + "/pg_ctl", "-D", folder + "/data", "-m", "immediate", "-w", "stop"]))
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func asServer(_ argv: [String]) -> [String] {
        getuid() == 0 ? ["runuser", "-u", "postgres", "--"] + argv : argv
    }
}

/// The two reference ingests under test, each with a real database to check what it committed.
enum IngestBackend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    func open() throws -> IngestDatabase {
        let contrib = CLIRunner.packageRoot.appendingPathComponent("contrib/ingest").path
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msync-ingest-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let file = folder + "/library.sqlite"
            return IngestDatabase(
                argv: [ingestPython, contrib + "/sqlite/mediasync_ingest_sqlite.py", file],
                folder: folder, hexPath: "hex(library_path)", parameters: "json_extract(texts, '$.parameters')",
                query: { sql in
                    let script = "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):"
                        + " print('|'.join('' if v is None else str(v) for v in r))"
                    return try ingestRun([ingestPython, "-c", script, file, sql])
                        .split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                },
                close: { try? FileManager.default.removeItem(atPath: folder) })
        case .postgres:
            do {
                _ = try ingestRun([ingestPython, "-c", "import psycopg"])
            } catch {
                throw SyncTestError("\(ingestPython) cannot import psycopg 3, which the PostgreSQL ingest needs: "
                    + "install it with `apt-get install python3-psycopg` (\(error))")
            }
            let cluster = try PostgresCluster()
            return IngestDatabase(
                argv: [ingestPython, contrib + "/postgres/mediasync_ingest_postgres.py", cluster.conninfo],
                folder: cluster.folder, hexPath: "upper(encode(library_path, 'hex'))",
                parameters: "texts->>'parameters'",
                query: { try cluster.psql($0) },
                close: { cluster.stop() })
        }
    }
}

/// A database an ingest writes to: how to start the ingest on it, and how the test reads it back.
struct IngestDatabase {
    let argv: [String]
    let folder: String
    /// SQL for the library path's exact bytes as upper-case hex.
    let hexPath: String
    /// SQL for the `parameters` text of the PNG metadata.
    let parameters: String
    let query: (String) throws -> [String]
    let close: () -> Void

    func start(log name: String) throws -> IngestChild {
        try IngestChild(argv, stderrPath: folder + "/\(name).log")
    }

    func count(_ condition: String = "true") throws -> Int {
        let rows = try query("SELECT count(*) FROM media_files WHERE \(condition)")
        guard let first = rows.first, let n = Int(first) else { throw SyncTestError("count query gave \(rows)") }
        return n
    }

    /// The row of file `index`, looked up by its exact path bytes: `size|sha256|width|height|purged`.
    func row(_ index: Int) throws -> String? {
        try query("SELECT size, sha256, width, height, CASE WHEN purged_at IS NULL THEN 'kept' ELSE 'purged' END"
            + " FROM media_files WHERE \(whereFile(index))").first
    }

    func whereFile(_ index: Int) -> String { "\(hexPath) = '\(IngestScript.hex(IngestScript.libraryPath(index)))'" }
}
