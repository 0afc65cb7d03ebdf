#!/usr/bin/env python3
"""Reference mediasync ingest: one row per library file in an SQLite database (Python stdlib only).

Usage: mediasync_ingest_sqlite.py DATABASE
mediasync starts this program from `ingest.command`; see README.md next to it.
"""

import os
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mediasync_ingest as protocol  # noqa: E402

NAME = "ingest-sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS media_files (
    library_path      BLOB PRIMARY KEY,  -- exact bytes of the path in the library
    library_path_text TEXT NOT NULL,     -- the same path for people (U+FFFD where not UTF-8)
    source            TEXT,
    folder            TEXT,
    job               TEXT,
    path              BLOB,              -- exact bytes, relative to the source folder
    renamed_from      BLOB,              -- the library path the file would have had, when that was taken
    size              INTEGER NOT NULL,
    mtime             INTEGER,
    kind              TEXT,              -- image, video, other (NULL without the metadata capability)
    format            TEXT,              -- png, jpeg, webp, mp4, webm, ... (from the magic bytes)
    sha256            TEXT,
    width             INTEGER,
    height            INTEGER,
    duration          REAL,              -- seconds, for video
    texts             TEXT,              -- JSON object: parameters, prompt, workflow
    metadata_error    TEXT,
    cycle             INTEGER,
    synced_at         TEXT NOT NULL,     -- RFC 3339, UTC
    purged_at         TEXT,              -- set when mediasync deleted the file from its source
    purge_age_s       INTEGER
);
CREATE INDEX IF NOT EXISTS media_files_job_path ON media_files (job, path);
"""

UPSERT = """
INSERT INTO media_files (library_path, library_path_text, source, folder, job, path, renamed_from, size,
                         mtime, kind, format, sha256, width, height, duration, texts, metadata_error, cycle,
                         synced_at)
VALUES (:library_path, :library_path_text, :source, :folder, :job, :path, :renamed_from, :size,
        :mtime, :kind, :format, :sha256, :width, :height, :duration, :texts, :metadata_error, :cycle, :synced_at)
ON CONFLICT (library_path) DO UPDATE SET
    library_path_text = excluded.library_path_text, source = excluded.source, folder = excluded.folder,
    job = excluded.job, path = excluded.path, renamed_from = excluded.renamed_from,
    mtime = excluded.mtime, kind = excluded.kind, format = excluded.format, width = excluded.width,
    height = excluded.height, duration = excluded.duration,
    texts = excluded.texts, metadata_error = excluded.metadata_error, cycle = excluded.cycle,
    synced_at = excluded.synced_at,
    -- A redelivered event (same content) keeps its purge mark; other content at the path is a new file.
    purged_at = CASE WHEN media_files.size = excluded.size AND media_files.sha256 IS excluded.sha256
                     THEN media_files.purged_at END,
    purge_age_s = CASE WHEN media_files.size = excluded.size AND media_files.sha256 IS excluded.sha256
                       THEN media_files.purge_age_s END,
    size = excluded.size, sha256 = excluded.sha256
"""


class SQLiteStore(protocol.SQLStore):
    UPSERT = UPSERT

    def __init__(self, database):
        self.db = sqlite3.connect(database)
        self.db.execute("PRAGMA journal_mode = WAL")  # readers (your media app) do not block the ingest
        self.db.execute("PRAGMA synchronous = FULL")  # an acked event must survive a power cut
        self.db.execute("PRAGMA busy_timeout = 10000")
        self.db.executescript(SCHEMA)
        # Tables made before format and duration were stored get them.
        have = {row[1] for row in self.db.execute("PRAGMA table_info(media_files)")}
        for column, kind in (("format", "TEXT"), ("duration", "REAL")):
            if column not in have:
                self.db.execute(f"ALTER TABLE media_files ADD COLUMN {column} {kind}")
        self.db.commit()


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print(f"usage: {os.path.basename(argv[0])} DATABASE", file=sys.stderr)
        return 64
    try:
        store = SQLiteStore(argv[1])
    except sqlite3.Error as error:
        protocol.log(NAME, f"cannot open {argv[1]}: {error} (check the path and that its folder is writable)")
        return protocol.EXIT_STORE_FAILED
    protocol.log(NAME, f"writing to {os.path.abspath(argv[1])}")
    return protocol.serve(store, NAME)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
