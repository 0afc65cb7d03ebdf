import Foundation
import MediaSyncCore

/// Events, ingest lines and control replies built from random fields through the hand-written JSON writer.
/// Every line must parse with `StrictJSON`, and what docs/events.md promises must hold on the parsed value:
/// strings come back exactly; a path comes back byte for byte (`<name>_b64` when it is not UTF-8, and only
/// then); integers are written exactly; a Double is null when not finite, else a plain number near it.
enum EventJSONFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        var rounds = 0
        repeat {
            oneEvent(&input)
            rounds += 1
        } while !input.isAtEnd && rounds < 16
    }

    /// What a field must read back as.
    enum Expect {
        case string(String)
        case path([UInt8])
        case int(Int64)
        case double(Double, decimals: Int)
        case bool(Bool)
    }

    static func job(_ input: inout FuzzInput) -> EventJob {
        EventJob(source: input.string(), folder: input.string())
    }

    static func oneEvent(_ input: inout FuzzInput) {
        let seq = input.int64()
        let timeMs = input.int64()
        let cycle = input.int64()
        var expect: [(String, Expect)] = [("seq", .int(seq)), ("cycle", .int(cycle))]
        let body: EventBody
        var purgedLibraryPath: [UInt8]? = nil
        switch input.byte() % 12 {
        case 0:
            let jobs = (0..<Int(input.byte() % 4)).map { _ in job(&input) }
            body = .cycleStarted(cycle: cycle, jobs: jobs)
        case 1:
            let j = job(&input)
            expect += [("job", .string(j.job)), ("source", .string(j.source)), ("folder", .string(j.folder))]
            body = .jobStarted(cycle: cycle, job: j)
        case 2:
            let overall = ProgressSnapshot.Overall(
                percent: input.double(), filesDone: input.int(), filesTotal: input.int(), bytesDone: input.int64(),
                bytesTotal: input.int64(), rateBps: input.int64(), etaS: input.bool() ? input.int() : nil)
            let states: [JobState] = [.queued, .listing, .transferring, .purging, .done, .failed, .waitingToRetry]
            let jobs = (0..<Int(input.byte() % 3)).map { _ in
                ProgressSnapshot.Job(job: input.string(), state: states[Int(input.byte()) % states.count],
                                     attempt: input.int(), percent: input.double(), filesDone: input.int(),
                                     filesTotal: input.int(), bytesDone: input.int64(), bytesTotal: input.int64(),
                                     rateBps: input.int64(), etaS: input.bool() ? input.int() : nil,
                                     current: input.bool() ? input.string() : nil)
            }
            body = .progress(cycle: cycle, ProgressSnapshot(overall: overall, jobs: jobs))
        case 3:
            let f = FileSynced(job: job(&input), path: input.pathBytes(), libraryPath: input.pathBytes(),
                               size: input.int64(), mtime: input.int64(),
                               renamedFrom: input.bool() ? input.pathBytes() : nil)
            expect += [("job", .string(f.job.job)), ("path", .path(f.path)), ("library_path", .path(f.libraryPath)),
                       ("size", .int(f.size)), ("mtime", .int(f.mtime))]
            if let r = f.renamedFrom { expect.append(("renamed_from", .path(r))) }
            body = .fileSynced(cycle: cycle, f)
        case 4:
            let j = job(&input), path = input.pathBytes(), reason = input.string()
            expect += [("job", .string(j.job)), ("path", .path(path)), ("reason", .string(reason))]
            body = .fileDeferred(cycle: cycle, job: j, path: path, reason: reason)
        case 5:
            let f = JobFinished(job: job(&input), state: input.bool() ? .done : .failed, files: input.int(),
                                bytes: input.int64(), seconds: input.double(),
                                exitCode: input.bool() ? Int32(truncatingIfNeeded: input.int64()) : nil,
                                attempts: input.int(), error: input.bool() ? input.string() : nil)
            expect += [("job", .string(f.job.job)), ("files", .int(Int64(f.files))), ("bytes", .int(f.bytes)),
                       ("seconds", .double(f.seconds, decimals: 3)), ("attempts", .int(Int64(f.attempts)))]
            if let e = f.error { expect.append(("error", .string(e))) }
            body = .jobFinished(cycle: cycle, f)
        case 6:
            let f = CycleFinished(jobsDone: input.int(), jobsFailed: input.int(), files: input.int(),
                                  bytes: input.int64(), seconds: input.double())
            expect += [("seconds", .double(f.seconds, decimals: 3)), ("bytes", .int(f.bytes))]
            body = .cycleFinished(cycle: cycle, f)
        case 7:
            let level = input.string(), message = input.string()
            let logCycle: Int64? = input.bool() ? cycle : nil
            let logJob: String? = input.bool() ? input.string() : nil
            expect = [("seq", .int(seq)), ("level", .string(level)), ("message", .string(message))]
            if let logCycle { expect.append(("cycle", .int(logCycle))) }
            if let logJob { expect.append(("job", .string(logJob))) }
            body = .log(level: level, message: message, cycle: logCycle, job: logJob)
        case 8:
            let dryRun = input.bool()
            expect.append(("dry_run", .bool(dryRun)))
            body = .purgeStarted(cycle: cycle, job: job(&input), dryRun: dryRun)
        case 9:
            let j = job(&input), path = input.pathBytes(), size = input.int64(), age = input.int64()
            let dryRun = input.bool()
            purgedLibraryPath = input.pathBytes()
            expect += [("path", .path(path)), ("size", .int(size)), ("age_s", .int(age))]
            body = .filePurged(cycle: cycle, job: j, path: path, size: size, ageS: age, dryRun: dryRun)
        case 10:
            let j = job(&input), path = input.pathBytes(), reason = input.string()
            expect += [("path", .path(path)), ("reason", .string(reason))]
            body = .fileKept(cycle: cycle, job: j, path: path, reason: reason)
        default:
            let j = job(&input)
            let deleted = input.int(), kept = input.int(), freed = input.int64(), dryRun = input.bool()
            expect += [("deleted", .int(Int64(deleted))), ("kept", .int(Int64(kept))), ("bytes_freed", .int(freed))]
            body = .purgeFinished(cycle: cycle, job: j, deleted: deleted, kept: kept, bytesFreed: freed, dryRun: dryRun)
        }

        // The event line, as `sync --json` and `attach` write it.
        let event = Event(seq: seq, timeMs: timeMs, body: body)
        let value = checkLine(event.jsonLine(), what: body.type)
        check(value, expect + [("type", .string(body.type))], what: body.type)
        fuzzCheck(value["v"]?.numberText == "\(Event.schemaVersion)", "\(body.type): v is not \(Event.schemaVersion)")
        fuzzCheck(value["time"]?.stringBytes == Array(Timestamp.rfc3339(milliseconds: timeMs).utf8), "time differs")

        // The same event as the ingest gets it, with metadata.
        let metadata = input.bool() ? self.metadata(&input) : nil
        let id = input.int64()
        let ingest = checkLine(IngestLine.event(event, id: id, libraryPath: purgedLibraryPath, metadata: metadata),
                               what: "ingest \(body.type)")
        check(ingest, expect.filter { $0.0 != "seq" } + [("id", .int(id))], what: "ingest \(body.type)")
        if let purgedLibraryPath { check(ingest, [("library_path", .path(purgedLibraryPath))], what: "ingest file_purged") }
        if let metadata { checkMetadata(ingest["metadata"], metadata) }

        let verifyPath = input.pathBytes(), size = input.int64()
        let sha = input.bool() ? input.string() : nil
        var verifyExpect: [(String, Expect)] = [("library_path", .path(verifyPath)), ("size", .int(size))]
        if let sha { verifyExpect.append(("sha256", .string(sha))) }
        check(checkLine(IngestLine.verify(id: id, libraryPath: verifyPath, size: size, sha256: sha), what: "verify"),
              verifyExpect, what: "verify")

        // A control reply carrying any message.
        let message = input.string()
        check(checkLine(ControlProtocol.errorLine(message), what: "control error"), [("error", .string(message))],
              what: "control error")

        // The Double writer on its own, with any decimals the callers use.
        let d = input.double(), decimals = Int(input.byte() % 4)
        var w = JSONWriter()
        w.object { $0.field("x", d, decimals: decimals) }
        check(checkLine(w.bytes + [0x0A], what: "double"), [("x", .double(d, decimals: decimals))], what: "double")
    }

    static func metadata(_ input: inout FuzzInput) -> MediaMetadata {
        let kinds: [MediaKind] = [.image, .video, .other]
        var png: PNGMetadata? = nil
        if input.bool() {
            let keywords = ["parameters", "prompt", "workflow", "Software", "Comment"]
            let texts = (0..<Int(input.byte() % 6)).map { _ in
                PNGTextEntry(keyword: input.bool() ? keywords[Int(input.byte()) % keywords.count] : input.string(),
                             value: input.string(), chunk: [.tEXt, .zTXt, .iTXt][Int(input.byte()) % 3])
            }
            png = PNGMetadata(width: input.bool() ? input.int() : nil, height: input.bool() ? input.int() : nil,
                              texts: texts, error: input.bool() ? input.string() : nil)
        }
        var details: MediaDetails? = nil
        if png == nil, input.bool() {
            let keywords = ["parameters", "prompt", "workflow", "comment", "Software"]
            let texts = (0..<Int(input.byte() % 6)).map { _ in
                MediaText(keyword: input.bool() ? keywords[Int(input.byte()) % keywords.count] : input.string(),
                          value: input.string())
            }
            details = MediaDetails(width: input.bool() ? input.int() : nil, height: input.bool() ? input.int() : nil,
                                   duration: input.bool() ? input.double() : nil, texts: texts)
        }
        return MediaMetadata(kind: kinds[Int(input.byte()) % 3], format: input.bool() ? input.string() : nil,
                             size: input.int64(), sha256: input.bool() ? input.string() : nil, png: png,
                             details: details, error: input.bool() ? input.string() : nil)
    }

    static func checkMetadata(_ value: JSONValue?, _ m: MediaMetadata) {
        guard let value else { fuzzCheck(false, "ingest line without its metadata"); return }
        var expect: [(String, Expect)] = [("kind", .string(m.kind.rawValue)), ("size", .int(m.size))]
        if let f = m.format { expect.append(("format", .string(f))) }
        if let s = m.sha256 { expect.append(("sha256", .string(s))) }
        if let e = m.error { expect.append(("error", .string(e))) }
        if let png = m.found {
            if let w = png.width { expect.append(("width", .int(Int64(w)))) }
            if let h = png.height { expect.append(("height", .int(Int64(h)))) }
            if let d = png.duration { expect.append(("duration", .double(d, decimals: 3))) }
            for k in MediaMetadata.surfacedKeywords { if let t = png.text(k) { expect.append((k, .string(t))) } }
            // Every other keyword is under `texts`, with its first chunk's value.
            if let texts = value["texts"] {
                for key in texts.keys {
                    let first = png.texts.first { Array($0.keyword.utf8) == Array(key.utf8) }
                    fuzzCheck(first != nil, "texts has a keyword no chunk has: \(key)")
                    if let first { check(texts, [(key, .string(first.value))], what: "metadata texts") }
                }
            }
        }
        check(value, expect, what: "metadata")
    }

    /// Parses a line strictly, failing the run when it does not parse.
    static func checkLine(_ line: [UInt8], what: String) -> JSONValue {
        do {
            return try StrictJSON.parseLine(line)
        } catch {
            fuzzCheck(false, "\(what): not a strict JSON line (\(error)): \(Array(line))")
            return .null
        }
    }

    static func check(_ object: JSONValue, _ expect: [(String, Expect)], what: String) {
        for (key, expected) in expect {
            let got = object[key]
            switch expected {
            case .string(let s):
                fuzzCheck(got?.stringBytes == Array(s.utf8), "\(what).\(key): \(String(describing: got)) is not \(Array(s.utf8))")
            case .path(let bytes):
                // docs/events.md: exact bytes = base64decode(<name>_b64) if present, else the UTF-8 of <name>.
                let b64 = object[key + "_b64"]
                let valid = String(validating: bytes, as: UTF8.self) != nil
                fuzzCheck((b64 == nil) == valid, "\(what).\(key)_b64 present: \(b64 != nil), bytes valid UTF-8: \(valid)")
                let exact: [UInt8]?
                if let b64 {
                    exact = b64.stringBytes.flatMap { Data(base64Encoded: Data($0)) }.map { Array($0) }
                    fuzzCheck(got?.stringBytes == Array(String(decoding: bytes, as: UTF8.self).utf8),
                              "\(what).\(key): the readable form is not the bytes with U+FFFD")
                } else {
                    exact = got?.stringBytes
                }
                fuzzCheck(exact == bytes, "\(what).\(key): bytes \(bytes) came back as \(String(describing: exact))")
            case .int(let n):
                fuzzCheck(got?.numberText == String(n), "\(what).\(key): \(String(describing: got)) is not \(n)")
            case .bool(let b):
                fuzzCheck(got == .bool(b), "\(what).\(key): \(String(describing: got)) is not \(b)")
            case .double(let d, let decimals):
                guard d.isFinite else {
                    fuzzCheck(got == .null, "\(what).\(key): \(d) is not written as null")
                    continue
                }
                guard let text = got?.numberText, let back = Double(text) else {
                    fuzzCheck(false, "\(what).\(key): \(d) written as \(String(describing: got))")
                    continue
                }
                var scale = 1.0
                for _ in 0..<decimals { scale *= 10 }
                // Off by at most half the last written digit (past 9e15 the writer keeps whole numbers:
                // "at most `decimals` digits"), plus the rounding of a Double this large.
                let tolerance = 0.5 / scale + (abs(d) * scale >= 9e15 ? 0.5 : 0) + abs(d).ulp * 4 + 1e-9
                fuzzCheck(abs(back - d) <= tolerance, "\(what).\(key): \(d) written as \(text)")
            }
        }
    }
}
