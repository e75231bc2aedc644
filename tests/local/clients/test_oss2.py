"""``oss2``, the classic OSS SDK, against the engine: V1 (``Auth``) and V4 (``ProviderAuthV4``) signing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider
from oss2.models import PartInfo, Tagging, TaggingRule

from tests.local.clients.scenarios import REGION, Failure, ObjectClient, Page, Transfer, matrix_test


class Oss2Client(ObjectClient):
    def __init__(self, endpoint: str, auth: Any, v4: bool) -> None:
        self.name = "oss2 v4" if v4 else "oss2 v1"
        self._endpoint, self._auth = endpoint, auth
        self._region = {"region": REGION} if v4 else {}
        self._service = oss2.Service(auth, endpoint, **self._region)

    def _bucket(self, name: str) -> oss2.Bucket:
        return oss2.Bucket(self._auth, self._endpoint, name, **self._region)

    def _failure(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, oss2.exceptions.OssError) and exc.status > 0:
            return Failure(exc.status, exc.code, exc.message)
        return None

    def create_bucket(self, bucket: str) -> None:
        self._bucket(bucket).create_bucket()

    def delete_bucket(self, bucket: str) -> None:
        self._bucket(bucket).delete_bucket()

    def list_buckets(self) -> list[str]:
        return [b.name for b in oss2.BucketIterator(self._service, max_keys=2)]

    def bucket_location(self, bucket: str) -> str:
        return self._bucket(bucket).get_bucket_location().location

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self._bucket(bucket).put_object(key, data)

    def get(self, bucket: str, key: str) -> bytes:
        return self._bucket(bucket).get_object(key).read()

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        return self._bucket(bucket).get_object(key, byte_range=(start, end)).read()

    def size(self, bucket: str, key: str) -> int:
        return self._bucket(bucket).head_object(key).content_length

    def exists(self, bucket: str, key: str) -> bool:
        return self._bucket(bucket).object_exists(key)

    def delete(self, bucket: str, key: str) -> None:
        self._bucket(bucket).delete_object(key)

    def put_with(self, bucket: str, key: str, data: bytes, content_type: str, meta: dict[str, str]) -> None:
        headers = {"Content-Type": content_type, **{f"x-oss-meta-{k}": v for k, v in meta.items()}}
        self._bucket(bucket).put_object(key, data, headers=headers)

    def content_info(self, bucket: str, key: str) -> tuple[str, dict[str, str]]:
        head = self._bucket(bucket).head_object(key)
        meta = {k.lower()[11:]: v for k, v in head.headers.items() if k.lower().startswith("x-oss-meta-")}
        return head.content_type, meta

    def copy(self, bucket: str, src: str, dst: str) -> None:
        self._bucket(bucket).copy_object(bucket, src, dst)

    def get_if(self, bucket: str, key: str, headers: dict[str, str]) -> bytes:
        return self._bucket(bucket).get_object(key, headers=headers).read()

    def append(self, bucket: str, key: str, position: int, data: bytes) -> int:
        return self._bucket(bucket).append_object(key, position, data).next_position

    def delete_many(self, bucket: str, keys: list[str]) -> list[str]:  # oss2 has no quiet variant
        return self._bucket(bucket).batch_delete_objects(keys).deleted_keys

    def list_pages(
        self, bucket: str, *, v2: bool, prefix: str, delimiter: str, max_keys: int, start_after: str = ""
    ) -> list[Page]:
        b, pages, marker = self._bucket(bucket), [], ""
        while True:
            if v2:
                r = b.list_objects_v2(prefix, delimiter, marker, start_after, max_keys=max_keys)
            else:
                r = b.list_objects(prefix, delimiter, marker, max_keys)
            pages.append(Page([o.key for o in r.object_list], list(r.prefix_list)))
            if not r.is_truncated:
                return pages
            marker = r.next_continuation_token if v2 else r.next_marker

    def list_all(self, bucket: str, prefix: str) -> list[str]:
        v1 = [o.key for o in oss2.ObjectIterator(self._bucket(bucket), prefix=prefix, max_keys=1)]
        v2 = [o.key for o in oss2.ObjectIteratorV2(self._bucket(bucket), prefix=prefix, max_keys=1)]
        return v1 if v1 == v2 else [*v1, "<ObjectIterator and ObjectIteratorV2 differ>"]

    def initiate(self, bucket: str, key: str) -> str:
        return self._bucket(bucket).init_multipart_upload(key).upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> str:
        return self._bucket(bucket).upload_part(key, upload_id, number, data).etag

    def upload_part_copy(
        self, bucket: str, key: str, upload_id: str, number: int, src: str, start: int, end: int
    ) -> str:
        return self._bucket(bucket).upload_part_copy(bucket, src, (start, end), key, upload_id, number).etag

    def list_parts(self, bucket: str, key: str, upload_id: str, max_parts: int) -> list[list[int]]:
        pages, marker = [], ""
        while True:
            r = self._bucket(bucket).list_parts(key, upload_id, marker=marker, max_parts=max_parts)
            pages.append([p.part_number for p in r.parts])
            if not r.is_truncated:
                return pages
            marker = r.next_marker

    def list_uploads(self, bucket: str, prefix: str, max_uploads: int) -> list[list[tuple[str, str]]]:
        pages, key_marker, id_marker = [], "", ""
        while True:
            r = self._bucket(bucket).list_multipart_uploads(
                prefix=prefix, key_marker=key_marker, upload_id_marker=id_marker, max_uploads=max_uploads
            )
            pages.append([(u.key, u.upload_id) for u in r.upload_list])
            if not r.is_truncated:
                return pages
            key_marker, id_marker = r.next_key_marker, r.next_upload_id_marker

    def complete(self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]) -> str:
        infos = [PartInfo(n, etag) for n, etag in parts]
        return self._bucket(bucket).complete_multipart_upload(key, upload_id, infos).etag

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self._bucket(bucket).abort_multipart_upload(key, upload_id)

    def _resumable(self, job: Transfer, transfer: Callable[..., Any], **store_and_threshold: Any) -> None:
        transfer(
            self._bucket(job.bucket),
            job.key,
            str(job.path),
            part_size=job.part_size,
            progress_callback=lambda done, total: job.progress(done),
            num_threads=1,
            **store_and_threshold,
        )

    def resumable_upload(self, job: Transfer) -> None:
        store = oss2.ResumableStore(root=str(job.checkpoints))
        self._resumable(job, oss2.resumable_upload, store=store, multipart_threshold=job.part_size)

    def resumable_download(self, job: Transfer) -> None:
        store = oss2.ResumableDownloadStore(root=str(job.checkpoints))
        self._resumable(job, oss2.resumable_download, store=store, multiget_threshold=job.part_size)

    def presign_get(self, bucket: str, key: str) -> str:
        return self._bucket(bucket).sign_url("GET", key, 60)

    def presign_put(self, bucket: str, key: str, content_type: str) -> tuple[str, dict[str, str]]:
        headers = {"Content-Type": content_type}
        return self._bucket(bucket).sign_url("PUT", key, 60, headers=headers), headers

    def acls(self, bucket: str, key: str) -> tuple[str, str]:
        b = self._bucket(bucket)
        return b.get_bucket_acl().acl, b.get_object_acl(key).acl

    def unserved(self, bucket: str, key: str) -> dict[str, Callable[[], Any]]:
        b = self._bucket(bucket)
        return {
            "PutBucketAcl": lambda: b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ),
            "PutObjectTagging": lambda: b.put_object_tagging(key, Tagging(TaggingRule())),
            "GetBucketLifecycle": b.get_bucket_lifecycle,
            "GetBucketVersioning": b.get_bucket_versioning,
        }


@pytest.fixture(scope="module", params=["v1", "v4"])
def client(request: pytest.FixtureRequest, local_engine: Any) -> Oss2Client:
    endpoint = f"http://{local_engine.endpoint}"
    keys = (local_engine.access_key_id, local_engine.access_key_secret)
    if request.param == "v4":
        return Oss2Client(endpoint, oss2.ProviderAuthV4(StaticCredentialsProvider(*keys)), v4=True)
    return Oss2Client(endpoint, oss2.Auth(*keys), v4=False)


test_conformance = matrix_test(Oss2Client)
