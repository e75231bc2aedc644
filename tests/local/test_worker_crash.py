"""A worker process that dies (a real ``kill -9``) while the engine stays up is the machine failing, not
the algorithm: its job is queued again, up to ``worker_attempts`` runs, and completes once. Only a
failure the worker reports (outcome.json) ends a job in Fail at once.

Each job is a SpeechDenoise job the engine's fault injection holds for ``HOLD_S`` before its algorithm
starts, so the test reliably finds its worker process alive (via psutil, by its command line) to kill.
"""

from __future__ import annotations

import io
import os
import signal
import time
import wave
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice_models

from airflow_iprod.local.config import FaultConfig
from tests.conftest import EngineHandle, submit_to, upload_to
from tests.engine_process import wait_worker, worker_pids
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow
HOLD_S = 3.0


def _query(handle: EngineHandle, job_id: str) -> dict[str, Any]:
    request = ice_models.QueryIProductionJobRequest(job_id=job_id)
    return handle.ice().query_iproduction_job(request).body.to_map()


def _wait_finished(handle: EngineHandle, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (body := _query(handle, job_id))["Status"] not in ("Success", "Fail"):
        assert time.monotonic() < deadline, f"{job_id} still {body['Status']}"
        time.sleep(0.05)
    return body


def _submit(handle: EngineHandle, name: str) -> str:
    source = upload_to(handle, noisy_tone_wav(0.5), f"crash/{name}.wav")
    return submit_to(handle.ice(), "ice", "SpeechDenoise", source, f"oss://media/crash/{name}-out.wav")


def _kill_worker(handle: EngineHandle, killed: list[int]) -> None:
    pid = wait_worker(handle.data_dir, other_than=tuple(killed))
    os.kill(pid, signal.SIGKILL)
    killed.append(pid)


def test_worker_killed_once_is_retried_and_completes_once(make_engine: Any) -> None:
    handle = make_engine(workers=1, faults=FaultConfig(job_latency_s=HOLD_S))
    job_id = _submit(handle, "once")
    killed: list[int] = []
    _kill_worker(handle, killed)
    body = _wait_finished(handle, job_id)
    record = handle.engine.jobs.get(job_id)
    print(f"\nkill -9 of pid {killed[0]}: {body['Status']} after {record.attempts} attempts")
    assert body["Status"] == "Success", body
    assert record.attempts == 2
    assert list(handle.engine.scheduler.started_order).count(job_id) == 2
    assert worker_pids(handle.data_dir) == []
    time.sleep(0.5)  # nothing completes it a second time: the record stays as it was
    assert handle.engine.jobs.get(job_id).finish_time == record.finish_time
    assert _query(handle, job_id)["Status"] == "Success"


def test_worker_that_always_dies_fails_after_the_bounded_attempts(make_engine: Any) -> None:
    handle = make_engine(workers=1, faults=FaultConfig(job_latency_s=HOLD_S), worker_attempts=3)
    job_id = _submit(handle, "always")
    killed: list[int] = []
    for _ in range(3):
        _kill_worker(handle, killed)
    body = _wait_finished(handle, job_id)
    record = handle.engine.jobs.get(job_id)
    print(f"\nkill -9 of pids {killed}: {body['Status']} after {record.attempts} attempts: {record.message}")
    assert body["Status"] == "Fail" and record.code == "InternalError"
    assert record.attempts == 3 and len(set(killed)) == 3
    assert "died without reporting on each of its 3 attempts (last one killed by SIGKILL)" in record.message
    assert list(handle.engine.scheduler.started_order).count(job_id) == 3


def test_the_algorithms_own_failure_is_not_retried(make_engine: Any) -> None:
    handle = make_engine(workers=1)
    empty = io.BytesIO()  # a 16 kHz WAV header with no samples: Submit accepts it, the algorithm refuses it
    with wave.open(empty, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    source = upload_to(handle, empty.getvalue(), "crash/empty.wav")
    job_id = submit_to(handle.ice(), "ice", "SpeechDenoise", source, "oss://media/crash/bad-out.wav")
    body = _wait_finished(handle, job_id)
    assert body["Status"] == "Fail", body
    assert handle.engine.jobs.get(job_id).attempts == 1
