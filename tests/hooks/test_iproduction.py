"""IProductionHook against the local engine over real HTTP, through the official SDKs."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from airflow_iprod import catalog
from airflow_iprod.errors import IProductionError
from airflow_iprod.hooks.iproduction import IProductionHook
from airflow_iprod.local.config import FaultConfig
from tests.conftest import upload_to


def _wait(hook: IProductionHook, job_id: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        state = hook.query(job_id)
        if state.is_terminal or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_ice_submit_query_success(local_engine, upload, iprod_conn, noisy_wav):
    src = upload(noisy_wav, "hook/ice/talk.wav")
    hook = IProductionHook(iprod_conn, api="ice")
    job_id = hook.submit(
        "SpeechDenoise",
        input=src,
        output="oss://media/hook/ice/{source}-clean.wav",
        name="t",
        user_data='{"a":1}',
    )
    state = _wait(hook, job_id)
    assert state.status == "Success" and state.raw_status == "Success"
    assert state.function_name == "SpeechDenoise" and state.user_data == '{"a":1}'
    assert state.output_locations() == ["oss://media/hook/ice/talk-clean.wav"]
    summary = state.summary()
    assert summary["Output"] == "oss://media/hook/ice/talk-clean.wav"
    assert summary["FinishTime"] and summary["CreateTime"]


def test_mts_submit_query_uses_state(make_engine, make_conn, noisy_wav):
    """MPS answers with ``State``; the hook normalises it (a forced failure keeps the job cheap)."""
    engine = make_engine(
        faults=FaultConfig(fail_jobs=frozenset({"AudioBeatDetection"}), fail_message="no beat")
    )
    conn = make_conn(engine, "iprod_mts")
    src = upload_to(engine, noisy_wav, "mts/talk.wav")
    hook = IProductionHook(conn, api="mts")
    job_id = hook.submit("AudioBeatDetection", input=src, output="oss://media/mts/{source}.json")
    state = _wait(hook, job_id)
    assert state.api == "mts" and state.status == "Fail" and state.raw_status == "Fail"
    assert state.error_message and "no beat" in state.error_message


def test_mts_rejects_ice_only_fields_before_network():
    hook = IProductionHook("conn_that_does_not_exist", api="mts")
    with pytest.raises(catalog.ValidationError) as err:
        hook.submit("VideoClip", input="oss://media/a.mp4", output="oss://media/b.mp4", priority=3)
    assert err.value.field == "ScheduleConfig.Priority"


def test_validation_errors_never_touch_the_network():
    """The connection does not even exist: only validation can produce these errors."""
    hook = IProductionHook("conn_that_does_not_exist", api="ice")
    cases = [
        (dict(function_name="CaptionExtraction", job_params={"fps": 11}), "JobParams.fps"),
        (dict(function_name="Cover", output="oss://media/cover.png"), "Output.Media"),
        (dict(function_name="NoSuchAlgo"), "FunctionName"),
        (dict(function_name="SpeechDenoise", input="http://example.com/x.wav"), "Input.Media"),
    ]
    for fields, field in cases:
        fields.setdefault("input", "oss://media/in.mp4")
        fields.setdefault("output", "oss://media/out-{sequenceId}.srt")
        with pytest.raises(catalog.ValidationError) as err:
            hook.submit(fields.pop("function_name"), **fields)
        assert err.value.field == field
        assert field in str(err.value)


def test_unknown_job_raises_with_code_and_request_id(iprod_conn):
    hook = IProductionHook(iprod_conn, api="ice")
    with pytest.raises(IProductionError) as err:
        hook.query("does-not-exist")
    assert err.value.code == "NotFound" and err.value.status_code == 404
    assert err.value.request_id and err.value.request_id in str(err.value)
    assert not err.value.retriable


def test_transient_errors_are_retried(make_engine, make_conn, noisy_wav):
    engine = make_engine(faults=FaultConfig(query_error_rate=0.5, seed=4))
    conn = make_conn(engine, "iprod_flaky")
    src = upload_to(engine, noisy_wav, "flaky/talk.wav")
    hook = IProductionHook(conn, api="ice", max_retries=10, backoff_base=0.01, backoff_cap=0.05)
    job_id = hook.submit("SpeechDenoise", input=src, output="oss://media/flaky/{source}.wav")
    states = [hook.query(job_id) for _ in range(20)]  # ~half of the calls hit ServiceUnavailable
    assert all(s.job_id == job_id for s in states)
    # and without retries the same fault surfaces as a retriable error naming the code
    engine.engine.faults.config.query_error_rate = 1.0
    with pytest.raises(IProductionError) as err:
        IProductionHook(conn, api="ice", max_retries=0).query(job_id)
    assert err.value.retriable and err.value.code == "ServiceUnavailable" and err.value.status_code == 503


def test_throttling_is_retried_with_backoff(make_engine, make_conn, noisy_wav):
    engine = make_engine(throttle_rates={"QueryIProductionJob": 5.0})
    conn = make_conn(engine, "iprod_throttled")
    src = upload_to(engine, noisy_wav, "thr/talk.wav")
    hook = IProductionHook(conn, api="ice", max_retries=20, backoff_base=0.05, backoff_cap=0.3)
    job_id = hook.submit("SpeechDenoise", input=src, output="oss://media/thr/{source}.wav")
    start = time.monotonic()
    for _ in range(15):
        hook.query(job_id)
    # 15 calls at 5/s with a burst of 5 need >= ~2 s: the hook waited instead of failing
    assert time.monotonic() - start >= 1.5
    with pytest.raises(IProductionError) as err:
        for _ in range(20):
            IProductionHook(conn, api="ice", max_retries=0).query(job_id)
    assert err.value.code.startswith("Throttling") and err.value.retriable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_transient_but_bounded(local_engine, make_conn):
    class Closed:
        access_key_id, access_key_secret, region = "k", "s", "cn-shanghai"
        endpoint = f"127.0.0.1:{_closed_port()}"

    conn = make_conn(Closed, "iprod_closed")
    hook = IProductionHook(conn, api="ice", max_retries=2, backoff_base=0.01, backoff_cap=0.02)
    with pytest.raises(IProductionError) as err:
        hook.query("x")
    assert err.value.retriable and err.value.code == "ConnectionFailed"
    # a refused Submit never reached the service, so resending it is safe too: retried, then raised
    with pytest.raises(IProductionError) as err:
        hook.submit("SpeechDenoise", input="oss://media/a.wav", output="oss://media/b.wav")
    assert err.value.code == "ConnectionFailed"


def test_async_submit_query_cancel(local_engine, make_engine, make_conn, noisy_wav):
    engine = make_engine(workers=1)
    conn = make_conn(engine, "iprod_async")
    src = upload_to(engine, noisy_wav, "async/talk.wav")
    hook = IProductionHook(conn, api="ice")

    async def scenario() -> tuple:
        first = await hook.asubmit("SpeechDenoise", input=src, output="oss://media/async/{source}-1.wav")
        second = await hook.asubmit("SpeechDenoise", input=src, output="oss://media/async/{source}-2.wav")
        await hook.acancel(second)  # queued behind ``first`` on the only worker
        return await hook.aquery(first), await hook.aquery(second)

    first, second = asyncio.run(scenario())
    assert first.status in ("Queuing", "Analyzing", "Success")
    assert second.status == "Fail" and second.error_code == "Cancelled"


def test_default_credential_chain(local_engine, make_conn, upload, noisy_wav, monkeypatch):
    """No keys in the connection: the Alibaba credentials default chain (here: its environment
    provider) signs. The credentials library reads ALIBABA_CLOUD_* once, when first imported, into
    ``auth_util``; setting those values there is what a process started with the variables sees
    (cheaper than a fresh interpreter, which spent 4-12 s importing Airflow)."""
    from alibabacloud_credentials.utils import auth_util

    conn = make_conn(local_engine, "iprod_chain", access_key_id=None, access_key_secret=None)
    src = upload(noisy_wav, "chain/talk.wav")
    monkeypatch.setattr(auth_util, "environment_access_key_id", local_engine.access_key_id)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", local_engine.access_key_secret)
    monkeypatch.setattr(auth_util, "environment_security_token", None)
    hook = IProductionHook(conn)
    assert hook.settings().access_key_id is None
    job = hook.submit("SpeechDenoise", input=src, output="oss://media/chain/{source}.wav")
    assert hook.query(job).job_id == job
    # and without any credential anywhere the chain fails instead of sending unsigned requests
    monkeypatch.setattr(auth_util, "environment_access_key_id", None)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", None)
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")
    with pytest.raises(IProductionError, match="unable to load credentials"):
        IProductionHook(conn, read_timeout=2, connect_timeout=2).query(job)


def test_client_is_reused(iprod_conn):
    assert IProductionHook(iprod_conn).get_conn() is IProductionHook(iprod_conn).get_conn()
    assert IProductionHook(iprod_conn, api="mts").get_conn() is not IProductionHook(iprod_conn).get_conn()
