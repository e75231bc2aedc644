"""IProductionJobTrigger against the local engine: one event per outcome, transient errors survived."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_iprod.hooks.iproduction import IProductionHook
from airflow_iprod.local.config import FaultConfig
from airflow_iprod.triggers import rate_limit
from airflow_iprod.triggers.iproduction import IProductionJobTrigger
from tests.conftest import submit_to, upload_to


async def _events(trigger: IProductionJobTrigger) -> list[dict]:
    return [event.payload async for event in trigger.run()]


def _submit(handle, noisy_wav, key: str) -> str:
    src = upload_to(handle, noisy_wav, f"{key}/talk.wav")
    return submit_to(handle.ice(), "ice", "SpeechDenoise", src, f"oss://media/{key}/{{source}}-clean.wav")


def _queued_behind_a_long_job(make_engine, make_conn, noisy_wav, name: str):
    """A one-worker engine busy with a 40 s job, and our job queued behind it: (engine, conn_id, job id)."""
    engine = make_engine(workers=1)
    conn = make_conn(engine, f"iprod_trig_{name}")
    long_wav = upload_to(engine, _long_wav_bytes(noisy_wav, 40), f"{name}/long.wav")
    submit_to(engine.ice(), "ice", "SpeechDenoise", long_wav, f"oss://media/{name}/{{source}}-b.wav")
    return engine, conn, _submit(engine, noisy_wav, f"trig-{name}")


async def test_success_event_carries_the_normalised_job(local_engine, iprod_conn, noisy_wav):
    job_id = _submit(local_engine, noisy_wav, "trig-ok")
    events = await _events(IProductionJobTrigger(job_id, iprod_conn, poll_interval=0.2, timeout=60))
    assert len(events) == 1
    event = events[0]
    assert event["status"] == "success" and event["job_id"] == job_id
    assert event["job"]["status"] == "Success"
    assert event["job"]["output_files"] == ["oss://media/trig-ok/talk-clean.wav"]
    json.dumps(event)  # the payload is stored in the metadata DB: JSON-able


async def test_fail_event_has_the_service_reason(make_engine, make_conn, noisy_wav):
    engine = make_engine(
        faults=FaultConfig(fail_jobs=frozenset({"SpeechDenoise"}), fail_message="codec melted")
    )
    conn = make_conn(engine, "iprod_trig_fail")
    job_id = _submit(engine, noisy_wav, "trig-fail")
    (event,) = await _events(IProductionJobTrigger(job_id, conn, poll_interval=0.2, timeout=60))
    assert event["status"] == "failed"
    assert "codec melted" in event["message"] and event["job"]["error_message"] == "codec melted"


async def test_transient_errors_do_not_end_the_wait(make_engine, make_conn, noisy_wav):
    engine = make_engine(faults=FaultConfig(query_error_rate=0.6, seed=11))
    conn = make_conn(engine, "iprod_trig_flaky")
    job_id = _submit(engine, noisy_wav, "trig-flaky")
    (event,) = await _events(IProductionJobTrigger(job_id, conn, poll_interval=0.1, timeout=60))
    assert event["status"] == "success"


async def test_timeout_when_the_service_never_answers(make_engine, make_conn, noisy_wav):
    """Every Query fails with 503: no attempt is spent, the wait ends at end_time with a timeout."""
    engine = make_engine(faults=FaultConfig(query_error_rate=1.0))
    conn = make_conn(engine, "iprod_trig_down")
    job_id = _submit(engine, noisy_wav, "trig-down")
    start = time.monotonic()
    (event,) = await _events(IProductionJobTrigger(job_id, conn, poll_interval=0.1, timeout=1.5))
    assert event["status"] == "timeout" and "never answered" in event["message"]
    assert 1.4 <= time.monotonic() - start < 5


async def test_timeout_on_a_job_still_queued(make_engine, make_conn, noisy_wav):
    _, conn, job_id = _queued_behind_a_long_job(make_engine, make_conn, noisy_wav, "slow")
    (event,) = await _events(IProductionJobTrigger(job_id, conn, poll_interval=0.1, timeout=0.5))
    assert event["status"] == "timeout" and event["job"]["status"] in ("Queuing", "Analyzing")


async def test_non_transient_error_ends_with_error_event(iprod_conn):
    (event,) = await _events(IProductionJobTrigger("no-such-job", iprod_conn, poll_interval=0.1, timeout=10))
    assert event["status"] == "error" and event["error"]["code"] == "NotFound"
    assert event["error"]["request_id"]


async def test_throttling_without_budget_is_survived(make_engine, make_conn, noisy_wav, monkeypatch):
    engine = make_engine(throttle_rates={"QueryIProductionJob": 2.0})
    conn = make_conn(engine, "iprod_trig_thr")
    job_id = _submit(engine, noisy_wav, "trig-thr")
    hook = IProductionHook(conn, max_retries=30, backoff_base=0.1, backoff_cap=1.0)
    while not hook.query(job_id).is_terminal:
        await asyncio.sleep(0.3)
    monkeypatch.setenv(rate_limit.QPS_ENV, "1000")  # budget far above the service limit
    results = await asyncio.gather(
        *(_events(IProductionJobTrigger(job_id, conn, poll_interval=0.1, timeout=60)) for _ in range(8))
    )
    assert all(r[0]["status"] == "success" for r in results)


async def test_on_kill_cancels_the_job(make_engine, make_conn, noisy_wav):
    engine, conn, job_id = _queued_behind_a_long_job(make_engine, make_conn, noisy_wav, "kill")
    trigger = IProductionJobTrigger(job_id, conn, poll_interval=0.1, timeout=60)
    await trigger.on_kill()
    state = await IProductionHook(conn).aquery(job_id)
    assert state.status == "Fail" and state.error_code == "Cancelled"
    # cancel_on_kill=False leaves it alone (and cleanup, run on every exit, never cancels)
    other = _submit(engine, noisy_wav, "trig-kill2")
    keep = IProductionJobTrigger(other, conn, cancel_on_kill=False)
    await keep.on_kill()
    await keep.cleanup()
    assert (await IProductionHook(conn).aquery(other)).status in ("Queuing", "Analyzing", "Success")


def test_serialize_holds_conn_id_and_absolute_deadline_never_keys(local_engine, iprod_conn):
    trigger = IProductionJobTrigger("job-1", iprod_conn, api="ice", poll_interval=5, timeout=100)
    path, kwargs = trigger.serialize()
    assert path == "airflow_iprod.triggers.iproduction.IProductionJobTrigger"
    assert kwargs["conn_id"] == iprod_conn and abs(kwargs["end_time"] - (time.time() + 100)) < 5
    text = json.dumps(kwargs)
    assert local_engine.access_key_secret not in text and local_engine.access_key_id not in text
    again = IProductionJobTrigger(**kwargs)  # a triggerer restart rebuilds it: same deadline
    assert again.end_time == trigger.end_time


@pytest.mark.parametrize("api", ["mts"])
async def test_on_kill_on_mps_does_not_raise(iprod_conn, api):
    await IProductionJobTrigger("job-x", iprod_conn, api=api).on_kill()


def _long_wav_bytes(path, seconds: int) -> bytes:
    import io

    import numpy as np
    import soundfile as sf

    audio, rate = sf.read(path)
    buf = io.BytesIO()
    reps = int(np.ceil(seconds * rate / len(audio)))
    sf.write(buf, np.tile(audio, reps)[: seconds * rate], rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()
