"""MNS in the local engine: how soon a long poll returns after a send, and how soon a job's completion
message is in its queue after the job ends, through the official SDKs.

* ``wake``: a consumer holds ``BatchReceiveMessage(16, waitseconds=30)``; the producer sends one
  message; time from issuing SendMessage to the consumer's receive returning (N rounds).
* ``callback``: MPS jobs with ``NotifyUrl`` failed on purpose by the fault injection (no worker: only
  the engine's completion path is measured); the message's EnqueueTime minus the job's FinishTime
  (both the engine's clock), and the wall time from the job's Submit to the consumer holding its
  message. The 1-minute load average is printed: on 2 shared cores wall times mean little above 2.

Run from the repository root: ``.venv/bin/python bench/bench_mns_callbacks.py [--rounds 50]``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mns.account import Account
from mns.queue import Message, QueueMeta
from PIL import Image

from airflow_iprod.local.config import Credential, EngineConfig, FaultConfig
from airflow_iprod.local.engine import LocalEngine

KEY, SECRET = "LTAIbenchkey", "bench-secret"


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def wake(engine: LocalEngine, rounds: int) -> list[float]:
    producer = Account(f"http://{engine.endpoint}", KEY, SECRET).get_queue("bench-wake")
    producer.create(QueueMeta())
    consumer = Account(f"http://{engine.endpoint}", KEY, SECRET).get_queue("bench-wake")
    delays = []
    for _ in range(rounds):
        got: list[float] = []

        def receive(into: list[float] = got) -> None:
            consumer.batch_receive_message(16, 30)
            into.append(time.perf_counter())

        poller = threading.Thread(target=receive)
        poller.start()
        time.sleep(0.05)
        sent = time.perf_counter()  # from issuing SendMessage (its own round trip included)
        producer.send_message(Message("x"))
        poller.join()
        delays.append((got[0] - sent) * 1000)
    return delays


def callbacks(engine: LocalEngine, rounds: int) -> tuple[list[float], list[float]]:
    from alibabacloud_mts20140618 import models as mts
    from alibabacloud_mts20140618.client import Client
    from alibabacloud_tea_openapi.models import Config

    client = Client(
        Config(access_key_id=KEY, access_key_secret=SECRET, endpoint=engine.endpoint, protocol="http")
    )
    engine.objects.create_bucket("media", "cn-shanghai")
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "PNG")
    engine.objects.put_object("media", "in.png", io.BytesIO(buf.getvalue()), length=len(buf.getvalue()))
    queue = Account(f"http://{engine.endpoint}", KEY, SECRET).get_queue("bench-callbacks")
    queue.create(QueueMeta())
    engine_side, wall = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        request = mts.SubmitIProductionJobRequest(
            function_name="ImageH2V",
            input="oss://media/in.png",
            output="oss://media/out/{source}.png",
            notify_url="mns://1.mns.cn-shanghai.aliyuncs.com/queues/bench-callbacks",
        )
        job_id = client.submit_iproduction_job(request).body.job_id
        [message] = queue.batch_receive_message(16, 30)
        wall.append((time.perf_counter() - start) * 1000)
        engine_side.append(message.enqueue_time - engine.jobs.get(job_id).finish_time * 1000)
        queue.delete_message(message.receipt_handle)
    return engine_side, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = EngineConfig(
            data_dir=Path(tmp),
            credentials={KEY: Credential(KEY, SECRET)},
            faults=FaultConfig(fail_jobs=frozenset({"ImageH2V"})),
        )
        with LocalEngine(config) as engine:
            print(f"load average (1 min) {os.getloadavg()[0]:.1f}")
            print(f"long poll wake after a send ({args.rounds} rounds): {_ms(wake(engine, args.rounds))}")
            engine_side, wall = callbacks(engine, args.rounds)
            print(f"job end -> message in its queue, engine clock ({args.rounds} jobs): {_ms(engine_side)}")
            print(f"Submit -> consumer holds the completion message, wall: {_ms(wall)}")


if __name__ == "__main__":
    main()
