"""The mediasync ingest protocol, version 1, for the reference ingest programs.

mediasync starts the ingest program and talks to it over stdin/stdout in JSON lines:

    mediasync -> {"type":"hello","protocol":1,"capabilities":["metadata","verify"]}
    ingest    -> {"type":"ready","protocol":1,"capabilities":["metadata","verify"]}
    mediasync -> {"v":1,"seq":7,...,"type":"file_synced","id":41,"library_path":"...","size":...,"metadata":{...}}
    ingest    -> {"ack":41}                        (only after the row is committed)
    mediasync -> {"type":"verify","id":42,"library_path":"...","size":...,"sha256":"..."}
    ingest    -> {"id":42,"committed":true}

stdout carries nothing but replies; logs go to stderr. A backend (SQLite, PostgreSQL) implements
`Store`; `serve(store)` runs the conversation and returns the exit status.
"""

import base64
import json
import os
import sys
from datetime import datetime, timezone

PROTOCOL = 1
CAPABILITIES = ("metadata", "verify")

EXIT_DONE = 0            # mediasync closed stdin: a normal stop
EXIT_STORE_FAILED = 1    # the database failed; unacked events will be sent again after a restart
EXIT_PROTOCOL_ERROR = 2  # a line that is not the protocol; mediasync restarts the program


class ProtocolError(Exception):
    """A line that breaks the protocol: the program stops rather than guess."""


class Store:
    """What a database backend implements. Nothing is visible to readers before `commit()`."""

    def file_synced(self, event, library_path, path, renamed_from):
        raise NotImplementedError

    def file_purged(self, event, library_path, path):
        """Marks the row purged; returns False when no row matched."""
        raise NotImplementedError

    def verify(self, library_path, size, sha256):
        raise NotImplementedError

    def commit(self):
        raise NotImplementedError


class SQLStore(Store):
    """The `media_files` table of both reference ingests, on a DB-API connection `self.db`. A subclass opens
    the connection and sets `UPSERT` (its SQL dialect's insert-or-update of a `file_row`) and `MARKER`, its
    driver's parameter marker (`?` for sqlite3, `%s` for psycopg); the queries below are written with `?`."""

    MARKER = "?"
    UPSERT = None

    def sql(self, text):
        return text.replace("?", self.MARKER)

    def file_synced(self, event, library_path, path, renamed_from):
        self.db.execute(self.UPSERT, file_row(event, library_path, path, renamed_from))

    def file_purged(self, event, library_path, path):
        when, age = event.get("time") or now_utc(), event.get("age_s")
        if library_path is not None:
            cursor = self.db.execute(self.sql(
                "UPDATE media_files SET purged_at = COALESCE(purged_at, ?), purge_age_s = COALESCE(purge_age_s, ?)"
                " WHERE library_path = ?"), (when, age, library_path))
        else:
            cursor = self.db.execute(self.sql(
                "UPDATE media_files SET purged_at = ?, purge_age_s = ?"
                " WHERE job = ? AND path = ? AND size = ? AND purged_at IS NULL"),
                (when, age, event.get("job"), path, event.get("size")))
        return cursor.rowcount > 0

    def verify(self, library_path, size, sha256):
        row = self.db.execute(self.sql("SELECT size, sha256, purged_at FROM media_files WHERE library_path = ?"),
                              (library_path,)).fetchone()
        self.after_read()
        if row is None or row[0] != size or row[2] is not None:
            return False
        return sha256 is None or row[1] == sha256

    def after_read(self):
        """Called after a read outside a batch (PostgreSQL ends its read-only transaction here)."""

    def commit(self):
        self.db.commit()


def log(name, message):
    print(f"{name}: {message}", file=sys.stderr, flush=True)


def exact(message, key, required=True):
    """The exact bytes of a name: the `<key>_b64` twin when present (names that are not UTF-8)."""
    b64 = message.get(key + "_b64")
    if b64 is not None:
        try:
            return base64.b64decode(b64, validate=True)
        except (ValueError, TypeError):
            raise ProtocolError(f"{key}_b64 is not base64: {b64!r}")
    value = message.get(key)
    if value is None:
        if required:
            raise ProtocolError(f"{message.get('type')} without {key}")
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{key} is not a string: {value!r}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f"{key} holds a lone surrogate; names that are not UTF-8 come in {key}_b64")


def integer(message, key, required=True):
    value = message.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"{message.get('type')}: {key} must be a whole number, got {value!r}")
    return value


def now_utc():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Session:
    """One conversation: reads stdin in chunks, commits each chunk's events at once, then acks them.

    Committing per chunk (group commit) keeps a window of thousands of events fast while keeping the
    rule that an ack is only sent for a committed event.
    """

    def __init__(self, store, name, infd=0, outfd=1):
        self.store, self.name, self.infd, self.outfd = store, name, infd, outfd
        self.ready = False
        self.capabilities = ()
        self.pending = []  # ids handled but not yet committed

    def run(self):
        buffered = b""
        try:
            while True:
                chunk = os.read(self.infd, 1 << 16)
                if not chunk:
                    break
                *lines, buffered = (buffered + chunk).split(b"\n")
                for line in lines:
                    self.handle(line)
                self.flush()
            if buffered.strip():
                self.handle(buffered)
            self.flush()
            return EXIT_DONE
        except ProtocolError as error:
            # What came before the bad line is good: commit and ack it so it is not sent twice.
            self.flush()
            log(self.name, f"protocol error, stopping: {error}")
            return EXIT_PROTOCOL_ERROR

    def handle(self, line):
        if not line.strip():
            return
        try:
            message = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(f"not JSON: {line[:200]!r}")
        if not isinstance(message, dict):
            raise ProtocolError(f"not a JSON object: {line[:200]!r}")
        kind = message.get("type")
        if not self.ready:
            self.hello(message)
            return
        if kind == "verify":
            self.verify(message)
            return
        if "id" not in message:
            # A future control message we do not know; nothing to answer.
            log(self.name, f"ignoring message without id of type {kind!r}")
            return
        event_id = message["id"]
        if not isinstance(event_id, (int, str)) or isinstance(event_id, bool):
            raise ProtocolError(f"id must be a number or text, got {event_id!r}")
        if kind == "file_synced":
            self.store.file_synced(message, exact(message, "library_path"), exact(message, "path", False),
                                   exact(message, "renamed_from", False))
        elif kind == "file_purged":
            library_path, path = exact(message, "library_path", False), exact(message, "path", False)
            if library_path is None and path is None:
                raise ProtocolError("file_purged without library_path or path")
            if not self.store.file_purged(message, library_path, path):
                log(self.name, f"file_purged for a file not in the table: {message.get('library_path') or message.get('path')}")
        elif kind == "cycle_finished":
            log(self.name, f"cycle {message.get('cycle')} finished: {message.get('files')} files")
        else:
            # Acked so mediasync does not resend it forever; new event types are optional to understand.
            log(self.name, f"acking unknown event type {kind!r}")
        self.pending.append(event_id)

    def hello(self, message):
        if message.get("type") != "hello":
            raise ProtocolError(f"expected hello first, got {message.get('type')!r}")
        protocol = message.get("protocol")
        if not isinstance(protocol, int) or protocol < PROTOCOL:
            raise ProtocolError(f"mediasync speaks protocol {protocol!r}; this program speaks {PROTOCOL}")
        offered = message.get("capabilities") or []
        self.capabilities = [c for c in CAPABILITIES if c in offered]
        self.ready = True
        self.reply({"type": "ready", "protocol": PROTOCOL, "capabilities": self.capabilities})
        log(self.name, f"ready, protocol {PROTOCOL}, capabilities {self.capabilities}")

    def verify(self, message):
        # Answer from committed state only: commit (and ack) what came before first.
        self.flush()
        request_id = message.get("id")
        size = integer(message, "size")
        sha256 = message.get("sha256")
        if sha256 is not None and not isinstance(sha256, str):
            raise ProtocolError(f"verify: sha256 must be text, got {sha256!r}")
        committed = self.store.verify(exact(message, "library_path"), size, sha256.lower() if sha256 else None)
        self.reply({"id": request_id, "committed": bool(committed)})

    def flush(self):
        if not self.pending:
            return
        self.store.commit()
        acks, self.pending = self.pending, []
        self.write(b"".join(json.dumps({"ack": i}, separators=(",", ":")).encode() + b"\n" for i in acks))

    def reply(self, message):
        self.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def write(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.outfd, view):]


def serve(store, name):
    """Runs the protocol on stdin/stdout until mediasync closes stdin; returns the exit status."""
    try:
        return Session(store, name).run()
    except BrokenPipeError:
        log(name, "mediasync closed the pipe; stopping")
        return EXIT_DONE
    except Exception as error:  # the database failed: unacked events will be sent again
        log(name, f"stopping after a database error: {type(error).__name__}: {error}")
        return EXIT_STORE_FAILED


SURFACED_TEXTS = ("parameters", "prompt", "workflow")


def metadata_columns(event):
    """The metadata object of a file_synced event as column values (all None without metadata)."""
    meta = event.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ProtocolError(f"metadata is not an object: {meta!r}")
    # Every text chunk in one object: the generation settings mediasync lifts out of `texts` into fields of
    # their own (Forge's `parameters`, ComfyUI's `prompt` and `workflow`) first, then the other chunks.
    texts = {key: meta[key] for key in SURFACED_TEXTS if isinstance(meta.get(key), str)}
    others = meta.get("texts")
    if isinstance(others, dict):
        for key, value in others.items():
            texts.setdefault(key, value)
    sha256 = meta.get("sha256")
    duration = meta.get("duration")
    return {
        "kind": meta.get("kind"),
        "format": meta.get("format") if isinstance(meta.get("format"), str) else None,
        "duration": float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None,
        "sha256": sha256.lower() if isinstance(sha256, str) else None,
        "width": meta.get("width"),
        "height": meta.get("height"),
        "texts": json.dumps(texts, ensure_ascii=False) if texts else None,
        "metadata_error": meta.get("error"),
    }


def file_row(event, library_path, path, renamed_from):
    """The columns of one media_files row for a file_synced event (both reference ingests store the same)."""
    row = {
        "library_path": library_path,
        "library_path_text": event["library_path"],
        "source": event.get("source"), "folder": event.get("folder"), "job": event.get("job"),
        "path": path, "renamed_from": renamed_from,
        "size": integer(event, "size"), "mtime": integer(event, "mtime", False),
        "cycle": event.get("cycle"), "synced_at": event.get("time") or now_utc(),
    }
    row.update(metadata_columns(event))
    return row
