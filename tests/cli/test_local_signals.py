"""SIGTERM and SIGINT stop the engine process cleanly whenever they arrive: as soon as the process can
catch them, while it builds the engine, right after it announces readiness, and while a job runs.
Clean means exit 0 and "stopped.", no worker process left, and the SQLite store closed (no -wal file
left, integrity ok): a restart on the same data dir requeues the interrupted job and completes it."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.engine_process import EngineProcess, wait_worker, worker_pids
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow
SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


def _assert_clean_exit(engine: EngineProcess, sig: int) -> None:
    code = engine.stop(sig)
    out, err = engine.out.read_text(), engine.err.read_text()
    assert code == 0, f"exit {code} after {signal.Signals(sig).name}; stderr: {err[-2000:]}"
    assert out.rstrip().endswith("stopped."), out
    assert "Traceback" not in err, err
    assert worker_pids(engine.data_dir) == [], "a worker process outlived the engine"
    db = engine.data_dir / "jobs.sqlite"
    if db.exists():  # every connection closed: SQLite checkpointed the WAL and removed it
        assert not Path(f"{db}-wal").exists(), "the job store was not closed"
        conn = sqlite3.connect(db)  # closed at once: an open reader would keep the next engine's WAL
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()


def _wait_handler(engine: EngineProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not engine.handles_sigterm():
        assert engine.proc.poll() is None, engine.err.read_text()
        assert time.monotonic() < deadline, "no SIGTERM handler within 30 s"
        time.sleep(0.001)


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("moment", ["first-handler", "starting-line", "mid-start", "ready-line"])
def test_signal_before_and_at_readiness_stops_cleanly(tmp_path: Path, sig: int, moment: str) -> None:
    engine = EngineProcess.spawn(tmp_path, "e")
    if moment == "first-handler":  # the earliest moment a process can catch anything at all
        _wait_handler(engine)
    elif moment == "starting-line":
        engine.wait_for("IProduction local engine starting")
    elif moment == "mid-start":  # while it opens the store, builds the engine, binds the port
        engine.wait_for("IProduction local engine starting")
        time.sleep(0.05)
    else:
        engine.wait_for("IProduction local engine listening")
    _assert_clean_exit(engine, sig)
    if moment == "ready-line":
        assert "Ctrl-C stops the engine." in engine.out.read_text() or engine.ready.exists()


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_while_a_job_runs_then_restart_completes_it(tmp_path: Path, sig: int) -> None:
    from alibabacloud_ice20201109 import models as ice_models

    from tests.conftest import submit_to

    engine = EngineProcess.spawn(tmp_path, "e", "--fault-job-hold-s", "60")
    engine.wait_ready()
    source = engine.upload(noisy_tone_wav(0.5), "sig/in.wav")
    job_id = submit_to(engine.ice(), "ice", "SpeechDenoise", source, "oss://media/sig/out.wav")
    worker = wait_worker(engine.data_dir)
    _assert_clean_exit(engine, sig)
    assert not Path(f"/proc/{worker}").exists() or worker not in worker_pids(engine.data_dir)

    again = EngineProcess.spawn(tmp_path, "e")  # same data dir, no hold: the job reruns and finishes
    again.wait_ready()
    assert "requeued 1 job(s) interrupted by the last shutdown" in again.out.read_text()
    client, deadline = again.ice(), time.monotonic() + 60
    while True:
        body = client.query_iproduction_job(ice_models.QueryIProductionJobRequest(job_id=job_id)).body
        if body.status in ("Success", "Fail"):
            break
        assert time.monotonic() < deadline, f"{job_id} still {body.status} after the restart"
        time.sleep(0.1)
    assert body.status == "Success", body.to_map()
    _assert_clean_exit(again, signal.SIGTERM)
