"""Scheduling through the SDKs: priority order, pipeline limits, Cancel, and restart with jobs in flight.

Every job is a real SpeechDenoise job that the engine's fault injection holds for ``HOLD_S`` before
its algorithm starts, so a job is reliably still running while the test submits, cancels or restarts
(the denoiser itself is far faster than any sleep-free test could rely on).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice_models
from alibabacloud_tea_openapi.exceptions import ClientException

from airflow_iprod.local.config import FaultConfig
from airflow_iprod.local.oss_errors import OssError
from tests.conftest import EngineHandle, submit_to, upload_to, wait_for
from tests.engine_process import process_exists
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow
BLOCKER_SECONDS = 3.0
HOLD_S = 2.0
HELD = FaultConfig(job_latency_s=HOLD_S)


def _status(client: Any, job_id: str) -> dict[str, Any]:
    return client.query_iproduction_job(ice_models.QueryIProductionJobRequest(job_id=job_id)).body.to_map()


def _wait_status(client: Any, job_id: str, wanted: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = _status(client, job_id)
        if body["Status"] == wanted:
            return body
        assert time.monotonic() < deadline, f"{job_id} never reached {wanted}: {body}"
        time.sleep(0.02)


def _setup(handle: EngineHandle) -> tuple[Any, str, str]:
    blocker = upload_to(handle, noisy_tone_wav(BLOCKER_SECONDS), "s/blocker.wav")
    short = upload_to(handle, noisy_tone_wav(0.3), "s/short.wav")
    return handle.ice(), blocker, short


def _pid(handle: EngineHandle, job_id: str, timeout: float = 10) -> int:
    # The store says Analyzing a moment before the scheduler has spawned the worker process.
    deadline = time.monotonic() + timeout
    while (run := handle.engine.scheduler._running.get(job_id)) is None:
        assert time.monotonic() < deadline, f"{job_id} has no worker process"
        time.sleep(0.01)
    return run.proc.pid


def test_priority_then_fifo_order(make_engine: Any) -> None:
    # throttle off: the test polls five jobs faster than 100 Query/s
    handle = make_engine(workers=1, throttle_rate=0, faults=HELD)
    client, blocker, short = _setup(handle)
    first = submit_to(client, "ice", "SpeechDenoise", blocker, "oss://media/s/out/{source}.wav", priority=5)
    _wait_status(client, first, "Analyzing")
    order = [("p9", 9), ("p5a", 5), ("p3", 3), ("p5b", 5), ("p1", 1)]
    ids = {
        label: submit_to(
            client, "ice", "SpeechDenoise", short, f"oss://media/s/out/{{source}}-{label}.wav", priority=prio
        )
        for label, prio in order
    }
    assert _status(client, first)["Status"] == "Analyzing", "the blocker ended before all jobs were queued"
    assert all(_status(client, j)["Status"] == "Queuing" for j in ids.values())
    started: list[str] = []
    deadline = time.monotonic() + 90
    while len(started) < len(ids):
        for label, job_id in ids.items():
            if label not in started and _status(client, job_id)["Status"] != "Queuing":
                started.append(label)
        assert time.monotonic() < deadline, started
        time.sleep(0.05)
    assert started == ["p1", "p3", "p5a", "p5b", "p9"]
    for job_id in ids.values():
        assert wait_for(client, "ice", job_id, 60)["Status"] == "Success"
    label_of = {v: k for k, v in ids.items()}
    assert [label_of[j] for j in list(handle.engine.scheduler.started_order)[1:]] == started


def test_pipeline_limit_does_not_block_other_pipelines(make_engine: Any) -> None:
    handle = make_engine(workers=2, pipelines={"solo": 1}, faults=HELD)
    client, blocker, short = _setup(handle)
    a = submit_to(client, "ice", "SpeechDenoise", blocker, "oss://media/s/{source}-a.wav", pipeline_id="solo")
    _wait_status(client, a, "Analyzing")
    b = submit_to(client, "ice", "SpeechDenoise", short, "oss://media/s/{source}-b.wav", pipeline_id="solo")
    c = submit_to(client, "ice", "SpeechDenoise", short, "oss://media/s/{source}-c.wav")
    # The default pipeline's job runs on the second worker while "solo" (limit 1) keeps b waiting.
    _wait_status(client, c, "Analyzing")
    assert _status(client, a)["Status"] == "Analyzing"
    assert _status(client, b)["Status"] == "Queuing"
    assert wait_for(client, "ice", c, 30)["Status"] == "Success"
    assert wait_for(client, "ice", b, 90)["Status"] == "Success"
    assert _status(client, a)["Status"] == "Success"


def test_cancel_queued_and_running_jobs(make_engine: Any) -> None:
    handle = make_engine(workers=1, faults=HELD)
    client, blocker, short = _setup(handle)
    running = submit_to(client, "ice", "SpeechDenoise", blocker, "oss://media/s/c/{source}.wav")
    queued = submit_to(client, "ice", "SpeechDenoise", short, "oss://media/s/c/{source}.wav")
    _wait_status(client, running, "Analyzing")
    pid = _pid(handle, running)

    answer = client.cancel_iproduction_job(ice_models.CancelIProductionJobRequest(job_id=queued)).body
    assert "cancelled" in answer.message
    body = _status(client, queued)
    assert body["Status"] == "Fail" and json.loads(body["Result"])["Code"] == "Cancelled"

    start = time.monotonic()
    client.cancel_iproduction_job(ice_models.CancelIProductionJobRequest(job_id=running))
    body = _status(client, running)
    assert body["Status"] == "Fail" and json.loads(body["Result"])["Code"] == "Cancelled"
    assert time.monotonic() - start < 5
    assert not process_exists(pid), "the worker process of a cancelled job must be killed"
    with pytest.raises(OssError):
        handle.engine.objects.path_for("media", "s/c/blocker.wav")  # it never committed an output
    assert handle.engine.scheduler.running_ids() == []

    after = submit_to(client, "ice", "SpeechDenoise", short, "oss://media/s/c/{source}-after.wav")
    assert wait_for(client, "ice", after, 30)["Status"] == "Success"
    again = client.cancel_iproduction_job(ice_models.CancelIProductionJobRequest(job_id=after)).body
    assert "already finished" in again.message and "Success" in again.message
    assert _status(client, after)["Status"] == "Success"
    with pytest.raises(ClientException) as info:
        client.cancel_iproduction_job(ice_models.CancelIProductionJobRequest(job_id="no-such-job"))
    assert (info.value.status_code, info.value.code) == (404, "NotFound")


def test_restart_with_jobs_in_flight(make_engine: Any) -> None:
    handle = make_engine(workers=1, faults=HELD)
    client, blocker, short = _setup(handle)
    running = submit_to(client, "ice", "SpeechDenoise", blocker, "oss://media/s/r/{source}.wav")
    # Running before the second submit: were both queued when the dispatcher woke, the Priority 2 job
    # would rightly go first (seen once under load) and the restart would find the other one.
    _wait_status(client, running, "Analyzing")
    queued = submit_to(client, "ice", "SpeechDenoise", short, "oss://media/s/r/{source}.wav", priority=2)
    pid = _pid(handle, running)

    handle.restart()  # stop mid-job, start a new engine on the same data dir and port
    assert not process_exists(pid), "stopping the engine must stop its workers"
    assert running in handle.engine.requeued

    client = handle.ice()
    done_running = wait_for(client, "ice", running, 90)
    done_queued = wait_for(client, "ice", queued, 90)
    assert done_running["Status"] == "Success" and done_queued["Status"] == "Success"
    # The queued job (Priority 2) ran before the re-run of the interrupted one (Priority 6).
    assert list(handle.engine.scheduler.started_order)[:2] == [queued, running]
    assert handle.engine.objects.path_for("media", "s/r/blocker.wav").stat().st_size > 0
    assert handle.engine.objects.path_for("media", "s/r/short.wav").stat().st_size > 0
