"""CPU per Query and connections opened: the trigger's pooled Query path against a naive poller on the
official SDK's async client, side by side, over HTTP and HTTPS, against a real local engine process.

    PYTHONPATH=. .venv/bin/python bench/bench_query_path.py [--jobs 200] [--seconds 20] [--qps 40]

The engine runs pinned to CPU 1 (``taskset``), each poller in its own process pinned to CPU 0, so the
engine's work is not counted. Jobs stay Queuing (one worker, held by the job-latency fault), so every
Query is a real, full answer. Each poller waits on all jobs at ``--qps`` for ``--seconds``; it reports
its own process CPU time (user+sys) per Query answered, and the engine counts the TCP connections.
Rounds alternate lean/naive; the figures are medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")

POLLER = r"""
import asyncio, json, os, resource, sys, time
mode, conn_id = sys.argv[1], sys.argv[2]
qps, seconds, ids = float(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
WARM = 3.0  # seconds before measuring: connections, credentials and first polls are set up by then
os.environ["AIRFLOW__IPROD__QUERY_QPS"] = str(qps)
import tests.airflow_env  # the Airflow env the connection lives in
from airflow_iprod.hooks.iproduction import IProductionHook
from airflow_iprod.triggers.iproduction import IProductionJobTrigger
from airflow_iprod.triggers.poll_scheduler import poll_scheduler
from alibabacloud_ice20201109 import models

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

async def lean(count):
    triggers = [IProductionJobTrigger(j, conn_id, poll_interval=0.0, timeout=seconds + WARM) for j in ids]
    async def one(t):
        async for _ in t.run():
            return
    count.append(lambda: poll_scheduler().sent)
    await asyncio.gather(*(one(t) for t in triggers))

async def naive(count):
    client = IProductionHook(conn_id).get_conn()
    gap, nxt, end = 1.0 / qps, time.monotonic(), time.monotonic() + seconds + WARM
    lock, sent = asyncio.Lock(), [0]
    count.append(lambda: sent[0])
    async def one(job):
        nonlocal nxt
        while time.monotonic() < end:
            async with lock:  # the same pacing as the trigger's budget
                wait = nxt - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                nxt = max(nxt, time.monotonic()) + gap
            if time.monotonic() >= end:
                return
            sent[0] += 1
            await client.query_iproduction_job_async(models.QueryIProductionJobRequest(job_id=job))
    await asyncio.gather(*(one(j) for j in ids))

async def main():
    count = []
    work = asyncio.ensure_future(lean(count) if mode == "lean" else naive(count))
    await asyncio.sleep(WARM)
    cpu0, n0 = cpu(), count[0]()
    await work
    print(json.dumps({"cpu_s": cpu() - cpu0, "queries": count[0]() - n0}))

asyncio.run(main())
"""


def stats(endpoint: str, scheme: str, ca: str | None) -> dict:
    import ssl

    ctx = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(f"{scheme}://{endpoint}/-/stats", context=ctx, timeout=10) as r:
        return json.loads(r.read())


def run(tls: bool, args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="iprod-bench-q-"))
    ready = tmp / "ready.json"
    cmd = [
        "taskset",
        "-c",
        "1",
        PY,
        "-m",
        "airflow_iprod.local",
        "--port",
        "0",
        "--workers",
        "1",
        "--data-dir",
        str(tmp / "data"),
        "--ready-file",
        str(ready),
        "--fault-job-hold-s",
        "3600",
    ]
    if tls:
        cmd.append("--tls")
    log = open(tmp / "engine.log", "wb")  # noqa: SIM115 - closed with the process
    engine = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        while not ready.exists():
            if engine.poll() is not None:
                raise SystemExit(
                    f"the engine exited with {engine.returncode}: {(tmp / 'engine.log').read_text()[-2000:]}"
                )
            time.sleep(0.1)
        time.sleep(0.2)
        info = json.loads(ready.read_text())
        extra = info["connection"]["extra"]
        endpoint, scheme, ca = info["endpoint"], extra["protocol"], extra.get("ca_bundle")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AIRFLOW_CONN_IPROD_BENCH": json.dumps(info["connection"]),
            "NO_PROXY": "127.0.0.1,localhost",
        }
        ids = submit_jobs(env, args.jobs)
        rounds: dict[str, list[dict]] = {"lean": [], "naive": []}
        for _ in range(args.rounds):
            for mode in ("lean", "naive"):
                before = stats(endpoint, scheme, ca)
                out = subprocess.run(
                    [
                        "taskset",
                        "-c",
                        "0",
                        PY,
                        "-c",
                        POLLER,
                        mode,
                        "iprod_bench",
                        str(args.qps),
                        str(args.seconds),
                        json.dumps(ids),
                    ],
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                _check(out)
                after = stats(endpoint, scheme, ca)
                measured = json.loads(out.stdout.strip().splitlines()[-1])  # steady state, after warm-up
                served = after["actions"]["QueryIProductionJob"] - before["actions"].get(
                    "QueryIProductionJob", 0
                )
                conns = after["connections"] - before["connections"] - 1  # less our own /-/stats call
                rounds[mode].append(
                    {
                        "cpu_ms_per_query": 1000 * measured["cpu_s"] / measured["queries"],
                        "queries": served,
                        "connections": conns,
                        "max_per_second": after["max_per_second"]["QueryIProductionJob"],
                    }
                )
        return {m: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for m, rs in rounds.items()}
    finally:
        engine.terminate()
        engine.wait(timeout=30)


def submit_jobs(env: dict, n: int) -> list[str]:
    code = r"""
import io, json, sys
import numpy as np, soundfile as sf
import tests.airflow_env
from airflow_iprod.hooks.iproduction import IProductionHook
import alibabacloud_oss_v2 as oss
hook = IProductionHook("iprod_bench")
buf = io.BytesIO(); sf.write(buf, np.zeros(16000, dtype="float32"), 16000, format="WAV")
hook.oss_client().put_object(oss.PutObjectRequest(bucket="media", key="bench/in.wav", body=buf.getvalue()))
ids = [hook.submit("SpeechDenoise", input="oss://media/bench/in.wav", output=f"oss://media/bench/{i}.wav")
       for i in range(int(sys.argv[1]))]
print(json.dumps(ids))
"""
    out = subprocess.run(
        [PY, "-c", code, str(n)], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    _check(out)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check(out: subprocess.CompletedProcess[str]) -> None:
    if out.returncode != 0:
        raise SystemExit(f"{out.args[:3]} failed ({out.returncode}):\n{out.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--qps", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.1f}; {args.jobs} jobs, {args.qps:g} Query/s, {args.seconds:g} s, "
        f"median of {args.rounds} alternating rounds"
    )
    for tls in (False, True):
        result = run(tls, args)
        lean, naive = result["lean"], result["naive"]
        print(
            f"{'HTTPS' if tls else 'HTTP '}: lean {lean['cpu_ms_per_query']:.3f} ms CPU/Query, "
            f"{lean['connections']:.0f} connections for {lean['queries']:.0f} Queries | naive SDK "
            f"{naive['cpu_ms_per_query']:.3f} ms, {naive['connections']:.0f} connections for "
            f"{naive['queries']:.0f} | ratio {naive['cpu_ms_per_query'] / lean['cpu_ms_per_query']:.1f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
