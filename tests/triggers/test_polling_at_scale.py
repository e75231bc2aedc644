"""Many triggers in one event loop against a real engine: the budget as the service counts it, one
Query per job however many triggers wait on it, keep-alive connections, HTTPS with the engine's CA."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest

from airflow_iprod.hooks.iproduction import IProductionHook
from airflow_iprod.hooks.query_client import MAX_CONNECTIONS, pool_for
from airflow_iprod.local.config import FaultConfig
from airflow_iprod.triggers import rate_limit
from airflow_iprod.triggers.iproduction import IProductionJobTrigger
from tests.conftest import submit_to, upload_to, wait_for


async def _events(trigger: IProductionJobTrigger) -> list[dict]:
    return [event.payload async for event in trigger.run()]


def _finished_job(engine, noisy_wav, key: str) -> str:
    src = upload_to(engine, noisy_wav, f"{key}/talk.wav")
    job_id = submit_to(engine.ice(), "ice", "SpeechDenoise", src, f"oss://media/{key}/{{source}}-c.wav")
    wait_for(engine.ice(), "ice", job_id)
    return job_id


async def test_triggers_waiting_on_one_job_share_one_query(make_engine, make_conn, noisy_wav):
    engine = make_engine()
    conn = make_conn(engine, "iprod_scale_share")
    job_id = _finished_job(engine, noisy_wav, "share")
    before = engine.engine.stats.actions["QueryIProductionJob"]
    results = await asyncio.gather(
        *(_events(IProductionJobTrigger(job_id, conn, poll_interval=0.2, timeout=60)) for _ in range(30))
    )
    assert all(r[0]["status"] == "success" for r in results)
    sent = engine.engine.stats.actions["QueryIProductionJob"] - before
    assert sent == 1, f"30 triggers on one job sent {sent} Queries"


async def test_budget_holds_in_every_sliding_second_at_the_service(make_engine, make_conn, monkeypatch):
    """60 triggers, each one Query (unknown JobIds end at once), budget 8/s: the engine never sees more
    than 8 in a second, all 60 come through, and they share keep-alive connections."""
    engine = make_engine()
    conn = make_conn(engine, "iprod_scale_budget")
    monkeypatch.setenv(rate_limit.QPS_ENV, "8")
    start = engine.engine.stats.snapshot()
    triggers = [IProductionJobTrigger(f"no-such-{i}", conn, poll_interval=0.1, timeout=60) for i in range(60)]
    results = await asyncio.gather(*(_events(t) for t in triggers))
    assert all(r[0]["status"] == "error" and r[0]["error"]["code"] == "NotFound" for r in results)
    stats = engine.engine.stats.snapshot()
    assert stats["actions"]["QueryIProductionJob"] - start["actions"].get("QueryIProductionJob", 0) == 60
    assert stats["max_per_second"]["QueryIProductionJob"] <= 8
    opened = stats["connections"] - start["connections"]
    assert opened <= MAX_CONNECTIONS, f"{opened} connections for 60 Queries"


async def test_status_is_logged_on_change_not_on_every_poll(make_engine, make_conn, noisy_wav, caplog):
    engine = make_engine(faults=FaultConfig(job_latency_s=2.0))
    conn = make_conn(engine, "iprod_scale_log")
    src = upload_to(engine, noisy_wav, "log/talk.wav")
    job_id = submit_to(engine.ice(), "ice", "SpeechDenoise", src, "oss://media/log/{source}-c.wav")
    with caplog.at_level(logging.INFO):
        (event,) = await _events(IProductionJobTrigger(job_id, conn, poll_interval=0.1, timeout=60))
    assert event["status"] == "success"
    lines = [r.getMessage() for r in caplog.records if job_id in r.getMessage() and " is " in r.getMessage()]
    polls = engine.engine.stats.actions["QueryIProductionJob"]
    assert polls >= 10 and len(lines) <= 2, (polls, lines)  # Queuing/Analyzing at most, once each


async def test_the_last_trigger_to_end_closes_the_pool(local_engine, iprod_conn):
    hook = IProductionHook(iprod_conn)
    (event,) = await _events(IProductionJobTrigger("no-such-job", iprod_conn, poll_interval=0.1, timeout=10))
    assert event["status"] == "error"
    pool = pool_for(await hook.asettings())
    assert pool._session is None and pool._users == 0


async def test_https_with_the_engines_ca(make_engine, make_conn, noisy_wav):
    """The cloud's protocol, locally: the trigger's pool and the SDK client both verify the engine's
    certificate against the CA the connection names; nothing switches verification off."""
    engine = make_engine(tls=True)
    ca = str(engine.engine.ca_file)
    conn = make_conn(engine, "iprod_scale_tls", protocol="https", ca_bundle=ca)
    # setup only: the object goes straight into the store (the OSS clients over TLS are not this test)
    engine.engine.objects.put_object("media", "tls/talk.wav", io.BytesIO(noisy_wav.read_bytes()))
    src = "oss://media/tls/talk.wav"
    hook = IProductionHook(conn)
    job_id = hook.submit("SpeechDenoise", input=src, output="oss://media/tls/{source}-c.wav")
    (event,) = await _events(IProductionJobTrigger(job_id, conn, poll_interval=0.2, timeout=60))
    assert event["status"] == "success"
    assert engine.engine.stats.tls_connections >= 1


async def test_https_without_the_ca_is_refused_clearly(make_engine, make_conn):
    engine = make_engine(tls=True)
    conn = make_conn(engine, "iprod_scale_untrusted", protocol="https")
    (event,) = await _events(IProductionJobTrigger("any-job", conn, poll_interval=0.1, timeout=30))
    assert event["status"] == "error"
    assert "CERTIFICATE_VERIFY_FAILED" in event["message"] or "certificate" in event["message"].lower()


@pytest.mark.parametrize("api", ["ice", "mts"])
async def test_lean_query_answers_like_the_sdk(local_engine, iprod_conn, noisy_wav, api):
    """The pooled Query and the SDK's own give the same JobState for both APIs."""
    src = upload_to(local_engine, noisy_wav, f"same-{api}/talk.wav")
    client = local_engine.ice() if api == "ice" else local_engine.mts()
    function = "SpeechDenoise" if api == "ice" else "AudioBeatDetection"  # MPS has no SpeechDenoise
    output = f"oss://media/same-{api}/{{source}}-c.wav" if api == "ice" else f"oss://media/same-{api}/b.json"
    job_id = submit_to(client, api, function, src, output)
    wait_for(client, api, job_id)
    (event,) = await _events(
        IProductionJobTrigger(job_id, iprod_conn, api=api, poll_interval=0.1, timeout=30)
    )
    sdk = IProductionHook(iprod_conn, api=api).query(job_id).to_dict()
    assert event["job"].pop("request_id") != sdk.pop("request_id")  # two Queries ...
    assert event["job"] == sdk  # ... the same answer
