"""The object store's files: object bodies ("blobs"), temp files being written, multipart parts.

Layout under ``<data_dir>/objects/``::

    <bucket>/<hh>/<sha256(key)>.<id> object bodies; the name never derives from the key's text
    .tmp/                            bodies being written (renamed into place when complete)
    .uploads/<upload_id>/<part>      multipart parts until Complete/Abort

Why hashed blob names: an OSS key is an arbitrary string (``a`` and ``a/b`` may both exist, keys may hold
``..`` or ``%2e``), so a key is never used as a file path. Each write gets a fresh blob name, so a reader of
the old blob is never disturbed by a writer of the new one.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from airflow_iprod.local.object_names import validate_bucket_name
from airflow_iprod.local.oss_errors import OssError

CHUNK = 1 << 20  # streaming copy size: bounded memory whatever the object size
MAX_OBJECT_SIZE = 5 << 30  # OSS's PutObject limit
_BLOB_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[0-9a-f]{16}$")
_CRC64_POLY = 0x142F0E1EBA9EA3693
_CRC64_XOROUT = 0xFFFFFFFFFFFFFFFF


def new_crc64(init: int = 0):  # -> crcmod.Crc
    import crcmod  # lazy: crcmod-plus (a dependency of alibabacloud-oss-v2) has a C extension

    return crcmod.Crc(_CRC64_POLY, initCrc=init, rev=True, xorOut=_CRC64_XOROUT)


@dataclass(frozen=True)
class Incoming:
    """A request body on its way in: the stream, its declared length (None: chunked), its Content-MD5."""

    stream: BinaryIO
    length: int | None = None
    content_md5: str | None = None


@dataclass(frozen=True)
class Received:
    """A body written to a temp file, with the digests computed on the way."""

    tmp: Path
    size: int
    md5_hex: str
    crc: int

    @property
    def etag(self) -> str:
        return f'"{self.md5_hex.upper()}"'


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


def _pump(body: Incoming, out: BinaryIO, md5: hashlib._Hash, crc) -> int:
    """Copy the body into ``out``, updating the digests; the number of body bytes."""
    size = 0
    while True:
        want = CHUNK if body.length is None else min(CHUNK, body.length - size)
        if want <= 0:
            break
        chunk = body.stream.read(want)
        if not chunk:
            break
        out.write(chunk)
        md5.update(chunk)
        crc.update(chunk)
        size += len(chunk)
        if size > MAX_OBJECT_SIZE:
            raise OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
    if body.length is not None and size != body.length:
        raise OssError(
            400, "IncompleteBody", f"The request body has {size} bytes, Content-Length said {body.length}."
        )
    return size


class BlobFiles:
    """Paths under the store root; every path handed out is checked to stay inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"
        self._uploads = root / ".uploads"
        self._tmp.mkdir(exist_ok=True)
        self._uploads.mkdir(exist_ok=True)

    def inside(self, path: Path) -> Path:
        """Defence in depth: refuse any path (after resolving symlinks) that is not under the store root."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise OssError(403, "AccessDenied", "The resolved object path is outside the object store.")
        return resolved

    def blob_path(self, bucket: str, blob: str) -> Path:
        if not _BLOB_RE.match(blob):  # rows are written only by the store; a foreign row is refused
            raise OssError(500, "InternalError", f"Corrupt blob reference {blob!r} in the object store.")
        return self.inside(self.root / validate_bucket_name(bucket) / blob)

    def new_blob(self, bucket: str, key: str) -> tuple[str, Path]:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        blob = f"{digest[:2]}/{digest}.{secrets.token_hex(8)}"
        path = self.blob_path(bucket, blob)
        path.parent.mkdir(parents=True, exist_ok=True)
        return blob, path

    def tmp_file(self) -> Path:
        return self._tmp / f"{secrets.token_hex(12)}.part"

    def upload_dir(self, upload_id: str) -> Path:
        """Where the parts of one multipart upload wait (the id is checked by the caller)."""
        return self._uploads / upload_id

    def receive(self, body: Incoming, *, base: Path | None = None, crc_init: int = 0) -> Received:
        """Write ``body`` to a new temp file, checking its length and Content-MD5; removed on any failure.

        With ``base`` (AppendObject) the file starts with a copy of it: the MD5 covers the whole file,
        the CRC continues from ``crc_init`` (the base's CRC), the length checks count the body alone.
        """
        tmp = self.tmp_file()
        md5, crc = hashlib.md5(), new_crc64(crc_init)
        size = 0
        try:
            with open(tmp, "xb") as out:
                if base is not None:
                    with open(base, "rb") as old:
                        while chunk := old.read(CHUNK):
                            out.write(chunk)
                            md5.update(chunk)
                            size += len(chunk)
                size += _pump(body, out, md5, crc)
            _check_md5(body.content_md5, md5.hexdigest())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Received(tmp, size, md5.hexdigest(), crc.crcValue)
