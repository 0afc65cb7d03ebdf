import Foundation
import Testing

/// Tiny but real PNG files, written by hand (CLITests cannot import MediaSyncCore's PNGWriter): an RGB image
/// in one stored (uncompressed) zlib block, with `tEXt` chunks as Forge and ComfyUI write them.
enum TinyPNG {
    static func make(width: Int, height: Int, texts: [(keyword: String, text: String)] = [], shade: UInt8 = 0) -> [UInt8] {
        var ihdr = be32(width) + be32(height)
        ihdr += [8, 2, 0, 0, 0]  // 8 bits, RGB, deflate, no filter method, not interlaced
        var raw: [UInt8] = []
        for y in 0..<height {
            raw.append(0)  // filter type None
            for x in 0..<width { raw += [UInt8(truncatingIfNeeded: x * 40), UInt8(truncatingIfNeeded: y * 40), shade] }
        }
        precondition(raw.count < 65_535, "one stored block holds at most 65,535 bytes")
        let length = UInt16(raw.count)
        var zlib: [UInt8] = [0x78, 0x01, 0x01, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
        zlib += raw + be32(Int(adler32(raw)))
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", ihdr)
        // Latin-1 text: every character in these tests is ASCII.
        for (keyword, text) in texts { png += chunk("tEXt", Array(keyword.utf8) + [0] + Array(text.utf8)) }
        png += chunk("IDAT", zlib)
        png += chunk("IEND", [])
        return png
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return be32(data.count) + typed + be32(Int(crc32(typed)))
    }

    private static func be32(_ value: Int) -> [UInt8] {
        [UInt8((value >> 24) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        return b << 16 | a
    }
}

/// What the tests look at around a `mediasync` run with an ingest: its config line, the outbox in
/// manifest.sqlite, file hashes, and the rows an ingest database holds.
enum IngestDoorCheck {
    /// The `ingest:` config line for `argv` (YAML flow list, every item quoted).
    static func config(_ argv: [String], extra: String = "") -> String {
        let items = argv.map { "\"\($0)\"" }.joined(separator: ", ")
        return "ingest: {command: [\(items)]\(extra.isEmpty ? "" : ", " + extra)}"
    }

    /// Rows in `ingest_outbox` of the state folder's manifest (read by python3's sqlite3: CLITests has no SQLite).
    static func outboxCount(stateDir: String) throws -> Int {
        let script = "import sqlite3,sys\nprint(sqlite3.connect(sys.argv[1]).execute('select count(*) from ingest_outbox').fetchone()[0])"
        let out = try ingestRun([ingestPython, "-c", script, stateDir + "/manifest.sqlite"])
        guard let count = Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SyncTestError("outbox count: \(out)")
        }
        return count
    }

    /// Lower-case hex SHA-256 of a file, by coreutils' sha256sum.
    static func sha256(_ path: String) throws -> String {
        String(try ingestRun(["sha256sum", path]).prefix(64))
    }

    /// Upper-case hex of a path's bytes, as the row queries give `library_path`.
    static func hex(_ path: String) -> String { IngestScript.hex(Array(path.utf8)) }
}

/// One `media_files` row as the tests compare it.
struct MediaRow {
    var size: Int
    var kind: String?
    var sha256: String?
    var width: Int?
    var height: Int?
    var texts: [String: String]
    var purged: Bool
}

extension IngestDatabase {
    /// Every row by upper-case hex library path, read as one JSON document (texts hold newlines and `|`).
    func rows() throws -> [String: MediaRow] {
        let sql = hexPath.hasPrefix("hex(")
            ? "SELECT json_group_array(json_object('path', hex(library_path), 'size', size, 'kind', kind, 'sha256', sha256, "
                + "'width', width, 'height', height, 'texts', texts, 'purged', purged_at IS NOT NULL)) FROM media_files"
            : "SELECT coalesce(json_agg(json_build_object('path', upper(encode(library_path, 'hex')), 'size', size, "
                + "'kind', kind, 'sha256', sha256, 'width', width, 'height', height, 'texts', texts::text, "
                + "'purged', purged_at IS NOT NULL)), '[]') FROM media_files"
        let text = try query(sql).joined(separator: "\n")
        guard let array = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw SyncTestError("rows query gave \(text)")
        }
        var rows: [String: MediaRow] = [:]
        for object in array {
            let path = object["path"] as? String ?? ""
            var texts: [String: String] = [:]
            if let json = object["texts"] as? String,
               let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] {
                texts = parsed.compactMapValues { $0 as? String }
            }
            // SQLite gives 0/1 for the comparison, PostgreSQL true/false.
            let purged = (object["purged"] as? Bool) ?? ((object["purged"] as? Int) == 1)
            if rows[path] != nil { throw SyncTestError("two rows for the library path \(path)") }
            rows[path] = MediaRow(size: object["size"] as? Int ?? -1, kind: object["kind"] as? String,
                                  sha256: object["sha256"] as? String, width: object["width"] as? Int,
                                  height: object["height"] as? Int, texts: texts, purged: purged)
        }
        return rows
    }
}

/// Python programs the tests start as the ingest, and helpers that watch one from outside.
enum IngestScripts {
    /// Answers `ready` with metadata and verify, then reads to the end of stdin without ever answering.
    static let neverAcks = """
        import json, sys
        sys.stdin.readline()
        sys.stdout.write(json.dumps({"type": "ready", "protocol": 1, "capabilities": ["metadata", "verify"]}) + "\\n")
        sys.stdout.flush()
        print("silent ingest: ready, acking nothing", file=sys.stderr, flush=True)
        for line in sys.stdin:
            pass

        """

    /// The first start (no marker file yet) answers its first event with garbage on stdout and keeps reading;
    /// every later start records each event as `id<TAB>type<TAB>library_path` in the record file, then acks it.
    static let garbageOnce = """
        import json, os, sys
        marker, record = sys.argv[1], sys.argv[2]
        first = not os.path.exists(marker)
        open(marker, "a").close()
        sys.stdin.readline()
        sys.stdout.write(json.dumps({"type": "ready", "protocol": 1, "capabilities": ["metadata", "verify"]}) + "\\n")
        sys.stdout.flush()
        for line in sys.stdin:
            event = json.loads(line)
            if first:
                sys.stdout.write("Traceback (most recent call last): oops\\n")
                sys.stdout.flush()
                continue
            if event.get("type") == "verify":
                sys.stdout.write(json.dumps({"id": event["id"], "committed": False}) + "\\n")
            else:
                with open(record, "a") as f:
                    f.write("%s\\t%s\\t%s\\n" % (event["id"], event["type"], event.get("library_path", "")))
                    f.flush()
                    os.fsync(f.fileno())
                sys.stdout.write(json.dumps({"ack": event["id"]}) + "\\n")
            sys.stdout.flush()

        """

    /// Waits until the SQLite ingest database has at least `threshold` rows, then SIGKILLs `pid` (or, for
    /// pid 0, every process whose command line holds both `needle` and the
    /// database path) and prints the row count it saw. Polling in
    /// one python process reacts within milliseconds, before the ingest commits the rest.
    static let killAtRows = """
        import os, signal, sqlite3, sys, time
        db, threshold, pid, needle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        outbox = sys.argv[5] if len(sys.argv) > 5 else None   # the supervisor's manifest: kill only while events wait
        def waiting():
            try:
                return sqlite3.connect("file:%s?mode=ro" % outbox, uri=True).execute("select count(*) from ingest_outbox").fetchone()[0]
            except sqlite3.Error:
                return 0
        def cmdline(p):
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    return f.read()
            except OSError:
                return b""
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                # (connect would create the file: wait for the ingest to make it)
                n = os.path.exists(db) and sqlite3.connect(db).execute("select count(*) from media_files").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= threshold and (outbox is None or waiting() > 0):
                victims = [pid] if pid else [int(p) for p in os.listdir("/proc")
                                             if p.isdigit() and p != str(os.getpid()) and needle.encode() in cmdline(p)
                                             and db.encode() in cmdline(p)]
                for victim in victims:
                    os.kill(victim, signal.SIGKILL)
                print(n, " ".join(map(str, victims)))
                sys.exit(0)
            time.sleep(0.003)
        print("timeout", file=sys.stderr)
        sys.exit(1)

        """
}
