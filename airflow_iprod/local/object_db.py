"""The object store's metadata database (``meta.sqlite``): schema, connections, transactions, row records.

One SQLite file in WAL mode holds buckets, objects (size, ETag, CRC64, type, mtime, user meta, blob name),
multipart uploads and their parts. Each thread gets its own connection; writes go through ``tx()``
(``BEGIN IMMEDIATE``), so a metadata switch is atomic across threads and processes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from airflow_iprod.local.object_names import validate_bucket_name
from airflow_iprod.local.oss_errors import no_such_bucket

_SCHEMA = """
    CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, region TEXT NOT NULL,
        created REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS objects (bucket TEXT NOT NULL, key TEXT NOT NULL,
        size INTEGER NOT NULL, etag TEXT NOT NULL, crc64 TEXT NOT NULL,
        content_type TEXT NOT NULL, mtime REAL NOT NULL, meta TEXT NOT NULL, kind TEXT NOT NULL,
        blob TEXT NOT NULL,
        PRIMARY KEY (bucket, key)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS uploads (upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL,
        key TEXT NOT NULL, created REAL NOT NULL, content_type TEXT NOT NULL, meta TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS parts (upload_id TEXT NOT NULL, number INTEGER NOT NULL,
        size INTEGER NOT NULL, etag TEXT NOT NULL, mtime REAL NOT NULL, crc64 TEXT NOT NULL,
        PRIMARY KEY (upload_id, number)) WITHOUT ROWID;
"""
# The ``objects`` columns read back into an ObjectInfo, in object_from_row's order (blob last).
OBJECT_COLUMNS = "key, size, etag, crc64, content_type, mtime, meta, kind, blob"


@dataclass
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # quoted upper-case hex, as OSS sends it
    crc64: str  # decimal string, as in x-oss-hash-crc64ecma
    content_type: str
    mtime: float
    meta: dict[str, str] = field(default_factory=dict)  # user metadata without the x-oss-meta- prefix
    kind: str = "Normal"  # Normal | Multipart | Appendable
    path: Path | None = None  # the blob on disk


@dataclass
class BucketInfo:
    name: str
    region: str
    created: float


def object_from_row(bucket: str, row: tuple) -> ObjectInfo:
    """An ObjectInfo from a row of OBJECT_COLUMNS (without its path: the caller resolves the blob)."""
    key, size, etag, crc64, ctype, mtime, meta, kind, _blob = row
    return ObjectInfo(bucket, key, size, etag, crc64, ctype, mtime, json.loads(meta), kind)


class MetaDb:
    """``meta.sqlite``: one connection per thread, ``tx()`` for writes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self.conn().executescript(_SCHEMA)  # executescript runs its own transaction

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: a lone statement is its own transaction)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        db = self.conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def require_bucket(db: sqlite3.Connection, bucket: str) -> None:
    """NoSuchBucket unless ``bucket`` (a valid name) exists, seen through ``db`` (maybe inside a tx)."""
    validate_bucket_name(bucket)
    if db.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone() is None:
        raise no_such_bucket(bucket)
