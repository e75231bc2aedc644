"""Local engine RPC speed through the official ICE SDK (run by hand: ``python bench/bench_local_engine.py``).

Prints median latencies of Query and Submit (ACS3 signing, keep-alive), Query throughput from 4 client
threads, and the Submit->Success wall time of a 1 s SpeechDenoise job (worker process start included).
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["NO_PROXY"] = "127.0.0.1,localhost"

from alibabacloud_ice20201109 import models as m
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi.models import Config

from airflow_iprod.local.config import Credential, EngineConfig
from airflow_iprod.local.engine import LocalEngine


def _wav(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    pcm = (
        0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(0).standard_normal(t.size)
    ) * 32767
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


def _client(endpoint: str) -> Client:
    return Client(Config(access_key_id="AK", access_key_secret="SK", endpoint=endpoint, protocol="http",
                         region_id="cn-shanghai"))  # fmt: skip


def _submit(client: Client, url: str) -> str:
    req = m.SubmitIProductionJobRequest(
        function_name="SpeechDenoise", input=m.SubmitIProductionJobRequestInput(type="OSS", media=url),
        output=m.SubmitIProductionJobRequestOutput(type="OSS", media="oss://media/bench/{source}-{timestamp}.wav"),
    )  # fmt: skip
    return client.submit_iproduction_job(req).body.job_id


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="iprod-bench-"))
    config = EngineConfig(
        data_dir=data, credentials={"AK": Credential("AK", "SK")}, throttle_rate=0, workers=2
    )
    engine = LocalEngine(config).start()
    engine.objects.create_bucket("media", "cn-shanghai")
    engine.objects.put_object("media", "bench/in.wav", io.BytesIO(_wav(1.0)))
    client = _client(engine.endpoint)
    url = "oss://media/bench/in.wav"
    job_id = _submit(client, url)

    def query() -> None:
        client.query_iproduction_job(m.QueryIProductionJobRequest(job_id=job_id))

    for _ in range(20):
        query()
    lat = []
    for _ in range(300):
        t = time.perf_counter()
        query()
        lat.append(time.perf_counter() - t)
    print(
        f"Query   median {statistics.median(lat) * 1000:.2f} ms  p95 {np.percentile(lat, 95) * 1000:.2f} ms"
    )

    sub = []
    ids = []
    for _ in range(30):
        t = time.perf_counter()
        ids.append(_submit(client, url))
        sub.append(time.perf_counter() - t)
    print(f"Submit  median {statistics.median(sub) * 1000:.2f} ms (validation, input probe, SQLite insert)")
    for jid in ids:
        client.cancel_iproduction_job(m.CancelIProductionJobRequest(job_id=jid))

    count, stop = [0], threading.Event()

    def hammer() -> None:
        own = _client(engine.endpoint)
        while not stop.is_set():
            own.query_iproduction_job(m.QueryIProductionJobRequest(job_id=job_id))
            count[0] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    time.sleep(3)
    stop.set()
    for th in threads:
        th.join()
    rate = count[0] / (time.perf_counter() - start)
    print(f"Query throughput, 4 client threads in one process: {rate:.0f} req/s")

    runs = []
    for _ in range(3):
        t = time.perf_counter()
        jid = _submit(client, url)
        while client.query_iproduction_job(m.QueryIProductionJobRequest(job_id=jid)).body.status not in (
            "Success", "Fail",
        ):  # fmt: skip
            time.sleep(0.02)
        runs.append(time.perf_counter() - t)
    print(f"Submit->Success, 1 s SpeechDenoise job: median {statistics.median(runs):.2f} s over 3 runs")
    engine.stop()


if __name__ == "__main__":
    main()
