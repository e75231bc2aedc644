"""The local engine's on-disk object store behind the OSS-compatible API.

Layout under ``<data_dir>/objects/``::

    meta.sqlite                      buckets, objects (size, ETag, CRC64, type, mtime, user meta, blob),
                                     multipart uploads and parts; WAL mode, one connection per thread
    <bucket>/<hh>/<sha256(key)>.<id> object bodies ("blobs"); the name never derives from the key's text
    .tmp/                            bodies being written (renamed into place when complete)
    .uploads/<upload_id>/<part>      multipart parts until Complete/Abort

Why hashed blob names: an OSS key is an arbitrary string (``a`` and ``a/b`` may both exist, keys may hold
``..`` or ``%2e``), so a key is never used as a file path. Each write gets a fresh blob name and the metadata
row is switched in one SQLite transaction, so readers see either the old or the new object, never a mix,
and concurrent writers of one key cannot pair one writer's ETag with another's bytes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from airflow_iprod.local.oss_errors import (
    OssError,
    invalid_bucket_name,
    invalid_object_name,
    no_such_bucket,
    no_such_key,
)

CHUNK = 1 << 20  # streaming copy size: bounded memory whatever the object size
MAX_KEY_BYTES = 1023
MAX_OBJECT_SIZE = 5 << 30  # OSS's PutObject limit
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BLOB_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[0-9a-f]{16}$")
_UPLOAD_ID_RE = re.compile(r"^[0-9A-F]{32}$")
_CRC64_POLY = 0x142F0E1EBA9EA3693
_CRC64_XOROUT = 0xFFFFFFFFFFFFFFFF


def validate_bucket_name(bucket: str) -> str:
    """OSS bucket naming rule; the name is also safe as a single directory name."""
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket):
        raise invalid_bucket_name(str(bucket))
    return bucket


def validate_key(key: str) -> str:
    """OSS object-name rules plus the engine's refusal of anything that looks like path traversal.

    OSS: 1..1023 UTF-8 bytes, not starting with ``/`` or ``\\``. The engine also refuses NUL and control
    characters and ``.``/``..`` segments (split on ``/`` and ``\\``), so a key copied to a file system
    elsewhere cannot climb out either.
    """
    if not isinstance(key, str) or key == "":
        raise invalid_object_name(str(key), "an object name must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise invalid_object_name(key, "an object name must be valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise invalid_object_name(key, f"an object name has at most {MAX_KEY_BYTES} bytes, this has {size}")
    if key[0] in "/\\":
        raise invalid_object_name(key, "an object name must not start with '/' or '\\'")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise invalid_object_name(key, "an object name must not contain NUL or control characters")
    if any(part in (".", "..") for part in re.split(r"[/\\]", key)):
        raise invalid_object_name(key, "an object name must not contain '.' or '..' path segments")
    return key


def _new_crc64(init: int = 0):  # -> crcmod.Crc
    import crcmod  # lazy: crcmod-plus (a dependency of alibabacloud-oss-v2) has a C extension

    return crcmod.Crc(_CRC64_POLY, initCrc=init, rev=True, xorOut=_CRC64_XOROUT)


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


@dataclass
class ListPage:
    contents: list[ObjectInfo]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str  # the last key or common prefix returned, when truncated


@dataclass
class PartInfo:
    number: int
    size: int
    etag: str
    mtime: float
    crc64: str


def _key_successor(prefix: str) -> str | None:
    """Smallest string greater than every string starting with ``prefix`` (None when there is none)."""
    while prefix:
        last = ord(prefix[-1])
        nxt = last + 1
        if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot be stored in UTF-8
            nxt = 0xE000
        if nxt <= 0x10FFFF:
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None


class ObjectStore:
    """Buckets and objects on disk; every method is safe to call from several threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._uploads = self.root / ".uploads"
        self._tmp.mkdir(exist_ok=True)
        self._uploads.mkdir(exist_ok=True)
        self._db_path = self.root / "meta.sqlite"
        self._local = threading.local()
        self._db().executescript(  # executescript runs its own transaction
            """
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
        )

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> ObjectStore:
        return cls(Path(data_dir) / "objects")

    # -- plumbing ---------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._db_path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _inside(self, path: Path) -> Path:
        """Defence in depth: refuse any path (after resolving symlinks) that is not under the store root."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise OssError(403, "AccessDenied", "The resolved object path is outside the object store.")
        return resolved

    def _blob_path(self, bucket: str, blob: str) -> Path:
        if not _BLOB_RE.match(blob):  # rows are written only by this class; a foreign row is refused
            raise OssError(500, "InternalError", f"Corrupt blob reference {blob!r} in the object store.")
        return self._inside(self.root / validate_bucket_name(bucket) / blob)

    def _new_blob(self, bucket: str, key: str) -> tuple[str, Path]:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        blob = f"{digest[:2]}/{digest}.{secrets.token_hex(8)}"
        path = self._blob_path(bucket, blob)
        path.parent.mkdir(parents=True, exist_ok=True)
        return blob, path

    def _tmp_file(self) -> Path:
        return self._tmp / f"{secrets.token_hex(12)}.part"

    def _require_bucket(self, db: sqlite3.Connection, bucket: str) -> None:
        validate_bucket_name(bucket)
        if db.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone() is None:
            raise no_such_bucket(bucket)

    @staticmethod
    def _row_to_info(bucket: str, row: tuple) -> ObjectInfo:
        key, size, etag, crc64, ctype, mtime, meta, kind, _blob = row
        return ObjectInfo(bucket, key, size, etag, crc64, ctype, mtime, json.loads(meta), kind)

    # -- buckets ------------------------------------------------------------------------------------

    def create_bucket(self, bucket: str, region: str) -> bool:
        """Create ``bucket``; False when it already exists (OSS answers 200 to the owner re-creating it)."""
        validate_bucket_name(bucket)
        with self._tx() as db:
            if db.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone():
                return False
            db.execute("INSERT INTO buckets VALUES (?,?,?)", (bucket, region, time.time()))
        (self.root / bucket).mkdir(exist_ok=True)
        return True

    def bucket(self, bucket: str) -> BucketInfo:
        validate_bucket_name(bucket)
        row = (
            self._db().execute("SELECT name, region, created FROM buckets WHERE name=?", (bucket,)).fetchone()
        )
        if row is None:
            raise no_such_bucket(bucket)
        return BucketInfo(*row)

    def list_buckets(
        self, prefix: str = "", marker: str = "", max_keys: int = 1000
    ) -> tuple[list[BucketInfo], bool]:
        rows = (
            self._db()
            .execute(
                "SELECT name, region, created FROM buckets WHERE name > ? AND substr(name, 1, ?) = ? "
                "ORDER BY name LIMIT ?",
                (marker, len(prefix), prefix, max_keys + 1),
            )
            .fetchall()
        )
        return [BucketInfo(*r) for r in rows[:max_keys]], len(rows) > max_keys

    def delete_bucket(self, bucket: str) -> None:
        with self._tx() as db:
            self._require_bucket(db, bucket)
            busy = (
                db.execute("SELECT 1 FROM objects WHERE bucket=? LIMIT 1", (bucket,)).fetchone()
                or db.execute("SELECT 1 FROM uploads WHERE bucket=? LIMIT 1", (bucket,)).fetchone()
            )
            if busy:
                raise OssError(
                    409, "BucketNotEmpty", "The bucket you tried to delete is not empty.", BucketName=bucket
                )
            db.execute("DELETE FROM buckets WHERE name=?", (bucket,))
        shutil.rmtree(self._inside(self.root / bucket), ignore_errors=True)

    # -- objects ------------------------------------------------------------------------------------

    def _write_tmp(
        self,
        stream: BinaryIO,
        length: int | None,
        *,
        dest: BinaryIO | None = None,
        crc_init: int = 0,
    ) -> tuple[Path | None, int, str, int]:
        """Copy ``stream`` into a new temp file (or ``dest``) computing MD5 and CRC64 on the way."""
        md5 = hashlib.md5()
        crc = _new_crc64(crc_init)
        tmp = None if dest is not None else self._tmp_file()
        out = dest if dest is not None else open(tmp, "xb")  # noqa: SIM115 - closed below
        size = 0
        try:
            while True:
                want = CHUNK if length is None else min(CHUNK, length - size)
                if want <= 0:
                    break
                chunk = stream.read(want)
                if not chunk:
                    break
                out.write(chunk)
                md5.update(chunk)
                crc.update(chunk)
                size += len(chunk)
                if size > MAX_OBJECT_SIZE:
                    raise OssError(
                        400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
                    )
            if length is not None and size != length:
                raise OssError(
                    400, "IncompleteBody", f"The request body has {size} bytes, Content-Length said {length}."
                )
        except BaseException:
            if dest is None:
                out.close()
                tmp.unlink(missing_ok=True)  # type: ignore[union-attr]
            raise
        if dest is None:
            out.close()
        return tmp, size, md5.hexdigest(), crc.crcValue

    @staticmethod
    def _check_md5(content_md5: str | None, hex_md5: str) -> None:
        if content_md5 is None:
            return
        try:
            expected = base64.b64decode(content_md5, validate=True).hex()
        except ValueError:
            expected = ""
        if expected != hex_md5:
            raise OssError(
                400, "InvalidDigest", "The Content-MD5 you specified does not match the body received."
            )

    def _commit(
        self,
        bucket: str,
        key: str,
        tmp: Path,
        size: int,
        etag: str,
        crc: int,
        content_type: str,
        meta: dict[str, str],
        kind: str,
    ) -> ObjectInfo:
        final: Path | None = None
        mtime = time.time()
        old = None
        try:
            blob, final = self._new_blob(bucket, key)
            os.replace(tmp, final)
            with self._tx() as db:
                self._require_bucket(db, bucket)
                row = db.execute(
                    "SELECT blob FROM objects WHERE bucket=? AND key=?", (bucket, key)
                ).fetchone()
                old = row[0] if row else None
                db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (bucket, key, size, etag, str(crc), content_type, mtime, json.dumps(meta), kind, blob),
                )
        except BaseException:
            tmp.unlink(missing_ok=True)
            if final is not None:
                final.unlink(missing_ok=True)
            raise
        if old:
            self._blob_path(bucket, old).unlink(missing_ok=True)
        return ObjectInfo(bucket, key, size, etag, str(crc), content_type, mtime, meta, kind, final)

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
        tmp, size, md5_hex, crc = self._write_tmp(stream, length)
        assert tmp is not None
        try:
            self._check_md5(content_md5, md5_hex)
        except OssError:
            tmp.unlink(missing_ok=True)
            raise
        return self._commit(
            bucket, key, tmp, size, f'"{md5_hex.upper()}"', crc, content_type, meta or {}, "Normal"
        )

    def put_file(
        self,
        bucket: str,
        key: str,
        src: Path,
        *,
        content_type: str | None = None,
        meta: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store a local file as ``bucket/key`` (the engine's way to write job outputs)."""
        import mimetypes

        ctype = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
        with open(src, "rb") as fh:
            return self.put_object(bucket, key, fh, content_type=ctype, meta=meta)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        validate_key(key)
        db = self._db()
        self._require_bucket(db, bucket)
        row = db.execute(
            "SELECT key, size, etag, crc64, content_type, mtime, meta, kind, blob FROM objects "
            "WHERE bucket=? AND key=?",
            (bucket, key),
        ).fetchone()
        if row is None:
            raise no_such_key(key)
        info = self._row_to_info(bucket, row)
        info.path = self._blob_path(bucket, row[8])
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
        with self._tx() as db:
            self._require_bucket(db, bucket)
            row = db.execute("SELECT blob FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
            db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))
        if row:
            self._blob_path(bucket, row[0]).unlink(missing_ok=True)

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
            tmp, size, md5_hex, crc = self._write_tmp(reader, info.size)
        assert tmp is not None
        etag = info.etag if info.kind == "Normal" else f'"{md5_hex.upper()}"'
        return self._commit(
            bucket,
            key,
            tmp,
            size,
            etag,
            crc,
            content_type or info.content_type,
            info.meta if meta is None else meta,
            "Normal",
        )

    def append_object(
        self,
        bucket: str,
        key: str,
        position: int,
        stream: BinaryIO,
        *,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        meta: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """AppendObject: ``position`` must equal the current size (0 creates an Appendable object)."""
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
        tmp = self._tmp_file()
        with open(tmp, "xb") as out:
            crc_init = 0
            if current is not None:
                with open(current.path, "rb") as old:  # type: ignore[arg-type]
                    shutil.copyfileobj(old, out, CHUNK)
                crc_init = int(current.crc64)
            try:
                _, added, _, crc = self._write_tmp(stream, length, dest=out, crc_init=crc_init)
            except BaseException:
                out.close()
                tmp.unlink(missing_ok=True)
                raise
        total = size_now + added
        md5 = hashlib.md5()
        with open(tmp, "rb") as fh:
            while chunk := fh.read(CHUNK):
                md5.update(chunk)
        ctype = current.content_type if current else content_type
        kept = current.meta if current else (meta or {})
        return self._commit(
            bucket, key, tmp, total, f'"{md5.hexdigest().upper()}"', crc, ctype, kept, "Appendable"
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
        """Keys after ``start_after`` under ``prefix`` in byte order, rolling up at ``delimiter``.

        ``max_keys`` counts keys and common prefixes together, as OSS does.
        """
        db = self._db()
        self._require_bucket(db, bucket)
        upper = _key_successor(prefix) if prefix else None
        cursor, inclusive = (max(start_after, prefix), False) if start_after >= prefix else (prefix, True)
        contents: list[ObjectInfo] = []
        prefixes: list[str] = []
        last = ""
        while True:
            sql = (
                "SELECT key, size, etag, crc64, content_type, mtime, meta, kind, blob FROM objects "
                f"WHERE bucket=? AND key {'>=' if inclusive else '>'} ?"
            )
            args: list[object] = [bucket, cursor]
            if upper is not None:
                sql += " AND key < ?"
                args.append(upper)
            rows = db.execute(sql + " ORDER BY key LIMIT 1000", args).fetchall()
            if not rows:
                return ListPage(contents, prefixes, False, "")
            jumped = False
            for row in rows:
                key = row[0]
                if len(contents) + len(prefixes) >= max_keys:
                    return ListPage(contents, prefixes, True, last)
                rest = key[len(prefix) :]
                cut = rest.find(delimiter) if delimiter else -1
                if cut >= 0:
                    common = prefix + rest[: cut + len(delimiter)]
                    if common > start_after:  # a prefix handed out as the marker is not repeated
                        prefixes.append(common)
                        last = common
                    nxt = _key_successor(common)
                    if nxt is None:
                        return ListPage(contents, prefixes, False, "")
                    cursor, inclusive, jumped = nxt, True, True
                    break
                contents.append(self._row_to_info(bucket, row))
                last = key
            if not jumped:
                cursor, inclusive = rows[-1][0], False

    # -- multipart ----------------------------------------------------------------------------------

    def initiate_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str = "application/octet-stream",
        meta: dict[str, str] | None = None,
    ) -> str:
        validate_key(key)
        upload_id = secrets.token_hex(16).upper()
        with self._tx() as db:
            self._require_bucket(db, bucket)
            db.execute(
                "INSERT INTO uploads VALUES (?,?,?,?,?,?)",
                (upload_id, bucket, key, time.time(), content_type, json.dumps(meta or {})),
            )
        (self._uploads / upload_id).mkdir()
        return upload_id

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[str, dict[str, str]]:
        validate_key(key)
        row = None
        if _UPLOAD_ID_RE.match(upload_id or ""):
            row = (
                self._db()
                .execute(
                    "SELECT content_type, meta FROM uploads WHERE upload_id=? AND bucket=? AND key=?",
                    (upload_id, bucket, key),
                )
                .fetchone()
            )
        if row is None:
            self.bucket(bucket)
            raise OssError(
                404,
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, "
                "or the upload may have been aborted or completed.",
                UploadId=str(upload_id),
            )
        return row[0], json.loads(row[1])

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        stream: BinaryIO,
        *,
        length: int | None = None,
        content_md5: str | None = None,
    ) -> PartInfo:
        self._upload(bucket, key, upload_id)
        if not 1 <= number <= 10000:
            raise OssError(400, "InvalidArgument", f"partNumber {number} is not in 1..10000.")
        tmp, size, md5_hex, crc = self._write_tmp(stream, length)
        assert tmp is not None
        try:
            self._check_md5(content_md5, md5_hex)
        except OssError:
            tmp.unlink(missing_ok=True)
            raise
        etag = f'"{md5_hex.upper()}"'
        os.replace(tmp, self._uploads / upload_id / str(number))
        mtime = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO parts VALUES (?,?,?,?,?,?)",
                (upload_id, number, size, etag, mtime, str(crc)),
            )
        return PartInfo(number, size, etag, mtime, str(crc))

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._upload(bucket, key, upload_id)
        rows = (
            self._db()
            .execute(
                "SELECT number, size, etag, mtime, crc64 FROM parts WHERE upload_id=? ORDER BY number",
                (upload_id,),
            )
            .fetchall()
        )
        return [PartInfo(*r) for r in rows]

    def complete_upload(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]] | None
    ) -> ObjectInfo:
        """Join the listed parts (all uploaded parts when ``parts`` is None) into the object."""
        content_type, meta = self._upload(bucket, key, upload_id)
        have = {p.number: p for p in self.list_parts(bucket, key, upload_id)}
        if parts is None:
            parts = [(n, have[n].etag) for n in sorted(have)]
        if not parts:
            raise OssError(400, "InvalidRequest", "A multipart upload needs at least one part to complete.")
        numbers = [n for n, _ in parts]
        if numbers != sorted(set(numbers)):
            raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        for n, etag in parts:
            if n not in have or etag.strip('"').upper() != have[n].etag.strip('"'):
                raise OssError(
                    400,
                    "InvalidPart",
                    f"Part {n} was not uploaded, or its ETag {etag} does not match.",
                    PartNumber=str(n),
                )
        tmp = self._tmp_file()
        crc = _new_crc64()
        digests = b""
        size = 0
        with open(tmp, "xb") as out:
            for n, _ in parts:
                digests += bytes.fromhex(have[n].etag.strip('"'))
                with open(self._uploads / upload_id / str(n), "rb") as part:
                    while chunk := part.read(CHUNK):
                        out.write(chunk)
                        crc.update(chunk)
                        size += len(chunk)
        etag = f'"{hashlib.md5(digests).hexdigest().upper()}-{len(parts)}"'
        info = self._commit(bucket, key, tmp, size, etag, crc.crcValue, content_type, meta, "Multipart")
        self.abort_upload(bucket, key, upload_id)
        return info

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self._upload(bucket, key, upload_id)
        with self._tx() as db:
            db.execute("DELETE FROM parts WHERE upload_id=?", (upload_id,))
            db.execute("DELETE FROM uploads WHERE upload_id=?", (upload_id,))
        shutil.rmtree(self._uploads / upload_id, ignore_errors=True)


def resolve_url(url: str, store: ObjectStore) -> Path:
    """The store file behind ``oss://bucket/key``, ``oss://bucket.oss-REGION.aliyuncs.com/key`` or
    ``http(s)://bucket.oss-REGION.aliyuncs.com/key`` (how the engine reads job inputs).

    Raises ``catalog.ValidationError`` for a URL of another shape and OssError (NoSuchBucket, NoSuchKey,
    InvalidObjectName) when the object is not there or its key is refused.
    """
    from airflow_iprod.catalog import split_oss_url

    bucket, key = split_oss_url(url)
    return store.path_for(bucket, key)
