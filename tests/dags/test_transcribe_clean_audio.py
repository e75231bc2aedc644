"""The asset-scheduled example under a real scheduler: ``airflow api-server``, ``scheduler`` (LocalExecutor),
``dag-processor`` and ``triggerer`` run the flagship on the local engine; its ``denoise`` task's output
WAV, recorded as an asset event through the task's alias, triggers ``iprod_transcribe_clean_audio``,
whose ASR job transcribes it. The Assets API (what the Assets page shows) lists every output file.

Costs four Airflow processes and two DAG runs (3-5 min on a busy 2-core machine), so it runs only with
``IPROD_SCHEDULER_TESTS=1``. ``dag.test()`` cannot show this: it creates no asset-triggered runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_env import REPO, connection_json

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("IPROD_SCHEDULER_TESTS") != "1",
        reason="runs a real scheduler, triggerer, dag-processor and api-server: set IPROD_SCHEDULER_TESTS=1",
    ),
]
FLAGSHIP, CONSUMER = "iprod_denoise_then_captions", "iprod_transcribe_clean_audio"
PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(what: str, check: Callable[[], Any], timeout: float, logs: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(2)
    tails = {p.name: p.read_text(errors="replace")[-2000:] for p in sorted(logs.glob("*.log"))}
    pytest.fail(f"{what} not within {timeout:.0f} s; log tails: {json.dumps(tails, indent=1)}")


@pytest.fixture
def airflow(tmp_path: Path, local_engine: Any) -> Iterator[Callable[[str, str, dict | None], Any]]:
    """The four processes on a fresh Airflow home, the example DAGs only; returns an API caller."""
    port = _free_port()
    home, logs = tmp_path / "home", tmp_path / "logs"
    logs.mkdir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {
                    "name": "iprod-examples",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(REPO / "dags")},
                }
            ]
        ),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "iprod-scheduler-test-only",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_IPROD_LOCAL": connection_json(local_engine),
        "IPROD_POLL_INTERVAL": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    started: list[subprocess.Popen] = []
    try:
        for name in PROCESSES:
            args = ["--port", str(port), "--host", "127.0.0.1"] if name == "api-server" else []
            with open(logs / f"{name}.log", "wb") as log:
                started.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "airflow", name, *args],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own group: its workers stop with it
                    )
                )
        base = f"http://127.0.0.1:{port}"

        def api(method: str, path: str, body: dict | None = None) -> Any:
            with urllib.request.urlopen(f"{base}/auth/token", timeout=30) as response:
                token = json.load(response)["access_token"]
            request = urllib.request.Request(
                f"{base}/api/v2{path}",
                data=None if body is None else json.dumps(body).encode(),
                method=method,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)

        def dags_parsed() -> bool:
            try:
                ids = {d["dag_id"] for d in api("GET", "/dags")["dags"]}
            except OSError:
                return False  # the api-server is still starting
            return {FLAGSHIP, CONSUMER} <= ids

        _wait("the api-server and the parsed example DAGs", dags_parsed, 240, logs)
        api.logs = logs  # type: ignore[attr-defined]
        yield api
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_flagship_outputs_trigger_the_transcription(airflow, tmp_path):
    logs = airflow.logs
    run = airflow(
        "POST", f"/dags/{FLAGSHIP}/dagRuns", {"logical_date": None, "conf": {"output_dir": str(tmp_path)}}
    )

    def finished(dag_id: str, run_type: str) -> dict | None:
        runs = [r for r in airflow("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"] if r["run_type"] == run_type]
        return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None

    flagship = _wait("the flagship run", lambda: finished(FLAGSHIP, "manual"), 600, logs)
    assert (flagship["dag_run_id"], flagship["state"]) == (run["dag_run_id"], "success")
    consumer = _wait(
        "the asset-triggered transcription", lambda: finished(CONSUMER, "asset_triggered"), 600, logs
    )
    assert consumer["state"] == "success"

    # what the Assets page lists: the flagship's WAV and SRT, and the transcript, each with its alias.
    # An asset created through an alias is listed once the scheduler's periodic orphan check activates it.
    def listed() -> dict[str, list[str]] | None:
        assets = {a["uri"]: [x["name"] for x in a["aliases"]] for a in airflow("GET", "/assets")["assets"]}
        return assets if len(assets) == 3 else None

    assets = _wait("three assets on the Assets page", listed, 300, logs)
    wav = next(u for u in assets if u.endswith("-clean.wav"))
    srt = next(u for u in assets if u.endswith("talk.srt"))
    assert assets[wav] == [f"iprod/{FLAGSHIP}/denoise"] and assets[srt] == [f"iprod/{FLAGSHIP}/captions"]
    assert assets["oss://media/transcripts/narration-clean.srt"] == [f"iprod/{CONSUMER}/transcribe"]

    # the transcription consumed the WAV's event, which names the job that wrote it
    consumed = airflow("GET", f"/dags/{CONSUMER}/dagRuns/{consumer['dag_run_id']}/upstreamAssetEvents")
    (event,) = consumed["asset_events"]
    assert event["uri"] == wav and event["source_dag_id"] == FLAGSHIP and event["source_task_id"] == "denoise"
    assert event["extra"]["FunctionName"] == "SpeechDenoise" and event["extra"]["conn_id"] == "iprod_local"
    # the transcript is ASR of the cleaned narration (pocketsphinx: allow for slips, not for a miss)
    shown = airflow(
        "GET",
        f"/dags/{CONSUMER}/dagRuns/{consumer['dag_run_id']}/taskInstances/show/xcomEntries/return_value",
    )["value"]
    (transcript,) = (json.loads(shown) if isinstance(shown, str) else shown).values()
    assert "pipeline" in transcript.lower() and "narration" in transcript.lower(), transcript
