"""``oss://`` as an Airflow ObjectStoragePath: ``airflow_iprod.fs.oss`` builds ``ossfs`` from an
``alibaba_cloud`` connection (keys, STS token, endpoint, default credential chain) and reads and writes
the local engine's objects over its real OSS API."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_iprod.fs import oss as oss_fs
from airflow_iprod.local.config import Credential

SRT = "1\n00:00:00,000 --> 00:00:01,500\nHello from the engine\n"


@pytest.fixture
def srt_url(upload: Any) -> str:
    return upload(SRT.encode(), "fs/out/talk.srt")


def test_object_storage_path_reads_lists_and_writes(iprod_conn: str, srt_url: str, local_engine: Any) -> None:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(srt_url, conn_id=iprod_conn)
    assert path.read_text() == SRT
    assert path.exists() and path.is_file() and path.stat().st_size == len(SRT.encode())
    folder = ObjectStoragePath("oss://media/fs/out/", conn_id=iprod_conn)
    assert [p.name for p in folder.iterdir()] == ["talk.srt"]
    written = folder / "notes.txt"
    written.write_text("published")
    store = local_engine.engine.objects
    assert store.path_for("media", "fs/out/notes.txt").read_text() == "published"
    assert sorted(p.name for p in folder.glob("*.txt")) == ["notes.txt"]


def test_options_for_a_local_engine_connection(iprod_conn: str, local_engine: Any) -> None:
    options = oss_fs.fs_options(iprod_conn)
    assert options == {
        "endpoint": f"http://{local_engine.endpoint}",  # the engine's own port, path-style
        "key": local_engine.access_key_id,
        "secret": local_engine.access_key_secret,
        "token": None,
    }


@pytest.mark.parametrize(
    ("extra", "endpoint"),
    [
        ({"endpoint": "ice.cn-beijing.aliyuncs.com"}, "https://oss-cn-beijing.aliyuncs.com"),
        ({"endpoint": "ice.cn-beijing.aliyuncs.com", "oss_endpoint": "oss-cn-beijing-internal.aliyuncs.com"},
         "https://oss-cn-beijing-internal.aliyuncs.com"),
        ({"endpoint": "ice.cn-beijing.aliyuncs.com", "oss_endpoint": "http://oss.example.test"},
         "http://oss.example.test"),
    ],
)  # fmt: skip
def test_cloud_endpoints(make_conn: Any, local_engine: Any, extra: dict[str, str], endpoint: str) -> None:
    conn = make_conn(local_engine, "iprod_cloud", region="cn-beijing", protocol=None, **extra)
    assert oss_fs.fs_options(conn)["endpoint"] == endpoint


def test_storage_options_override_the_connection(iprod_conn: str, srt_url: str) -> None:
    fs = oss_fs.get_fs(iprod_conn, {"default_cache_type": "none", "skip_instance_cache": True})
    assert fs.cat(srt_url.removeprefix("oss://")) == SRT.encode()


def test_sts_token_is_sent(make_conn: Any, local_engine: Any, srt_url: str, monkeypatch: Any) -> None:
    key_id, secret, token = "STS.iprodfs", "sts-secret-for-the-fs-test", "sts-token-fs"
    monkeypatch.setitem(local_engine.config.credentials, key_id, Credential(key_id, secret, token))
    conn = make_conn(
        local_engine, "iprod_sts", access_key_id=key_id, access_key_secret=secret, security_token=token
    )
    assert oss_fs.get_fs(conn, {"skip_instance_cache": True}).cat(srt_url[6:]) == SRT.encode()
    stale = make_conn(
        local_engine,
        "iprod_sts_stale",
        access_key_id=key_id,
        access_key_secret=secret,
        security_token="stale",
    )
    with pytest.raises(Exception, match=r"(?i)token|denied|403"):
        oss_fs.get_fs(stale, {"skip_instance_cache": True}).cat(srt_url[6:])


def test_default_credential_chain_without_keys(
    make_conn: Any, local_engine: Any, srt_url: str, monkeypatch: Any
) -> None:
    """No keys in the connection: the chain's first source, ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET (the
    credentials library reads them once at import, into ``auth_util``: set there, as a process started
    with them sees them)."""
    from alibabacloud_credentials.utils import auth_util

    monkeypatch.setattr(auth_util, "environment_access_key_id", local_engine.access_key_id)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", local_engine.access_key_secret)
    monkeypatch.setattr(auth_util, "environment_security_token", None)
    conn = make_conn(local_engine, "iprod_fs_keyless", access_key_id=None, access_key_secret=None)
    assert oss_fs.fs_options(conn)["key"] == local_engine.access_key_id
    assert oss_fs.get_fs(conn, {"skip_instance_cache": True}).cat(srt_url[6:]) == SRT.encode()
