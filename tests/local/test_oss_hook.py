"""providers-alibaba's OSSHook against the engine's object API, set up only through an Airflow connection."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airflow_iprod.local.config import Credential
from tests.local.oss_server import from_engine

AK, SK = "LTAIhookkey0001", "hook-secret-0001"


@pytest.mark.slow
def test_oss_hook_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_engine: object) -> None:
    from airflow.providers.alibaba.cloud.hooks.oss import OSSHook

    server = from_engine(local_engine, Credential(AK, SK))
    # the engine's own HTTP server (tests/conftest.py), in this process
    # The connection a user would create: type oss, bucket in schema, AK auth, the engine as endpoint.
    conn = {
        "conn_type": "oss",
        "schema": "hook-bucket",
        "extra": {
            "auth_type": "AK",
            "access_key_id": AK,
            "access_key_secret": SK,
            "region": "cn-shanghai",
            "endpoint": server.endpoint,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_OSS_LOCAL_ENGINE", json.dumps(conn))
    hook = OSSHook(oss_conn_id="oss_local_engine")
    hook.create_bucket()
    hook.load_string("texts/hello.txt", "héllo engine")
    assert hook.read_key(None, "texts/hello.txt") == "héllo engine"
    assert hook.key_exist(None, "texts/hello.txt") and hook.object_exists("texts/hello.txt")
    assert not hook.object_exists("texts/missing.txt")

    src = tmp_path / "media.bin"
    src.write_bytes(os.urandom(8 << 20))  # above the 6 MiB part size: multipart upload + ranged download
    hook.upload_local_file("media/media.bin", str(src))
    assert hook.head_key(None, "media/media.bin").content_length == src.stat().st_size
    out = tmp_path / "back.bin"
    assert hook.download_file("media/media.bin", str(out)) == str(out)
    assert out.read_bytes() == src.read_bytes()

    hook.append_string(None, "one,", "log.txt", 0)
    hook.append_string(None, "two", "log.txt", 4)
    assert hook.read_key(None, "log.txt") == "one,two"

    hook.delete_objects(["texts/hello.txt", "media/media.bin"])
    hook.delete_object("log.txt")
    assert not hook.object_exists("texts/hello.txt")
    hook.delete_bucket()
    assert "hook-bucket" not in [b.name for b in server.store.list_buckets()[0]]
