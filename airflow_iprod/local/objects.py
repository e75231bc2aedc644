"""The local engine's on-disk object store behind the OSS-compatible API: buckets and objects.

Under ``<data_dir>/objects/``: ``meta.sqlite`` (see ``object_db``) and the object bodies (see
``object_files``). Multipart uploads live in ``multipart_uploads`` and listing in ``object_listing``;
this module is the facade the engine and the object API use.

Each write lands in a fresh blob and the metadata row is switched in one SQLite transaction, so readers see
either the old or the new object, never a mix, and concurrent writers of one key cannot pair one writer's
ETag with another's bytes.
"""

from __future__ import annotations

import json
import mimetypes
import shutil
import time
from pathlib import Path
from typing import BinaryIO

from airflow_iprod.local.object_db import (
    OBJECT_COLUMNS,
    BucketInfo,
    MetaDb,
    ObjectInfo,
    object_from_row,
    require_bucket,
)
from airflow_iprod.local.object_files import BlobFiles, Incoming, Received
from airflow_iprod.local.object_listing import ListPage, list_objects
from airflow_iprod.local.object_names import validate_bucket_name, validate_key
from airflow_iprod.local.oss_errors import OssError, no_such_bucket, no_such_key

# Names other modules have always imported from here.
__all__ = [
    "BucketInfo",
    "ListPage",
    "ObjectInfo",
    "ObjectStore",
    "resolve_url",
    "validate_bucket_name",
    "validate_key",
]


class ObjectStore:
    """Buckets and objects on disk; every method is safe to call from several threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.files = BlobFiles(self.root)
        self.db = MetaDb(self.root / "meta.sqlite")

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> ObjectStore:
        return cls(Path(data_dir) / "objects")

    # -- buckets ------------------------------------------------------------------------------------

    def create_bucket(self, bucket: str, region: str) -> bool:
        """Create ``bucket``; False when it already exists (OSS answers 200 to the owner re-creating it)."""
        validate_bucket_name(bucket)
        with self.db.tx() as db:
            if db.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone():
                return False
            db.execute("INSERT INTO buckets VALUES (?,?,?)", (bucket, region, time.time()))
        (self.root / bucket).mkdir(exist_ok=True)
        return True

    def bucket(self, bucket: str) -> BucketInfo:
        validate_bucket_name(bucket)
        row = (
            self.db.conn()
            .execute("SELECT name, region, created FROM buckets WHERE name=?", (bucket,))
            .fetchone()
        )
        if row is None:
            raise no_such_bucket(bucket)
        return BucketInfo(*row)

    def list_buckets(
        self, prefix: str = "", marker: str = "", max_keys: int = 1000
    ) -> tuple[list[BucketInfo], bool]:
        rows = (
            self.db.conn()
            .execute(
                "SELECT name, region, created FROM buckets WHERE name > ? AND substr(name, 1, ?) = ? "
                "ORDER BY name LIMIT ?",
                (marker, len(prefix), prefix, max_keys + 1),
            )
            .fetchall()
        )
        return [BucketInfo(*r) for r in rows[:max_keys]], len(rows) > max_keys

    def delete_bucket(self, bucket: str) -> None:
        with self.db.tx() as db:
            require_bucket(db, bucket)
            busy = (
                db.execute("SELECT 1 FROM objects WHERE bucket=? LIMIT 1", (bucket,)).fetchone()
                or db.execute("SELECT 1 FROM uploads WHERE bucket=? LIMIT 1", (bucket,)).fetchone()
            )
            if busy:
                raise OssError(
                    409, "BucketNotEmpty", "The bucket you tried to delete is not empty.", BucketName=bucket
                )
            db.execute("DELETE FROM buckets WHERE name=?", (bucket,))
        shutil.rmtree(self.files.inside(self.root / bucket), ignore_errors=True)

    # -- objects ------------------------------------------------------------------------------------

    def publish(
        self,
        bucket: str,
        key: str,
        body: Received,
        *,
        etag: str,
        content_type: str,
        meta: dict[str, str],
        kind: str,
    ) -> ObjectInfo:
        """Move a received temp file into a fresh blob and switch ``bucket/key``'s row to it atomically."""
        final: Path | None = None
        mtime = time.time()
        old = None
        crc = str(body.crc)
        try:
            blob, final = self.files.new_blob(bucket, key)
            body.tmp.replace(final)
            with self.db.tx() as db:
                require_bucket(db, bucket)
                row = db.execute(
                    "SELECT blob FROM objects WHERE bucket=? AND key=?", (bucket, key)
                ).fetchone()
                old = row[0] if row else None
                db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (bucket, key, body.size, etag, crc, content_type, mtime, json.dumps(meta), kind, blob),
                )
        except BaseException:
            body.tmp.unlink(missing_ok=True)
            if final is not None:
                final.unlink(missing_ok=True)
            raise
        if old:
            self.files.blob_path(bucket, old).unlink(missing_ok=True)
        return ObjectInfo(bucket, key, body.size, etag, crc, content_type, mtime, meta, kind, final)

    def put_object(
        self,
        bucket: str,
        key: str,
        stream: BinaryIO,
        *,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        meta: dict[str, str] | None = None,
        content_md5: str | None = None,
    ) -> ObjectInfo:
        """Stream ``stream`` into ``bucket/key`` (replacing it atomically) and return its new metadata."""
        validate_key(key)
        self.bucket(bucket)  # fail before reading a large body into a bucket that is not there
        body = self.files.receive(Incoming(stream, length, content_md5))
        return self.publish(
            bucket, key, body, etag=body.etag, content_type=content_type, meta=meta or {}, kind="Normal"
        )

    def put_file(self, bucket: str, key: str, src: Path, *, content_type: str | None = None) -> ObjectInfo:
        """Store a local file as ``bucket/key`` (the engine's way to write job outputs)."""
        ctype = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
        with open(src, "rb") as fh:
            return self.put_object(bucket, key, fh, content_type=ctype)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        validate_key(key)
        db = self.db.conn()
        require_bucket(db, bucket)
        row = db.execute(
            f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=? AND key=?", (bucket, key)
        ).fetchone()
        if row is None:
            raise no_such_key(key)
        info = object_from_row(bucket, row)
        info.path = self.files.blob_path(bucket, row[8])
        return info

    def path_for(self, bucket: str, key: str) -> Path:
        """The file holding ``bucket/key`` now; OssError (NoSuchBucket/NoSuchKey/InvalidObjectName) otherwise.

        The path is always inside the store: it is built from a hash, never from the key's text.
        Treat it as read-only: a later PutObject writes a new file and removes this one.
        """
        path = self.head(bucket, key).path
        assert path is not None
        return path

    def open(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """Metadata and an open reader that stays valid even if the object is replaced meanwhile."""
        for _ in range(5):
            info = self.head(bucket, key)
            try:
                return info, open(info.path, "rb")  # type: ignore[arg-type]
            except FileNotFoundError:  # replaced between lookup and open: look again
                continue
        raise OssError(503, "ServiceUnavailable", "The object is being rewritten too often to read it.")

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete ``bucket/key``; deleting a missing key succeeds, as in OSS."""
        validate_key(key)
        with self.db.tx() as db:
            require_bucket(db, bucket)
            row = db.execute("SELECT blob FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
            db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))
        if row:
            self.files.blob_path(bucket, row[0]).unlink(missing_ok=True)

    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        meta: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Copy an object; ``meta``/``content_type`` None keep the source's (metadata directive COPY)."""
        validate_key(key)
        self.bucket(bucket)
        info, reader = self.open(src_bucket, src_key)
        with reader:
            body = self.files.receive(Incoming(reader, info.size))
        return self.publish(
            bucket,
            key,
            body,
            etag=info.etag if info.kind == "Normal" else body.etag,
            content_type=content_type or info.content_type,
            meta=info.meta if meta is None else meta,
            kind="Normal",
        )

    def append_object(
        self, bucket: str, key: str, position: int, body: Incoming, *, content_type: str, meta: dict[str, str]
    ) -> ObjectInfo:
        """AppendObject: ``position`` must equal the current size (0 creates an Appendable object).

        ``content_type`` and ``meta`` apply when the append creates the object; later appends keep them.
        """
        validate_key(key)
        self.bucket(bucket)
        try:
            current: ObjectInfo | None = self.head(bucket, key)
        except OssError as err:
            if err.code != "NoSuchKey":
                raise
            current = None
        if current is not None and current.kind != "Appendable":
            raise OssError(409, "ObjectNotAppendable", "The object is not appendable.", Key=key)
        size_now = current.size if current else 0
        if position != size_now:
            err = OssError(409, "PositionNotEqualToLength", "Position is not equal to file length.", Key=key)
            err.extra["NextAppendPosition"] = str(size_now)
            raise err
        # Copy-on-append keeps the single-writer/atomic-switch rule of every other write.
        if current is None:
            received = self.files.receive(body)
        else:
            received = self.files.receive(body, base=current.path, crc_init=int(current.crc64))
            content_type, meta = current.content_type, current.meta
        return self.publish(
            bucket, key, received, etag=received.etag, content_type=content_type, meta=meta, kind="Appendable"
        )

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 100,
    ) -> ListPage:
        """Keys after ``start_after`` under ``prefix`` in byte order, rolling up at ``delimiter``."""
        return list_objects(self.db.conn(), bucket, prefix, delimiter, start_after, max_keys)


def resolve_url(url: str, store: ObjectStore) -> Path:
    """The store file behind ``oss://bucket/key``, ``oss://bucket.oss-REGION.aliyuncs.com/key`` or
    ``http(s)://bucket.oss-REGION.aliyuncs.com/key`` (how the engine reads job inputs).

    Raises ``catalog.ValidationError`` for a URL of another shape and OssError (NoSuchBucket, NoSuchKey,
    InvalidObjectName) when the object is not there or its key is refused.
    """
    from airflow_iprod.catalog import split_oss_url

    bucket, key = split_oss_url(url)
    return store.path_for(bucket, key)
