#!/usr/bin/env python3
"""Reference mediasync ingest: one row per library file in a PostgreSQL table (psycopg 3).

Usage: mediasync_ingest_postgres.py [CONNINFO]
CONNINFO is a libpq connection string or URI ("dbname=media", "postgresql:///media"); without it the
usual PGHOST, PGDATABASE, PGUSER... variables apply. See README.md next to this file.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mediasync_ingest as protocol  # noqa: E402

try:
    import psycopg
except ImportError:
    print("ingest-postgres: psycopg 3 is missing: `apt-get install python3-psycopg` (Debian 12, Ubuntu 23.04+)"
          " or `pip install psycopg[binary]`, and run this program with that python3", file=sys.stderr)
    sys.exit(protocol.EXIT_STORE_FAILED)

NAME = "ingest-postgres"

SCHEMA = """
CREATE TABLE IF NOT EXISTS media_files (
    library_path      bytea PRIMARY KEY,   -- exact bytes of the path in the library
    library_path_text text NOT NULL,       -- the same path for people (U+FFFD where not UTF-8)
    source            text,
    folder            text,
    job               text,
    path              bytea,               -- exact bytes, relative to the source folder
    renamed_from      bytea,               -- the library path the file would have had, when that was taken
    size              bigint NOT NULL,
    mtime             bigint,
    kind              text,                -- image, video, other (NULL without the metadata capability)
    format            text,                -- png, jpeg, webp, mp4, webm, ... (from the magic bytes)
    sha256            text,
    width             integer,
    height            integer,
    duration          double precision,    -- seconds, for video
    texts             jsonb,               -- parameters, prompt, workflow
    metadata_error    text,
    cycle             bigint,
    synced_at         timestamptz NOT NULL,
    purged_at         timestamptz,         -- set when mediasync deleted the file from its source
    purge_age_s       bigint
);
CREATE INDEX IF NOT EXISTS media_files_job_path ON media_files (job, path);
-- Tables made before format and duration were stored get them.
ALTER TABLE media_files ADD COLUMN IF NOT EXISTS format text;
ALTER TABLE media_files ADD COLUMN IF NOT EXISTS duration double precision;
"""

UPSERT = """
INSERT INTO media_files AS m (library_path, library_path_text, source, folder, job, path, renamed_from, size,
                              mtime, kind, format, sha256, width, height, duration, texts, metadata_error, cycle,
                              synced_at)
VALUES (%(library_path)s, %(library_path_text)s, %(source)s, %(folder)s, %(job)s, %(path)s, %(renamed_from)s,
        %(size)s, %(mtime)s, %(kind)s, %(format)s, %(sha256)s, %(width)s, %(height)s, %(duration)s, %(texts)s::jsonb,
        %(metadata_error)s,
        %(cycle)s, %(synced_at)s)
ON CONFLICT (library_path) DO UPDATE SET
    library_path_text = excluded.library_path_text, source = excluded.source, folder = excluded.folder,
    job = excluded.job, path = excluded.path, renamed_from = excluded.renamed_from,
    mtime = excluded.mtime, kind = excluded.kind, format = excluded.format, width = excluded.width,
    height = excluded.height, duration = excluded.duration,
    texts = excluded.texts, metadata_error = excluded.metadata_error, cycle = excluded.cycle,
    synced_at = excluded.synced_at,
    -- A redelivered event (same content) keeps its purge mark; other content at the path is a new file.
    purged_at = CASE WHEN m.size = excluded.size AND m.sha256 IS NOT DISTINCT FROM excluded.sha256
                     THEN m.purged_at END,
    purge_age_s = CASE WHEN m.size = excluded.size AND m.sha256 IS NOT DISTINCT FROM excluded.sha256
                       THEN m.purge_age_s END,
    size = excluded.size, sha256 = excluded.sha256
"""


class PostgresStore(protocol.SQLStore):
    UPSERT = UPSERT
    MARKER = "%s"

    def __init__(self, conninfo):
        self.db = psycopg.connect(conninfo)  # not autocommit: commit() ends each batch
        with self.db.cursor() as cursor:
            cursor.execute(SCHEMA)
        self.db.commit()

    def after_read(self):
        # End the read-only transaction so the next batch starts fresh.
        self.db.commit()


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(f"usage: {os.path.basename(argv[0])} [CONNINFO]", file=sys.stderr)
        return 64
    conninfo = argv[1] if len(argv) == 2 else ""
    try:
        store = PostgresStore(conninfo)
    except psycopg.Error as error:
        protocol.log(NAME, f"cannot connect to PostgreSQL ({conninfo or 'PG* environment'}): {error}".strip())
        return protocol.EXIT_STORE_FAILED
    info = store.db.info
    protocol.log(NAME, f"writing to database {info.dbname} on {info.host}:{info.port}")
    return protocol.serve(store, NAME)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
