"""providers-alibaba's ``OSSHook`` against the engine, set up only through an Airflow connection (type oss,
bucket in schema, AK auth, the engine as endpoint), as a user would."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.local.clients.scenarios import Env, ObjectClient, matrix_test, payload
from tests.local.clients.test_oss_v2 import OssV2Client


class OssHookClient(ObjectClient):
    name = "OSSHook"

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self._tmp = Path(tempfile.mkdtemp(prefix="osshook-"))

    _failure = OssV2Client._failure  # the hook raises AirflowException from the SDK's error

    def create_bucket(self, bucket: str) -> None:
        self.hook.create_bucket(bucket_name=bucket)

    def delete_bucket(self, bucket: str) -> None:
        self.hook.delete_bucket(bucket_name=bucket)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        src = self._tmp / "put.bin"  # the hook puts bytes from a file (load_string takes text)
        src.write_bytes(data)
        self.hook.upload_local_file(key, str(src), bucket_name=bucket)

    def get(self, bucket: str, key: str) -> bytes:
        out = self._tmp / "get.bin"
        assert self.hook.download_file(key, str(out), bucket_name=bucket) == str(out)
        return out.read_bytes()

    def size(self, bucket: str, key: str) -> int:
        return self.hook.head_key(bucket, key).content_length

    def exists(self, bucket: str, key: str) -> bool:
        return self.hook.object_exists(key, bucket_name=bucket)

    def delete(self, bucket: str, key: str) -> None:
        self.hook.delete_object(key, bucket_name=bucket)

    def append(self, bucket: str, key: str, position: int, data: bytes) -> int:
        self.hook.append_string(bucket, data.decode(), key, position)  # returns nothing: ask for the size
        return self.size(bucket, key)


@pytest.fixture(scope="module")
def client(local_engine: Any) -> Iterator[OssHookClient]:
    from airflow.providers.alibaba.cloud.hooks.oss import OSSHook

    conn = {
        "conn_type": "oss",
        "schema": "media",
        "extra": {
            "auth_type": "AK",
            "access_key_id": local_engine.access_key_id,
            "access_key_secret": local_engine.access_key_secret,
            "region": "cn-shanghai",
            "endpoint": f"http://{local_engine.endpoint}",
        },
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_OSS_LOCAL_ENGINE", json.dumps(conn))
        yield OssHookClient(OSSHook(oss_conn_id="oss_local_engine"))


test_conformance = matrix_test(OssHookClient)


def test_text_helpers(client: OssHookClient, env: Env) -> None:
    hook = client.hook
    hook.load_string("texts/hello.txt", "héllo engine", bucket_name=env.bucket)
    assert hook.read_key(env.bucket, "texts/hello.txt") == "héllo engine"
    assert hook.key_exist(env.bucket, "texts/hello.txt")
    assert hook.head_key(env.bucket, "texts/hello.txt").content_type == "text/plain"


def test_large_file_goes_multipart_both_ways(client: OssHookClient, env: Env) -> None:
    """The hook's uploader and downloader use 6 MiB parts: just above that is two parts and two ranges."""
    src, back = env.tmp / "media.bin", env.tmp / "back.bin"
    src.write_bytes(payload((6 << 20) + 100_000, "hook-large"))
    client.hook.upload_local_file("media/media.bin", str(src), bucket_name=env.bucket)
    assert env.store.head(env.bucket, "media/media.bin").etag.endswith('-2"')
    assert client.hook.download_file("media/media.bin", str(back), bucket_name=env.bucket) == str(back)
    assert back.read_bytes() == src.read_bytes()


def test_delete_objects_in_one_call(client: OssHookClient, env: Env) -> None:
    keys = ["a.txt", "b c.txt", "100%.txt"]
    for key in keys:
        client.hook.load_string(key, key, bucket_name=env.bucket)
    client.hook.delete_objects(keys, bucket_name=env.bucket)
    assert not any(client.exists(env.bucket, key) for key in keys)
