"""PutObject / GetObject throughput of the local engine's object API for one 100 MB object (median of 3).

Run by hand: ``.venv/bin/python bench/oss_throughput.py``. Starts an engine on a temp data dir, talks to it
with ``alibabacloud_oss_v2`` over HTTP on 127.0.0.1 (client and engine on the same machine).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import alibabacloud_oss_v2 as oss

from airflow_iprod.local.config import Credential, EngineConfig
from airflow_iprod.local.engine import LocalEngine

SIZE_MB = 100


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.bin"
        src.write_bytes(os.urandom(SIZE_MB << 20))
        config = EngineConfig(data_dir=Path(tmp) / "engine", credentials={"AK": Credential("AK", "SK")})
        engine = LocalEngine(config).start()
        try:
            cfg = oss.config.load_default()
            cfg.credentials_provider = oss.credentials.StaticCredentialsProvider("AK", "SK")
            cfg.region, cfg.endpoint = "cn-shanghai", f"http://{engine.endpoint}"
            client = oss.Client(cfg)
            client.put_bucket(oss.PutBucketRequest(bucket="bench"))
            puts, gets = [], []
            for _ in range(3):
                t = time.perf_counter()
                with open(src, "rb") as body:
                    client.put_object(oss.PutObjectRequest(bucket="bench", key="obj", body=body))
                puts.append(SIZE_MB / (time.perf_counter() - t))
                t = time.perf_counter()
                got = client.get_object(oss.GetObjectRequest(bucket="bench", key="obj"))
                n = sum(len(c) for c in got.body.iter_bytes(block_size=1 << 20))
                gets.append(SIZE_MB / (time.perf_counter() - t))
                assert n == SIZE_MB << 20
        finally:
            engine.stop()
    for name, runs in (("PutObject", puts), ("GetObject", gets)):
        rounded = [round(x) for x in runs]
        print(f"{name} {SIZE_MB} MB: median {statistics.median(runs):.0f} MB/s (runs {rounded})")


if __name__ == "__main__":
    main()
