"""The client conformance matrix: one set of OSS scenarios, run through every client's adapter.

Each client file (``test_oss2.py``, ``test_oss_v2.py``, ``test_ossfs.py``, ``test_oss_hook.py``) wraps its
client in an ``ObjectClient`` subclass that implements what the client offers with the client's own calls, and
collects the matrix with ``test_conformance = matrix_test(TheAdapter)``. A scenario runs for a client when its
adapter implements every method the scenario needs; the README's "Client conformance" table is this matrix.
Everything goes over real HTTP to the session engine (tests/conftest.py ``local_engine``).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_iprod.local.multipart_uploads import MultipartUploads
from airflow_iprod.local.objects import ObjectStore

REGION = "cn-shanghai"
# Keys a user really has: nested "directories", and characters that must survive encoding-type=url.
ODD_KEY = "tree/e f+ü&<100%.txt"
TREE = ("tree/a.txt", "tree/b/1.txt", "tree/b/2.txt", "tree/c/3.txt", "tree/d.txt", ODD_KEY)
# Operations the engine does not imitate: each client must get 501 NotImplemented naming the operation.
UNSERVED = ("PutBucketAcl", "PutObjectTagging", "GetBucketLifecycle", "GetBucketVersioning")


@dataclass(frozen=True)
class Failure:
    """A service error as the client reported it."""

    status: int
    code: str
    message: str = ""


@dataclass(frozen=True)
class Page:
    keys: list[str]
    prefixes: list[str] = field(default_factory=list)


@dataclass
class Env:
    """A scenario's world: a fresh bucket, a temp dir and the engine's store (to inspect, not to act)."""

    bucket: str
    tmp: Path
    store: ObjectStore

    def fresh_bucket_name(self, tag: str) -> str:
        return f"{self.bucket[:50]}-{tag}"


@dataclass(frozen=True)
class Transfer:
    """A resumable upload or download: the object, the local file, its part size, where checkpoints go and
    who hears of the bytes done (a crash test makes that callback kill the process)."""

    bucket: str
    key: str
    path: Path
    part_size: int
    checkpoints: Path
    progress: Callable[[int], None]


class ObjectClient:
    """One OSS client behind the operations the scenarios use. A subclass overrides what its client can do;
    every method left as it is here means "this client has no call for it" (the scenario is not collected)."""

    name = "?"
    oss_errors = True  # False: the client turns service errors into its own (fsspec's OSError family)

    def failure(self, exc: BaseException) -> Failure | None:
        """The service error inside ``exc`` (or its causes), None when it is not one."""
        seen: BaseException | None = exc
        while seen is not None:
            found = self._failure(seen)
            if found is not None:
                return found
            seen = seen.__cause__ or seen.__context__
        return None

    def _failure(self, exc: BaseException) -> Failure | None:
        raise NotImplementedError

    # buckets
    def create_bucket(self, bucket: str) -> None:
        raise NotImplementedError

    def delete_bucket(self, bucket: str) -> None:
        raise NotImplementedError

    def list_buckets(self) -> list[str]:
        raise NotImplementedError

    def bucket_location(self, bucket: str) -> str:
        raise NotImplementedError

    # objects
    def put(self, bucket: str, key: str, data: bytes) -> None:
        raise NotImplementedError

    def get(self, bucket: str, key: str) -> bytes:
        raise NotImplementedError

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        """Bytes ``start``..``end`` inclusive."""
        raise NotImplementedError

    def size(self, bucket: str, key: str) -> int:
        raise NotImplementedError

    def exists(self, bucket: str, key: str) -> bool:
        raise NotImplementedError

    def delete(self, bucket: str, key: str) -> None:
        raise NotImplementedError

    def put_with(self, bucket: str, key: str, data: bytes, content_type: str, meta: dict[str, str]) -> None:
        raise NotImplementedError

    def content_info(self, bucket: str, key: str) -> tuple[str, dict[str, str]]:
        """(Content-Type, user metadata without the x-oss-meta- prefix)."""
        raise NotImplementedError

    def copy(self, bucket: str, src: str, dst: str) -> None:
        raise NotImplementedError

    def get_if(self, bucket: str, key: str, headers: dict[str, str]) -> bytes:
        raise NotImplementedError

    def append(self, bucket: str, key: str, position: int, data: bytes) -> int:
        """Append ``data`` at ``position``; the next position."""
        raise NotImplementedError

    def delete_many(self, bucket: str, keys: list[str]) -> list[str]:
        """DeleteMultipleObjects (verbose); the keys the answer lists as deleted."""
        raise NotImplementedError

    def delete_many_quiet(self, bucket: str, keys: list[str]) -> list[str]:
        """DeleteMultipleObjects with Quiet; what the answer lists (nothing, when all went well)."""
        raise NotImplementedError

    # listing
    def list_pages(
        self, bucket: str, *, v2: bool, prefix: str, delimiter: str, max_keys: int, start_after: str = ""
    ) -> list[Page]:
        """Every page, fetched with the client's own marker / continuation-token handling."""
        raise NotImplementedError

    def list_all(self, bucket: str, prefix: str) -> list[str]:
        """Every key under ``prefix`` through the client's own iterator, one key a page (so every key, odd
        ones too, is once a marker or continuation token), or through its file-system walk."""
        raise NotImplementedError

    # multipart
    def initiate(self, bucket: str, key: str) -> str:
        raise NotImplementedError

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> str:
        raise NotImplementedError

    def upload_part_copy(
        self, bucket: str, key: str, upload_id: str, number: int, src: str, start: int, end: int
    ) -> str:
        raise NotImplementedError

    def list_parts(self, bucket: str, key: str, upload_id: str, max_parts: int) -> list[list[int]]:
        """Pages of part numbers."""
        raise NotImplementedError

    def list_uploads(self, bucket: str, prefix: str, max_uploads: int) -> list[list[tuple[str, str]]]:
        """Pages of (key, upload ID)."""
        raise NotImplementedError

    def complete(self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]) -> str:
        """The object's ETag."""
        raise NotImplementedError

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        raise NotImplementedError

    # files
    def upload_file(self, bucket: str, key: str, path: Path, part_size: int) -> None:
        """Upload through the client's multipart file uploader."""
        raise NotImplementedError

    def download_file(self, bucket: str, key: str, path: Path, part_size: int) -> None:
        """Download through the client's ranged file downloader."""
        raise NotImplementedError

    def resumable_upload(self, job: Transfer) -> None:
        """Upload ``job.path`` with checkpoints in ``job.checkpoints``, reporting to ``job.progress``."""
        raise NotImplementedError

    def resumable_download(self, job: Transfer) -> None:
        raise NotImplementedError

    # presigned URLs and what is refused
    def presign_get(self, bucket: str, key: str) -> str:
        raise NotImplementedError

    def presign_put(self, bucket: str, key: str, content_type: str) -> tuple[str, dict[str, str]]:
        """URL and the headers the request must carry."""
        raise NotImplementedError

    def acls(self, bucket: str, key: str) -> tuple[str, str]:
        """(GetBucketAcl's grant, GetObjectAcl's grant)."""
        raise NotImplementedError

    def unserved(self, bucket: str, key: str) -> dict[str, Callable[[], Any]]:
        """Calls of this client for the operations in UNSERVED, by OSS operation name."""
        raise NotImplementedError


def implements(adapter: type[ObjectClient], method: str) -> bool:
    return getattr(adapter, method) is not getattr(ObjectClient, method)


def expect_failure(client: ObjectClient, call: Callable[[], Any]) -> Failure:
    try:
        call()
    except Exception as exc:
        failure = client.failure(exc)
        if failure is None:
            raise
        return failure
    raise AssertionError("the call succeeded; a service error was expected")


def payload(size: int, seed: str) -> bytes:
    """Deterministic bytes (a failed comparison is reproducible)."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


# -- the scenarios ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    needs: tuple[str, ...]
    run: Callable[[ObjectClient, Env], None]
    oss_errors: bool  # asserts OSS error codes, which only a client that passes them on can show

    def runs_on(self, adapter: type[ObjectClient]) -> bool:
        return all(implements(adapter, m) for m in self.needs) and (adapter.oss_errors or not self.oss_errors)


SCENARIOS: list[Scenario] = []
ScenarioFn = Callable[[ObjectClient, Env], None]


def scenario(*needs: str, oss_errors: bool = False) -> Callable[[ScenarioFn], ScenarioFn]:
    def register(fn: ScenarioFn) -> ScenarioFn:
        SCENARIOS.append(Scenario(fn.__name__, needs, fn, oss_errors))
        return fn

    return register


@scenario("create_bucket", "delete_bucket")
def bucket_crud(client: ObjectClient, env: Env) -> None:
    name = env.fresh_bucket_name("new")
    listed = implements(type(client), "list_buckets")
    client.create_bucket(name)
    assert env.store.bucket(name).region == REGION
    assert name in client.list_buckets() if listed else True
    if implements(type(client), "bucket_location"):
        assert client.bucket_location(name) == f"oss-{REGION}"
    client.delete_bucket(name)
    assert name not in [b.name for b in env.store.list_buckets(prefix=name)[0]]
    assert name not in client.list_buckets() if listed else True


@scenario("put", "get", "size", "exists", "delete")
def object_crud(client: ObjectClient, env: Env) -> None:
    data = payload(70_000, "crud")
    client.put(env.bucket, "dir/obj.bin", data)
    assert client.get(env.bucket, "dir/obj.bin") == data
    assert client.size(env.bucket, "dir/obj.bin") == len(data)
    assert client.exists(env.bucket, "dir/obj.bin")
    client.put(env.bucket, "dir/obj.bin", b"replaced")
    assert client.get(env.bucket, "dir/obj.bin") == b"replaced"
    client.delete(env.bucket, "dir/obj.bin")
    assert not client.exists(env.bucket, "dir/obj.bin")
    client.delete(env.bucket, "dir/obj.bin")  # deleting a missing key succeeds, as on OSS


@scenario("size", oss_errors=True)
def not_found_errors(client: ObjectClient, env: Env) -> None:
    missing_key = expect_failure(client, lambda: client.size(env.bucket, "no/such.key"))
    assert (missing_key.status, missing_key.code) == (404, "NoSuchKey")  # from HEAD's x-oss-err header
    missing_bucket = expect_failure(client, lambda: client.size("no-such-bucket-here", "k"))
    assert (missing_bucket.status, missing_bucket.code) == (404, "NoSuchBucket")


@scenario("put_with", "content_info", "get")
def metadata_round_trip(client: ObjectClient, env: Env) -> None:
    meta = {"origin": "camera-7", "take": "3"}
    client.put_with(env.bucket, "clip.mp4", b"\x00\x00\x00\x18ftyp", "video/mp4", meta)
    assert client.content_info(env.bucket, "clip.mp4") == ("video/mp4", meta)
    client.put_with(env.bucket, "clip.mp4", b"again", "video/quicktime", {})
    assert client.content_info(env.bucket, "clip.mp4") == ("video/quicktime", {})  # replaced, not merged


@scenario("put", "get_range")
def range_reads(client: ObjectClient, env: Env) -> None:
    data = payload(10_000, "range")
    client.put(env.bucket, "r.bin", data)
    assert client.get_range(env.bucket, "r.bin", 0, 9) == data[:10]
    assert client.get_range(env.bucket, "r.bin", 5000, 9999) == data[5000:]
    assert client.get_range(env.bucket, "r.bin", 9990, 20_000) == data[9990:]  # clamped to the end


@scenario("put", "get_if")
def conditional_get(client: ObjectClient, env: Env) -> None:
    data = b"conditional"
    client.put(env.bucket, "c.txt", data)
    etag = '"' + hashlib.md5(data).hexdigest().upper() + '"'
    assert client.get_if(env.bucket, "c.txt", {"If-Match": etag}) == data
    failed = expect_failure(client, lambda: client.get_if(env.bucket, "c.txt", {"If-Match": '"0000"'}))
    assert (failed.status, failed.code) == (412, "PreconditionFailed")
    not_modified = expect_failure(client, lambda: client.get_if(env.bucket, "c.txt", {"If-None-Match": etag}))
    assert not_modified.status == 304


@scenario("put", "copy", "get")
def copy_object(client: ObjectClient, env: Env) -> None:
    data = payload(30_000, "copy")
    client.put(env.bucket, "src/one.bin", data)
    client.copy(env.bucket, "src/one.bin", "dst/one copy.bin")
    assert client.get(env.bucket, "dst/one copy.bin") == data
    if implements(type(client), "put_with"):
        client.put_with(env.bucket, "src/meta.txt", b"m", "text/csv", {"k": "v"})
        client.copy(env.bucket, "src/meta.txt", "dst/meta.txt")
        assert client.content_info(env.bucket, "dst/meta.txt") == ("text/csv", {"k": "v"})


def _put_tree(client: ObjectClient, env: Env) -> None:
    for key in TREE:
        client.put(env.bucket, key, key.encode())
    client.put(env.bucket, "other.txt", b"outside the prefix")


def _flatten(pages: list[Page]) -> tuple[list[str], list[str]]:
    return [k for p in pages for k in p.keys], [c for p in pages for c in p.prefixes]


@scenario("put", "list_pages")
def list_v1_paged_with_delimiter(client: ObjectClient, env: Env) -> None:
    _put_tree(client, env)
    pages = client.list_pages(env.bucket, v2=False, prefix="tree/", delimiter="/", max_keys=2)
    assert len(pages) == 3  # 3 keys + 2 common prefixes, two a page
    assert _flatten(pages) == (["tree/a.txt", "tree/d.txt", ODD_KEY], ["tree/b/", "tree/c/"])
    whole = client.list_pages(env.bucket, v2=False, prefix="", delimiter="", max_keys=1000)
    assert _flatten(whole)[0] == sorted([*TREE, "other.txt"])


@scenario("put", "list_pages")
def list_v2_paged_with_delimiter(client: ObjectClient, env: Env) -> None:
    _put_tree(client, env)
    pages = client.list_pages(env.bucket, v2=True, prefix="tree/", delimiter="/", max_keys=2)
    assert len(pages) == 3
    assert _flatten(pages) == (["tree/a.txt", "tree/d.txt", ODD_KEY], ["tree/b/", "tree/c/"])
    after = client.list_pages(
        env.bucket, v2=True, prefix="tree/", delimiter="", max_keys=3, start_after="tree/b/2.txt"
    )
    assert _flatten(after)[0] == ["tree/c/3.txt", "tree/d.txt", ODD_KEY]
    assert len(after) == 1


@scenario("put", "list_all")
def list_everything(client: ObjectClient, env: Env) -> None:
    _put_tree(client, env)
    assert sorted(client.list_all(env.bucket, "tree/")) == sorted(TREE)


@scenario("initiate", "upload_part", "list_parts", "list_uploads", "complete", "get")
def multipart_with_listings(client: ObjectClient, env: Env) -> None:
    parts = [payload(120_000, f"part{n}") for n in (1, 2, 3)]
    upload_id = client.initiate(env.bucket, "mp/video.bin")
    other = client.initiate(env.bucket, "mp/other.bin")
    etags = [
        client.upload_part(env.bucket, "mp/video.bin", upload_id, n, data) for n, data in enumerate(parts, 1)
    ]
    assert client.list_parts(env.bucket, "mp/video.bin", upload_id, max_parts=2) == [[1, 2], [3]]
    uploads = client.list_uploads(env.bucket, "mp/", max_uploads=1)
    assert len(uploads) == 2
    assert sorted(u for page in uploads for u in page) == sorted(
        [("mp/video.bin", upload_id), ("mp/other.bin", other)]
    )
    etag = client.complete(env.bucket, "mp/video.bin", upload_id, list(enumerate(etags, 1)))
    assert etag.strip('"').endswith("-3")
    assert client.get(env.bucket, "mp/video.bin") == b"".join(parts)
    assert env.store.head(env.bucket, "mp/video.bin").kind == "Multipart"
    assert [u for page in client.list_uploads(env.bucket, "mp/", max_uploads=10) for u in page] == [
        ("mp/other.bin", other)
    ]


@scenario("initiate", "upload_part", "list_uploads", "list_parts", "abort")
def multipart_abort(client: ObjectClient, env: Env) -> None:
    upload_id = client.initiate(env.bucket, "gone.bin")
    client.upload_part(env.bucket, "gone.bin", upload_id, 1, b"part")
    client.abort(env.bucket, "gone.bin", upload_id)
    assert client.list_uploads(env.bucket, "", max_uploads=10) in ([], [[]])
    failure = expect_failure(client, lambda: client.list_parts(env.bucket, "gone.bin", upload_id, 10))
    assert (failure.status, failure.code) == (404, "NoSuchUpload")


@scenario("put", "initiate", "upload_part_copy", "complete", "get")
def upload_part_copy(client: ObjectClient, env: Env) -> None:
    data = payload(250_000, "partcopy")
    client.put(env.bucket, "whole.bin", data)
    upload_id = client.initiate(env.bucket, "joined.bin")
    first = client.upload_part_copy(env.bucket, "joined.bin", upload_id, 1, "whole.bin", 0, 149_999)
    second = client.upload_part_copy(env.bucket, "joined.bin", upload_id, 2, "whole.bin", 150_000, 249_999)
    client.complete(env.bucket, "joined.bin", upload_id, [(1, first), (2, second)])
    assert client.get(env.bucket, "joined.bin") == data


@scenario("upload_file", "download_file")
def file_transfer_multipart(client: ObjectClient, env: Env) -> None:
    src, back = env.tmp / "src.bin", env.tmp / "back.bin"
    src.write_bytes(payload(900_000, "transfer"))
    client.upload_file(env.bucket, "big/file.bin", src, part_size=256 << 10)
    head = env.store.head(env.bucket, "big/file.bin")
    assert (head.kind, head.etag.strip('"')[-2:]) == ("Multipart", "-4")
    client.download_file(env.bucket, "big/file.bin", back, part_size=256 << 10)
    assert back.read_bytes() == src.read_bytes()


CRASHED = 17


def crash_midway(transfer: Callable[[Callable[[int], None]], None], after_bytes: int) -> None:
    """Run ``transfer(progress)`` in a forked child that dies (``os._exit``: no cleanup, as on a kill) once
    ``progress`` reports ``after_bytes``; what it leaves behind is what a resume starts from."""

    def child() -> None:
        def progress(done: int) -> None:
            if done >= after_bytes:
                os._exit(CRASHED)

        transfer(progress)
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode == CRASHED, f"the transfer ended with {process.exitcode} before the crash point"


@scenario("resumable_upload", "list_uploads")
def resumable_upload_resumes(client: ObjectClient, env: Env) -> None:
    src, checkpoints = env.tmp / "src.bin", env.tmp / "ckpt"
    checkpoints.mkdir()
    src.write_bytes(payload(1_100_000, "resume-up"))
    part = 200 << 10
    job = partial(Transfer, env.bucket, "ru.bin", src, part, checkpoints)
    crash_midway(lambda progress: client.resumable_upload(job(progress)), 2 * part)
    pending = [u for page in client.list_uploads(env.bucket, "ru.bin", 10) for u in page]
    assert len(pending) == 1 and any(checkpoints.iterdir())  # a real upload and a checkpoint were left
    uploaded = {p.number for p in MultipartUploads(env.store).list_parts(env.bucket, "ru.bin", pending[0][1])}
    assert len(uploaded) >= 2
    client.resumable_upload(job(lambda done: None))
    assert env.store.path_for(env.bucket, "ru.bin").read_bytes() == src.read_bytes()
    assert env.store.head(env.bucket, "ru.bin").kind == "Multipart"
    assert [u for page in client.list_uploads(env.bucket, "ru.bin", 10) for u in page] == []


@scenario("put", "resumable_download")
def resumable_download_resumes(client: ObjectClient, env: Env) -> None:
    data = payload(1_100_000, "resume-down")
    client.put(env.bucket, "rd.bin", data)
    dest, checkpoints = env.tmp / "rd.bin", env.tmp / "ckpt"
    checkpoints.mkdir()
    part = 200 << 10
    job = partial(Transfer, env.bucket, "rd.bin", dest, part, checkpoints)
    crash_midway(lambda progress: client.resumable_download(job(progress)), 2 * part)
    assert dest.read_bytes() != data if dest.exists() else True
    assert any(checkpoints.iterdir())
    client.resumable_download(job(lambda done: None))
    assert dest.read_bytes() == data


@scenario("append", "get")
def append_object(client: ObjectClient, env: Env) -> None:
    assert client.append(env.bucket, "log.txt", 0, b"one,") == 4
    assert client.append(env.bucket, "log.txt", 4, b"two") == 7
    assert client.get(env.bucket, "log.txt") == b"one,two"
    assert env.store.head(env.bucket, "log.txt").kind == "Appendable"
    wrong = expect_failure(client, lambda: client.append(env.bucket, "log.txt", 3, b"x"))
    assert (wrong.status, wrong.code) == (409, "PositionNotEqualToLength")


BATCH = ["del/a.txt", "del/b c.txt", "del/100%.txt", "del/ü&<.txt"]


@scenario("put", "delete_many", "exists")
def batch_delete(client: ObjectClient, env: Env) -> None:
    for key in BATCH:
        client.put(env.bucket, key, b"x")
    deleted = client.delete_many(env.bucket, [*BATCH, "del/never-there"])
    assert sorted(deleted) == sorted([*BATCH, "del/never-there"])  # a missing key counts as deleted
    assert not any(client.exists(env.bucket, key) for key in BATCH)


@scenario("put", "delete_many_quiet", "exists")
def batch_delete_quiet(client: ObjectClient, env: Env) -> None:
    for key in BATCH:
        client.put(env.bucket, key, b"x")
    assert client.delete_many_quiet(env.bucket, BATCH) == []
    assert not any(client.exists(env.bucket, key) for key in BATCH)


@scenario("put", "presign_get", "presign_put", "get")
def presigned_urls(client: ObjectClient, env: Env) -> None:
    client.put(env.bucket, "share/a b.txt", b"shared")
    got = requests.get(client.presign_get(env.bucket, "share/a b.txt"), timeout=10)
    assert (got.status_code, got.content) == (200, b"shared")
    url, headers = client.presign_put(env.bucket, "share/upload.csv", "text/csv")
    put = requests.put(url, data=b"a,b\n", headers=headers, timeout=10)
    assert put.status_code == 200, put.text
    assert client.get(env.bucket, "share/upload.csv") == b"a,b\n"
    assert env.store.head(env.bucket, "share/upload.csv").content_type == "text/csv"
    tampered = requests.get(url, timeout=10)  # signed for PUT, used for GET
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text


@scenario("put", "acls")
def acl_reads(client: ObjectClient, env: Env) -> None:
    """What the engine really does: buckets are private (signed requests only), objects inherit."""
    client.put(env.bucket, "k.txt", b"k")
    assert client.acls(env.bucket, "k.txt") == ("private", "default")


@scenario("put", "unserved")
def unserved_operations_refused(client: ObjectClient, env: Env) -> None:
    client.put(env.bucket, "k.txt", b"k")
    calls = client.unserved(env.bucket, "k.txt")
    assert sorted(calls) == sorted(UNSERVED)
    for operation, call in calls.items():
        failure = expect_failure(client, call)
        assert (failure.status, failure.code) == (501, "NotImplemented"), operation
        assert operation in failure.message and "local engine" in failure.message


def matrix_test(adapter: type[ObjectClient]) -> Callable[..., None]:
    """The conformance test for one client: every scenario its adapter can run, against the ``client``
    fixture of the calling module (an instance of ``adapter``)."""
    cases = [pytest.param(s, id=s.name) for s in SCENARIOS if s.runs_on(adapter)]

    @pytest.mark.parametrize("scenario", cases)
    def test_conformance(scenario: Scenario, client: ObjectClient, env: Env) -> None:
        scenario.run(client, env)

    return test_conformance
