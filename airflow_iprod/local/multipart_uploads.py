"""Multipart uploads in the object store: Initiate, UploadPart, ListParts, ListUploads, Complete, Abort.

An upload is a row in ``uploads`` (with the content type and metadata the object will get) plus one row in
``parts`` and one file under ``.uploads/<upload_id>/`` a part. Complete joins the chosen parts into a temp
file and publishes it through the ObjectStore like any other write, then removes the upload.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass

from airflow_iprod.local.object_db import ObjectInfo, require_bucket
from airflow_iprod.local.object_files import CHUNK, Incoming, Received, new_crc64
from airflow_iprod.local.object_names import validate_key
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_errors import OssError

_UPLOAD_ID_RE = re.compile(r"^[0-9A-F]{32}$")


@dataclass
class PartInfo:
    number: int
    size: int
    etag: str
    mtime: float
    crc64: str


@dataclass
class UploadInfo:
    key: str
    upload_id: str
    created: float


@dataclass
class UploadsPage:
    """One page of ListMultipartUploads: uploads and rolled-up prefixes, and where the next page starts."""

    uploads: list[UploadInfo]
    common_prefixes: list[str]
    truncated: bool
    next_key_marker: str = ""
    next_upload_id_marker: str = ""


class MultipartUploads:
    """The multipart side of one ObjectStore (a view: it keeps no state of its own)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._db = store.db
        self._files = store.files

    def initiate(
        self, bucket: str, key: str, *, content_type: str = "application/octet-stream", meta: dict[str, str]
    ) -> str:
        validate_key(key)
        upload_id = secrets.token_hex(16).upper()
        with self._db.tx() as db:
            require_bucket(db, bucket)
            db.execute(
                "INSERT INTO uploads VALUES (?,?,?,?,?,?)",
                (upload_id, bucket, key, time.time(), content_type, json.dumps(meta)),
            )
        self._files.upload_dir(upload_id).mkdir()
        return upload_id

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[str, dict[str, str]]:
        """The upload's (content type, metadata); NoSuchBucket or NoSuchUpload when it is not there."""
        validate_key(key)
        row = None
        if _UPLOAD_ID_RE.match(upload_id or ""):
            row = (
                self._db.conn()
                .execute(
                    "SELECT content_type, meta FROM uploads WHERE upload_id=? AND bucket=? AND key=?",
                    (upload_id, bucket, key),
                )
                .fetchone()
            )
        if row is None:
            self._store.bucket(bucket)
            raise OssError(
                404,
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, "
                "or the upload may have been aborted or completed.",
                UploadId=str(upload_id),
            )
        return row[0], json.loads(row[1])

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: Incoming) -> PartInfo:
        self._upload(bucket, key, upload_id)
        if not 1 <= number <= 10000:
            raise OssError(400, "InvalidArgument", f"partNumber {number} is not in 1..10000.")
        received = self._files.receive(body)
        received.tmp.replace(self._files.upload_dir(upload_id) / str(number))
        mtime = time.time()
        with self._db.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO parts VALUES (?,?,?,?,?,?)",
                (upload_id, number, received.size, received.etag, mtime, str(received.crc)),
            )
        return PartInfo(number, received.size, received.etag, mtime, str(received.crc))

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._upload(bucket, key, upload_id)
        rows = (
            self._db.conn()
            .execute(
                "SELECT number, size, etag, mtime, crc64 FROM parts WHERE upload_id=? ORDER BY number",
                (upload_id,),
            )
            .fetchall()
        )
        return [PartInfo(*r) for r in rows]

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadsPage:
        """Uploads in progress, by key then upload ID, after the markers (OSS's rule: keys after
        ``key_marker``, and with ``upload_id_marker`` also that key's uploads after that ID)."""
        db = self._db.conn()
        require_bucket(db, bucket)
        rows = db.execute(
            "SELECT key, upload_id, created FROM uploads WHERE bucket=? AND key >= ? "
            "AND substr(key, 1, ?) = ? ORDER BY key, upload_id",
            (bucket, key_marker, len(prefix), prefix),
        ).fetchall()
        page = UploadsPage([], [], False)
        for key, upload_id, created in rows:
            if key == key_marker and (not upload_id_marker or upload_id <= upload_id_marker):
                continue
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            common = key[: cut + len(delimiter)] if cut >= 0 else None
            if common is not None and (common <= key_marker or common in page.common_prefixes):
                continue  # a prefix handed out on an earlier page, or already on this one
            if len(page.uploads) + len(page.common_prefixes) >= max_uploads:
                page.truncated = True
                break
            if common is not None:
                page.common_prefixes.append(common)
                page.next_key_marker, page.next_upload_id_marker = common, ""
            else:
                page.uploads.append(UploadInfo(key, upload_id, created))
                page.next_key_marker, page.next_upload_id_marker = key, upload_id
        return page

    def complete(
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
        joined = self._join(upload_id, [n for n, _ in parts])
        # OSS's multipart ETag: MD5 of the parts' binary MD5s, then "-<part count>".
        digests = b"".join(bytes.fromhex(have[n].etag.strip('"')) for n, _ in parts)
        etag = f'"{hashlib.md5(digests).hexdigest().upper()}-{len(parts)}"'
        info = self._store.publish(
            bucket, key, joined, etag=etag, content_type=content_type, meta=meta, kind="Multipart"
        )
        self.abort(bucket, key, upload_id)
        return info

    def _join(self, upload_id: str, numbers: list[int]) -> Received:
        """The parts concatenated into a temp file, with the CRC64 of the whole (no MD5: not needed)."""
        tmp = self._files.tmp_file()
        crc = new_crc64()
        size = 0
        with open(tmp, "xb") as out:
            for n in numbers:
                with open(self._files.upload_dir(upload_id) / str(n), "rb") as part:
                    while chunk := part.read(CHUNK):
                        out.write(chunk)
                        crc.update(chunk)
                        size += len(chunk)
        return Received(tmp, size, "", crc.crcValue)

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self._upload(bucket, key, upload_id)
        with self._db.tx() as db:
            db.execute("DELETE FROM parts WHERE upload_id=?", (upload_id,))
            db.execute("DELETE FROM uploads WHERE upload_id=?", (upload_id,))
        shutil.rmtree(self._files.upload_dir(upload_id), ignore_errors=True)
