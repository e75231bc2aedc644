"""IProductionJobSensor on the local engine: waits for a job submitted elsewhere (deferred and poked),
returns the operator's result dict, and fails a failed job with the operator's own error."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_iprod.errors import IProductionJobFailed
from tests.conftest import submit_to, upload_to
from tests.operators.test_iproduction import _ti, _xcom

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("dag_id", ["iprod_test_sensor", "iprod_test_sensor_polled"])
def test_sensor_waits_for_a_job_submitted_elsewhere(
    run_dag, local_engine, upload, iprod_conn, noisy_wav, dag_id
):
    src = upload(noisy_wav, f"sensor/{dag_id}/talk.wav")
    out = f"oss://media/sensor/{dag_id}/{{source}}.wav"
    job_id = submit_to(local_engine.ice(), "ice", "SpeechDenoise", src, out)
    dag_run = run_dag(dag_id, conn=iprod_conn, job_id=job_id)
    assert dag_run.state == "success"
    result = _xcom(dag_run, "wait")
    assert result["JobId"] == job_id and result["Outputs"] == [f"oss://media/sensor/{dag_id}/talk.wav"]
    assert job_id in _xcom(dag_run, "wait", "_link_IProductionConsoleLink")


def _failed_job(make_engine: Any, make_conn: Any, noisy_wav: Any) -> tuple[str, str]:
    from airflow_iprod.local.config import FaultConfig

    engine = make_engine(
        faults=FaultConfig(fail_jobs=frozenset({"SpeechDenoise"}), fail_message="disk on fire")
    )
    src = upload_to(engine, noisy_wav, "s/talk.wav")
    job_id = submit_to(engine.ice(), "ice", "SpeechDenoise", src, "oss://media/s/{source}.wav")
    return make_conn(engine, "iprod_sensor_failing"), job_id


def test_failed_job_fails_the_sensor_in_a_dag(run_dag, make_engine, make_conn, noisy_wav):
    conn, job_id = _failed_job(make_engine, make_conn, noisy_wav)
    dag_run = run_dag("iprod_test_sensor", conn=conn, job_id=job_id)
    assert dag_run.state == "failed" and _ti(dag_run, "wait").state == "failed"


def test_sensor_and_operator_fail_a_failed_job_with_the_same_error(make_engine, make_conn, noisy_wav):
    """The same finished job, through the sensor's poke, the sensor's resume and the operator's resume."""
    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.operators.iproduction import IProductionJobOperator
    from airflow_iprod.sensors.iproduction import IProductionJobSensor

    conn, job_id = _failed_job(make_engine, make_conn, noisy_wav)
    state, finished = IProductionHook(conn).wait(job_id, timeout=60, interval=0.2)
    assert finished and state is not None and state.is_failed
    event = {"status": "failed", "job_id": job_id, "job": state.to_dict(), "message": "failed"}
    sensor = IProductionJobSensor(task_id="s", job_id=job_id, conn_id=conn)
    operator = IProductionJobOperator(
        task_id="o", function_name="SpeechDenoise", input=state.input, output=state.output, conn_id=conn
    )
    errors = []
    for call in (
        lambda: sensor.poke({}),
        lambda: sensor.execute_complete({}, event),
        lambda: operator.execute_complete({}, event, submitted_at=1.0),
    ):
        with pytest.raises(IProductionJobFailed) as err:
            call()
        errors.append((str(err.value), err.value.code, err.value.job_id))
    assert len(set(errors)) == 1, errors
    assert "SpeechDenoise job failed: disk on fire" in errors[0][0]
