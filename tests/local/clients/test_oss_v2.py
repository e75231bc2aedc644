"""``alibabacloud_oss_v2`` against the engine: its plain calls, paginators, uploader, downloader, copier and
presigner (V4 signing, the SDK's default; test_oss_api.py also covers V1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest

from tests.local.clients.scenarios import (
    REGION,
    Env,
    Failure,
    ObjectClient,
    Page,
    Transfer,
    matrix_test,
    payload,
)


class OssV2Client(ObjectClient):
    name = "alibabacloud_oss_v2"

    def __init__(self, endpoint: str, key_id: str, secret: str) -> None:
        cfg = oss.config.load_default()
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(key_id, secret)
        cfg.region, cfg.endpoint = REGION, endpoint
        self.sdk = oss.Client(cfg)

    def _failure(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, oss.exceptions.ServiceError):
            return Failure(exc.status_code, exc.code, exc.message)
        return None

    def create_bucket(self, bucket: str) -> None:
        self.sdk.put_bucket(oss.PutBucketRequest(bucket=bucket))

    def delete_bucket(self, bucket: str) -> None:
        self.sdk.delete_bucket(oss.DeleteBucketRequest(bucket=bucket))

    def list_buckets(self) -> list[str]:
        pages = self.sdk.list_buckets_paginator(limit=2).iter_page(oss.ListBucketsRequest())
        return [b.name for page in pages for b in page.buckets or []]

    def bucket_location(self, bucket: str) -> str:
        return self.sdk.get_bucket_location(oss.GetBucketLocationRequest(bucket=bucket)).location

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.sdk.put_object(oss.PutObjectRequest(bucket=bucket, key=key, body=data))

    def get(self, bucket: str, key: str) -> bytes:
        return self.sdk.get_object(oss.GetObjectRequest(bucket=bucket, key=key)).body.read()

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        request = oss.GetObjectRequest(bucket=bucket, key=key, range_header=f"bytes={start}-{end}")
        return self.sdk.get_object(request).body.read()

    def size(self, bucket: str, key: str) -> int:
        return self.sdk.head_object(oss.HeadObjectRequest(bucket=bucket, key=key)).content_length

    def exists(self, bucket: str, key: str) -> bool:
        return self.sdk.is_object_exist(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        self.sdk.delete_object(oss.DeleteObjectRequest(bucket=bucket, key=key))

    def put_with(self, bucket: str, key: str, data: bytes, content_type: str, meta: dict[str, str]) -> None:
        request = oss.PutObjectRequest(
            bucket=bucket, key=key, body=data, content_type=content_type, metadata=meta
        )
        self.sdk.put_object(request)

    def content_info(self, bucket: str, key: str) -> tuple[str, dict[str, str]]:
        head = self.sdk.head_object(oss.HeadObjectRequest(bucket=bucket, key=key))
        return head.content_type, dict(head.metadata or {})

    def copy(self, bucket: str, src: str, dst: str) -> None:
        request = oss.CopyObjectRequest(bucket=bucket, key=dst, source_bucket=bucket, source_key=src)
        self.sdk.copy_object(request)

    def get_if(self, bucket: str, key: str, headers: dict[str, str]) -> bytes:
        request = oss.GetObjectRequest(
            bucket=bucket,
            key=key,
            if_match=headers.get("If-Match"),
            if_none_match=headers.get("If-None-Match"),
        )
        return self.sdk.get_object(request).body.read()

    def append(self, bucket: str, key: str, position: int, data: bytes) -> int:
        request = oss.AppendObjectRequest(bucket=bucket, key=key, position=position, body=data)
        return self.sdk.append_object(request).next_position

    def _delete_many(self, bucket: str, keys: list[str], quiet: bool) -> list[str]:
        objects = [oss.DeleteObject(key=k) for k in keys]
        request = oss.DeleteMultipleObjectsRequest(bucket=bucket, objects=objects, quiet=quiet)
        return [d.key for d in self.sdk.delete_multiple_objects(request).deleted_objects or []]

    def delete_many(self, bucket: str, keys: list[str]) -> list[str]:
        return self._delete_many(bucket, keys, quiet=False)

    def delete_many_quiet(self, bucket: str, keys: list[str]) -> list[str]:
        return self._delete_many(bucket, keys, quiet=True)

    def list_pages(
        self, bucket: str, *, v2: bool, prefix: str, delimiter: str, max_keys: int, start_after: str = ""
    ) -> list[Page]:
        if v2:
            paginator: Any = self.sdk.list_objects_v2_paginator(limit=max_keys)
            request: Any = oss.ListObjectsV2Request(
                bucket=bucket, prefix=prefix, delimiter=delimiter, start_after=start_after or None
            )
        else:
            paginator = self.sdk.list_objects_paginator(limit=max_keys)
            request = oss.ListObjectsRequest(bucket=bucket, prefix=prefix, delimiter=delimiter)
        return [
            Page([o.key for o in p.contents or []], [c.prefix for c in p.common_prefixes or []])
            for p in paginator.iter_page(request)
        ]

    def list_all(self, bucket: str, prefix: str) -> list[str]:
        pages = self.sdk.list_objects_v2_paginator(limit=1).iter_page(
            oss.ListObjectsV2Request(bucket=bucket, prefix=prefix)
        )
        return [o.key for page in pages for o in page.contents or []]

    def initiate(self, bucket: str, key: str) -> str:
        request = oss.InitiateMultipartUploadRequest(bucket=bucket, key=key)
        return self.sdk.initiate_multipart_upload(request).upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> str:
        request = oss.UploadPartRequest(
            bucket=bucket, key=key, upload_id=upload_id, part_number=number, body=data
        )
        return self.sdk.upload_part(request).etag

    def upload_part_copy(
        self, bucket: str, key: str, upload_id: str, number: int, src: str, start: int, end: int
    ) -> str:
        request = oss.UploadPartCopyRequest(
            bucket=bucket,
            key=key,
            upload_id=upload_id,
            part_number=number,
            source_bucket=bucket,
            source_key=src,
            source_range=f"bytes={start}-{end}",
        )
        return self.sdk.upload_part_copy(request).etag

    def list_parts(self, bucket: str, key: str, upload_id: str, max_parts: int) -> list[list[int]]:
        request = oss.ListPartsRequest(bucket=bucket, key=key, upload_id=upload_id)
        pages = self.sdk.list_parts_paginator(limit=max_parts).iter_page(request)
        return [[p.part_number for p in page.parts or []] for page in pages]

    def list_uploads(self, bucket: str, prefix: str, max_uploads: int) -> list[list[tuple[str, str]]]:
        request = oss.ListMultipartUploadsRequest(bucket=bucket, prefix=prefix)
        pages = self.sdk.list_multipart_uploads_paginator(limit=max_uploads).iter_page(request)
        return [[(u.key, u.upload_id) for u in page.uploads or []] for page in pages]

    def complete(self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]) -> str:
        body = oss.CompleteMultipartUpload(parts=[oss.UploadPart(part_number=n, etag=e) for n, e in parts])
        request = oss.CompleteMultipartUploadRequest(
            bucket=bucket, key=key, upload_id=upload_id, complete_multipart_upload=body
        )
        return self.sdk.complete_multipart_upload(request).etag

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        request = oss.AbortMultipartUploadRequest(bucket=bucket, key=key, upload_id=upload_id)
        self.sdk.abort_multipart_upload(request)

    def upload_file(self, bucket: str, key: str, path: Path, part_size: int) -> None:
        uploader = self.sdk.uploader(part_size=part_size, parallel_num=2)
        uploader.upload_file(oss.PutObjectRequest(bucket=bucket, key=key), filepath=str(path))

    def download_file(self, bucket: str, key: str, path: Path, part_size: int) -> None:
        downloader = self.sdk.downloader(part_size=part_size, parallel_num=2)
        downloader.download_file(oss.GetObjectRequest(bucket=bucket, key=key), filepath=str(path))

    def _checkpointed(self, job: Transfer) -> dict[str, Any]:
        """Transfer options and request for a checkpointed job. The SDK takes os.path.dirname() of
        checkpoint_dir: it must end with a slash, as its docs show."""
        options = {"part_size": job.part_size, "parallel_num": 1, "enable_checkpoint": True}
        return {**options, "checkpoint_dir": f"{job.checkpoints}/"}

    def _progress(self, job: Transfer) -> Callable[[int, int, int], None]:
        return lambda increment, done, total: job.progress(done)

    def resumable_upload(self, job: Transfer) -> None:
        request = oss.PutObjectRequest(bucket=job.bucket, key=job.key, progress_fn=self._progress(job))
        self.sdk.uploader(**self._checkpointed(job)).upload_file(request, filepath=str(job.path))

    def resumable_download(self, job: Transfer) -> None:
        request = oss.GetObjectRequest(bucket=job.bucket, key=job.key, progress_fn=self._progress(job))
        self.sdk.downloader(**self._checkpointed(job)).download_file(request, filepath=str(job.path))

    def presign_get(self, bucket: str, key: str) -> str:
        return self.sdk.presign(oss.GetObjectRequest(bucket=bucket, key=key)).url

    def presign_put(self, bucket: str, key: str, content_type: str) -> tuple[str, dict[str, str]]:
        signed = self.sdk.presign(oss.PutObjectRequest(bucket=bucket, key=key, content_type=content_type))
        return signed.url, dict(signed.signed_headers or {})

    def acls(self, bucket: str, key: str) -> tuple[str, str]:
        on_bucket = self.sdk.get_bucket_acl(oss.GetBucketAclRequest(bucket=bucket))
        on_object = self.sdk.get_object_acl(oss.GetObjectAclRequest(bucket=bucket, key=key))
        return on_bucket.acl, on_object.acl

    def unserved(self, bucket: str, key: str) -> dict[str, Callable[[], Any]]:
        tags = oss.Tagging(tag_set=oss.TagSet(tags=[oss.Tag(key="k", value="v")]))
        return {
            "PutBucketAcl": lambda: self.sdk.put_bucket_acl(
                oss.PutBucketAclRequest(bucket=bucket, acl="public-read")
            ),
            "PutObjectTagging": lambda: self.sdk.put_object_tagging(
                oss.PutObjectTaggingRequest(bucket=bucket, key=key, tagging=tags)
            ),
            "GetBucketLifecycle": lambda: self.sdk.get_bucket_lifecycle(
                oss.GetBucketLifecycleRequest(bucket=bucket)
            ),
            "GetBucketVersioning": lambda: self.sdk.get_bucket_versioning(
                oss.GetBucketVersioningRequest(bucket=bucket)
            ),
        }


@pytest.fixture(scope="module")
def client(local_engine: Any) -> OssV2Client:
    return OssV2Client(
        f"http://{local_engine.endpoint}", local_engine.access_key_id, local_engine.access_key_secret
    )


test_conformance = matrix_test(OssV2Client)


def test_copier_copies_large_objects_part_by_part(client: OssV2Client, env: Env) -> None:
    """Above its threshold (and without OSS's shallow copy) the copier uses UploadPartCopy part by part."""
    data = payload(700_000, "copier")
    client.put(env.bucket, "big/src.bin", data)
    copier = client.sdk.copier(
        part_size=200 << 10, multipart_copy_threshold=300 << 10, parallel_num=2, disable_shallow_copy=True
    )
    request = oss.CopyObjectRequest(
        bucket=env.bucket, key="big/dst.bin", source_bucket=env.bucket, source_key="big/src.bin"
    )
    copier.copy(request)
    assert client.get(env.bucket, "big/dst.bin") == data
    assert env.store.head(env.bucket, "big/dst.bin").kind == "Multipart"


def test_file_like_reader_and_appender(client: OssV2Client, env: Env) -> None:
    with client.sdk.append_file(env.bucket, "af.log") as appender:
        appender.write(b"first ")
        appender.write(b"second")
    with client.sdk.open_file(env.bucket, "af.log") as reader:
        reader.seek(6)
        assert reader.read() == b"second"
    assert client.sdk.is_bucket_exist(env.bucket) and not client.sdk.is_bucket_exist("no-such-bucket-cc")
