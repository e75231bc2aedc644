"""A 50 MB object goes through PutObject and GetObject without ever being held in memory whole."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from airflow_iprod.local.config import Credential
from tests.local.oss_server import from_engine
from tests.local.test_oss_api import AK, SK, make_client

SIZE = 50 << 20


@pytest.mark.slow
def test_50mb_object_streams_both_ways(tmp_path: Path, local_engine: object) -> None:
    src = tmp_path / "big.bin"
    digest = hashlib.md5()
    with open(src, "wb") as fh:
        block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB, varied bytes
        for i in range(SIZE >> 20):
            chunk = bytes([i]) + block[1:]
            fh.write(chunk)
            digest.update(chunk)
    server = from_engine(local_engine, Credential(AK, SK))
    # the engine's own HTTP server (tests/conftest.py), in this process
    client = make_client(server.endpoint)
    client.put_bucket(oss.PutBucketRequest(bucket="big-bucket"))
    tracemalloc.start()
    try:
        with open(src, "rb") as body:
            put = client.put_object(oss.PutObjectRequest(bucket="big-bucket", key="big.bin", body=body))
        got = client.get_object(oss.GetObjectRequest(bucket="big-bucket", key="big.bin"))
        back = hashlib.md5()
        size = 0
        for chunk in got.body.iter_bytes(block_size=1 << 20):
            back.update(chunk)
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == SIZE and back.hexdigest() == digest.hexdigest()
    assert put.etag == f'"{digest.hexdigest().upper()}"'
    # Client and server run in this process: both together stayed far below the object's size.
    assert peak < 12 << 20, f"peak traced memory {peak / 2**20:.1f} MiB for a {SIZE >> 20} MiB object"
    stored = server.store.path_for("big-bucket", "big.bin")
    assert stored.stat().st_size == SIZE
