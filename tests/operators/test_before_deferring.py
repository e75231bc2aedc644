"""What the operator does before it defers: estimate the job's run time, and finish a job that is
already done in the worker (no deferral, so Airflow's resume race never opens). Real engine, real hook."""

from __future__ import annotations

import pytest

from airflow_iprod.catalog import ValidationError
from airflow_iprod.local.config import FaultConfig
from airflow_iprod.operators.iproduction import IProductionJobOperator
from tests.conftest import upload_to


def _operator(conn: str, src: str, **kwargs) -> IProductionJobOperator:
    op = IProductionJobOperator(
        task_id="t", function_name="SpeechDenoise", conn_id=conn, input=src, output="oss://media/pd/{source}.wav",
        **kwargs,
    )  # fmt: skip
    op._request = op._build_request(op._request_fields())
    return op


def test_a_fast_job_finishes_in_the_worker(make_engine, make_conn, noisy_wav):
    engine = make_engine()
    conn = make_conn(engine, "iprod_pd_fast")
    op = _operator(conn, upload_to(engine, noisy_wav, "pd/fast.wav"))
    expected = op._expected_seconds()
    assert expected is not None and expected < 3  # 3 s of audio at SpeechDenoise's speed
    job_id = op.hook.submit(op._request)
    state = op._poll_before_deferring(job_id, expected)
    assert state is not None and state.is_success


def test_a_job_still_running_is_left_to_the_triggerer(make_engine, make_conn, noisy_wav):
    engine = make_engine(faults=FaultConfig(job_latency_s=8.0))
    conn = make_conn(engine, "iprod_pd_slow")
    op = _operator(conn, upload_to(engine, noisy_wav, "pd/slow.wav"))
    job_id = op.hook.submit(op._request)
    before = engine.engine.stats.actions["QueryIProductionJob"]
    assert op._poll_before_deferring(job_id, op._expected_seconds()) is None
    assert engine.engine.stats.actions["QueryIProductionJob"] - before == 2  # at most a couple of polls


def test_a_job_expected_to_run_long_defers_at_once(local_engine, iprod_conn, noisy_wav):
    op = _operator(iprod_conn, upload_to(local_engine, noisy_wav, "pd/long.wav"), expected_duration=600)
    assert op._expected_seconds() == 600
    before = local_engine.engine.stats.actions["QueryIProductionJob"]
    assert op._poll_before_deferring("any-job", 600.0) is None
    assert local_engine.engine.stats.actions["QueryIProductionJob"] == before


def test_the_input_duration_is_read_from_its_header(local_engine, iprod_conn, noisy_wav):
    from airflow_iprod.media_probe import input_seconds

    op = _operator(iprod_conn, upload_to(local_engine, noisy_wav, "pd/probe.wav"))
    assert input_seconds(op.hook, op._request) == pytest.approx(3.0, abs=0.05)


def test_an_unreadable_input_means_no_estimate_not_an_error(local_engine, iprod_conn):
    from airflow_iprod.media_probe import input_seconds

    op = _operator(iprod_conn, "oss://media/pd/missing.wav")
    assert input_seconds(op.hook, op._request) is None


@pytest.mark.parametrize("bad", [0, -5])
def test_expected_duration_must_be_positive(bad):
    with pytest.raises(ValidationError, match="expected_duration"):
        IProductionJobOperator(
            task_id="t", function_name="SpeechDenoise", input="oss://media/a.wav",
            output="oss://media/{source}.wav", expected_duration=bad,
        )  # fmt: skip
