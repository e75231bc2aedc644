"""Chaos with real processes: ``kill -9`` of the engine while jobs run and wait, then a restart on the
same data dir. Nothing is lost or duplicated: every submitted job completes once, the interrupted ones
after a rerun; the killed engine's workers do not outlive it. Prints its figures."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.engine_process import EngineProcess, wait_worker, worker_pids
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow
JOBS = 4


def test_kill_9_of_the_engine_mid_job_then_restart(tmp_path: Path) -> None:
    from alibabacloud_ice20201109 import models as ice_models

    from tests.conftest import submit_to

    engine = EngineProcess.spawn(tmp_path, "e", "--fault-job-hold-s", "30")
    engine.wait_ready()
    client = engine.ice()
    jobs = []
    for n in range(JOBS):  # one runs (held), the rest wait in the queue
        source = engine.upload(noisy_tone_wav(0.5, seed=n), f"chaos/in{n}.wav")
        jobs.append(submit_to(client, "ice", "SpeechDenoise", source, "oss://media/chaos/out/{source}.wav"))
    worker = wait_worker(engine.data_dir)
    engine.proc.send_signal(signal.SIGKILL)
    assert engine.proc.wait(timeout=10) == -signal.SIGKILL
    deadline = time.monotonic() + 10  # a worker notices its engine is gone within a second
    while worker_pids(engine.data_dir):
        assert time.monotonic() < deadline, "a worker outlived its killed engine"
        time.sleep(0.1)

    again = EngineProcess.spawn(tmp_path, "e")  # same data dir, no hold
    again.wait_ready()
    client, deadline, done = again.ice(), time.monotonic() + 120, {}
    while len(done) < JOBS:
        for job_id in jobs:
            body = client.query_iproduction_job(ice_models.QueryIProductionJobRequest(job_id=job_id)).body
            if body.status in ("Success", "Fail"):
                done[job_id] = body.status
        assert time.monotonic() < deadline, f"not finished after the restart: {set(jobs) - set(done)}"
        time.sleep(0.2)
    assert again.stop() == 0
    conn = sqlite3.connect(again.data_dir / "jobs.sqlite")
    try:
        rows = conn.execute("SELECT job_id, status, attempts FROM jobs").fetchall()
    finally:
        conn.close()
    succeeded = sum(1 for s in done.values() if s == "Success")
    print(
        f"\nengine kill -9 mid-job (pid {engine.proc.pid}, worker {worker}) + restart: jobs {JOBS}, "
        f"completed {succeeded}, lost {JOBS - len(done)}, duplicated {len(rows) - JOBS}, "
        f"attempts {sorted(a for _, _, a in rows)}"
    )
    assert succeeded == JOBS and len(rows) == JOBS
    assert sorted(a for _, _, a in rows) == [1] * (JOBS - 1) + [2]  # only the interrupted one reran
    assert "requeued 1 job(s) interrupted by the last shutdown" in again.out.read_text()
