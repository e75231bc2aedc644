"""No file that the demo, the engine or an Airflow run leaves behind holds the access key secret, except
files only their owner can read (mode 600: credentials.json, airflow-connection.json, the ready file).

Each test produces the files for real (the demo script end to end, the engine as a process running a
job, a DAG run against the session's engine), then reads every file under the directories involved.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.engine_process import ROOT, EngineProcess
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow


def _scan(roots: list[Path], secret: str) -> tuple[int, dict[Path, int]]:
    """(files read, {file holding the secret: its mode}) for every regular file under ``roots``."""
    needle, checked, holding = secret.encode(), 0, {}
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                info = path.lstat()
                if not stat.S_ISREG(info.st_mode):
                    continue
                checked += 1
                if needle in path.read_bytes():
                    holding[path] = stat.S_IMODE(info.st_mode)
    return checked, holding


def _assert_private(roots: list[Path], secret: str, allowed: set[str]) -> dict[Path, int]:
    checked, holding = _scan(roots, secret)
    print(f"\nsecret scan: {checked} files under {[str(r) for r in roots]}")
    for path, mode in sorted(holding.items()):
        print(f"  secret in {path} (mode {mode:o})")
    readable = {str(p): f"{m:o}" for p, m in holding.items() if m & 0o077}
    assert readable == {}, "the secret is in files others can read"
    assert {p.name for p in holding} <= allowed, holding
    assert checked > 0
    return holding


def test_demo_leaves_the_secret_only_in_private_files(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {**os.environ, "IPROD_DEMO_DIR": str(demo), "IPROD_DEMO_SKIP_SETUP": "1"}
    env.pop("AIRFLOW_HOME", None)  # the demo sets up its own
    run = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "summary" in run.stdout.lower() or "Done in" in run.stdout
    secret = json.loads((demo / "engine" / "credentials.json").read_text())["access_key_secret"]
    assert secret not in run.stdout and secret not in run.stderr  # what the user saw
    holding = _assert_private(
        [demo], secret, allowed={"credentials.json", "airflow-connection.json", "engine.json"}
    )
    assert demo / "engine.json" in holding  # the ready file: the demo read the connection from it
    logs = list((demo / "logs").iterdir())
    assert logs and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in logs), "logs are private"


def test_engine_process_leaves_the_secret_only_in_private_files(tmp_path: Path) -> None:
    from alibabacloud_ice20201109 import models as ice_models

    from tests.conftest import submit_to

    engine = EngineProcess.spawn(tmp_path, "e")  # a generated key, a job run to the end, a clean stop
    info = engine.wait_ready()
    source = engine.upload(noisy_tone_wav(0.5), "s/in.wav")
    job_id = submit_to(engine.ice(), "ice", "SpeechDenoise", source, "oss://media/s/out.wav")
    client, deadline = engine.ice(), time.monotonic() + 60
    while client.query_iproduction_job(
        ice_models.QueryIProductionJobRequest(job_id=job_id)
    ).body.status not in ("Success", "Fail"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert engine.stop(signal.SIGTERM) == 0
    private = {"credentials.json", "airflow-connection.json", engine.ready.name}
    holding = _assert_private([tmp_path], info["access_key_secret"], allowed=private)
    assert engine.out not in holding and engine.err not in holding  # the banner and the engine log


def test_airflow_run_and_session_engine_leave_the_secret_only_in_private_files(
    run_dag, local_engine, iprod_conn, upload, noisy_wav, airflow_db
) -> None:
    src = upload(noisy_wav, "secrets/talk.wav")
    dag_run = run_dag("iprod_test_single", conn=iprod_conn, src=src, out="oss://media/secrets")
    assert dag_run.state == "success"
    # The Airflow home the tests use (task logs, the metadata DB) and the session engine's data dir.
    _assert_private([airflow_db, local_engine.data_dir], local_engine.access_key_secret, allowed=set())
