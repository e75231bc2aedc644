"""The CPU floor of one Query: what a signed keep-alive request costs before any scheduling, so the Query
path's figures (bench_query_path.py, bench_triggerer.py) can be read against what the libraries allow.

    PYTHONPATH=. .venv/bin/python bench/bench_query_floor.py [--requests 400] [--rounds 3] [--tls]

A local engine runs pinned to CPU 1; this process, pinned to CPU 0, sends requests one after another
(no concurrency, no scheduler) and reports its own CPU time (user+sys) per request, median over rounds:

* ``sign``: the SDK's ACS3 signature of a Query (``alibabacloud_tea_openapi.utils.Utils``), no I/O;
* ``aiohttp``, ``urllib3``, ``http.client``: a bare keep-alive GET of the engine's ``/-/stats`` through
  each client; the two synchronous ones in a thread pool, as an event loop would have to run them;
* ``query``: our whole signed Query (``hooks/query_client.py``), one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _engine(tmp: Path, tls: bool) -> tuple[subprocess.Popen, dict]:
    ready = tmp / "ready.json"
    cmd = ["taskset", "-c", "1", PY, "-m", "airflow_iprod.local", "--port", "0", "--workers", "1",
           "--data-dir", str(tmp / "engine"), "--ready-file", str(ready),
           "--fault-job-hold-s", "3600"]  # fmt: skip
    engine = subprocess.Popen([*cmd, *(["--tls"] if tls else [])], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    while not ready.exists():
        if engine.poll() is not None:
            raise SystemExit("the engine did not start")
        time.sleep(0.1)
    time.sleep(0.3)
    return engine, json.loads(ready.read_text())


async def _measure(info: dict, requests: int, rounds: int) -> dict[str, float]:
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    import aiohttp
    import urllib3
    from alibabacloud_tea_openapi.utils import Utils
    from darabonba.request import DaraRequest

    from airflow_iprod.hooks.iproduction import API_VERSIONS, IProductionHook
    from airflow_iprod.hooks.query_client import query_client

    extra = info["connection"]["extra"]
    tls, ca = extra["protocol"] == "https", extra.get("ca_bundle")
    host, port = info["endpoint"].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ca) if tls else None
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(2)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=2, ssl=ctx if tls else False),
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    url = f"{extra['protocol']}://{info['endpoint']}/-/stats"
    if tls:
        u3 = urllib3.HTTPSConnectionPool(host, int(port), maxsize=2, block=True, ssl_context=ctx)
        hc: http.client.HTTPConnection = http.client.HTTPSConnection(host, int(port), context=ctx)
    else:
        u3 = urllib3.HTTPConnectionPool(host, int(port), maxsize=2, block=True)
        hc = http.client.HTTPConnection(host, int(port))
    hook = IProductionHook("iprod_floor")
    job = _held_job(hook)
    client = query_client(await hook.asettings(), API_VERSIONS["ice"])
    client.pool.acquire()

    def sign() -> None:
        request = DaraRequest()
        request.method, request.pathname, request.query = "POST", "/", {"JobId": job}
        request.headers = {"host": info["endpoint"], "x-acs-version": "2020-11-09",
                           "x-acs-action": "QueryIProductionJob", "x-acs-date": Utils.get_timestamp(),
                           "x-acs-signature-nonce": Utils.get_nonce()}  # fmt: skip
        Utils.get_authorization(request, "ACS3-HMAC-SHA256", "e3b0", "key", "secret")

    async def signed() -> None:
        sign()

    async def via_aiohttp() -> None:
        async with session.get(url) as answer:
            await answer.read()

    async def via_urllib3() -> None:
        await loop.run_in_executor(pool, lambda: u3.request("GET", "/-/stats").data)

    def _hc() -> None:
        hc.request("GET", "/-/stats")
        hc.getresponse().read()

    async def via_http_client() -> None:
        await loop.run_in_executor(pool, _hc)

    async def query() -> None:
        await client.query(job)

    ways = {"sign": signed, "aiohttp": via_aiohttp, "urllib3": via_urllib3, "http.client": via_http_client,
            "query": query}  # fmt: skip
    out: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            await way()  # connections and caches warm
            start = _cpu()
            for _ in range(requests):
                await way()
            out[name].append(1000 * (_cpu() - start) / requests)
    await session.close()
    await client.pool.release()
    return {name: round(statistics.median(v), 3) for name, v in out.items()}


def _held_job(hook: object) -> str:
    """A job the engine holds Queuing (fault ``--fault-job-hold-s``): every Query is a full answer."""
    import io

    import alibabacloud_oss_v2 as oss
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000, dtype="float32"), 16000, format="WAV")
    hook.oss_client().put_object(
        oss.PutObjectRequest(bucket="media", key="floor/in.wav", body=buf.getvalue())
    )
    return hook.submit("SpeechDenoise", input="oss://media/floor/in.wav", output="oss://media/floor/o.wav")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="iprod-bench-floor-"))
    engine, info = _engine(tmp, args.tls)
    try:
        os.sched_setaffinity(0, {0})
        os.environ["AIRFLOW_CONN_IPROD_FLOOR"] = json.dumps(info["connection"])
        os.environ.setdefault("IPROD_TEST_AIRFLOW_HOME", str(tmp / "airflow"))
        sys.path.insert(0, str(ROOT))
        import tests.airflow_env  # noqa: F401 - the Airflow env the connection lives in

        figures = asyncio.run(_measure(info, args.requests, args.rounds))
        print(
            json.dumps({"load": round(os.getloadavg()[0], 1), "tls": args.tls, "cpu_ms_per_request": figures})
        )
    finally:
        engine.terminate()
        engine.wait(timeout=30)


if __name__ == "__main__":
    main()
