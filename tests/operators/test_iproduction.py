"""The operators inside real DAG runs on the local engine.

``dag.test()`` runs the real task runner, the deferral and the trigger in-line; the DAGs are in
tests/dag_files and take every location from the run conf.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import submit_to, upload_to

pytestmark = pytest.mark.slow


def _ti(dag_run: Any, task_id: str) -> Any:
    return next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id)


def _xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def _jobs(handle: Any) -> list[Any]:
    rows = handle.engine.jobs._conn().execute("SELECT job_id FROM jobs").fetchall()
    return [handle.engine.jobs.get(r[0]) for r in rows]


@pytest.mark.parametrize("mode", ["deferred", "polled"])
def test_chain_two_jobs_through_output(run_dag, local_engine, upload, iprod_conn, noisy_wav, mode):
    """``second`` takes ``first.output`` as its input, in deferred and worker-polled modes."""
    src = upload(noisy_wav, f"dagtest/{mode}/talk.wav")
    before = local_engine.engine.jobs.count()
    dag_run = run_dag(f"iprod_test_chain_{mode}", conn=iprod_conn, src=src, out=f"oss://media/dagtest/{mode}")
    assert dag_run.state == "success", [(t.task_id, t.state) for t in dag_run.get_task_instances()]
    one, two = _xcom(dag_run, "first"), _xcom(dag_run, "second")
    assert one["Status"] == "Success" and one["FunctionName"] == "SpeechDenoise"
    assert one["Output"] == f"oss://media/dagtest/{mode}/talk-1.wav"
    assert two["Output"] == f"oss://media/dagtest/{mode}/talk-1-2.wav"
    assert local_engine.engine.jobs.count() - before == 2
    info = sf.info(local_engine.engine.objects.path_for("media", f"dagtest/{mode}/talk-1-2.wav"))
    assert info.samplerate == 16000 and abs(info.duration - 3.0) < 0.1
    link = _xcom(dag_run, "first", "_link_IProductionConsoleLink")
    assert link == f"http://{local_engine.endpoint}/-/console/jobs/{one['JobId']}"  # the engine's page


def test_failed_job_fails_the_task(run_dag, make_engine, make_conn, noisy_wav):
    from airflow_iprod.local.config import FaultConfig

    engine = make_engine(
        faults=FaultConfig(fail_jobs=frozenset({"SpeechDenoise"}), fail_message="disk on fire")
    )
    conn = make_conn(engine, "iprod_failing")
    src = upload_to(engine, noisy_wav, "x/talk.wav")
    dag_run = run_dag("iprod_test_single", conn=conn, src=src, out="oss://media/x")
    assert dag_run.state == "failed"
    assert _ti(dag_run, "denoise").state == "failed"
    assert engine.engine.jobs.count() == 1


def test_bad_rendered_params_fail_before_submit(run_dag, local_engine, iprod_conn, upload, noisy_wav):
    """fps is only known after rendering (50, outside [2, 10]): the task fails, nothing is submitted."""
    src = upload(noisy_wav, "bad/talk.mp4")
    before = local_engine.engine.jobs.count()
    dag_run = run_dag("iprod_test_bad_params", conn=iprod_conn, src=src, fps=50)
    assert dag_run.state == "failed"
    assert local_engine.engine.jobs.count() == before


def test_reattach_after_crash_between_submit_and_wait(run_dag, make_engine, make_conn, noisy_wav):
    """Try 1 submits, records the JobId, then loses the service while waiting (the engine answers its
    first Query with a non-retriable error, as a worker dying mid-wait would end the try). Try 2 finds
    the JobId in the task state store while the job is still queued and re-attaches: exactly one job
    on the engine for this task, and the task returns that job's result."""
    engine = make_engine(workers=1)
    conn = make_conn(engine, "iprod_reattach")
    src = upload_to(engine, noisy_wav, "r/talk.wav")
    blocker = upload_to(engine, _long_wav(noisy_wav, 60), "r/long.wav")  # keeps the only worker busy
    submit_to(engine.ice(), "ice", "SpeechDenoise", blocker, "oss://media/r/{source}-blocker.wav")
    faults = engine.engine.faults.config
    faults.query_error_code, faults.query_error_status = "Forbidden.Injected", 403

    def break_queries_after_submit() -> None:
        deadline = time.monotonic() + 60
        while engine.engine.jobs.count() < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        faults.query_error_rate = 1.0  # try 1's first wait-Query fails
        time.sleep(1.0)
        faults.query_error_rate = 0.0  # back before try 2 (retry_delay 2 s)

    saboteur = threading.Thread(target=break_queries_after_submit, daemon=True)
    saboteur.start()
    dag_run = run_dag("iprod_test_reattach", conn=conn, src=src, out="oss://media/r")
    saboteur.join()
    ti = _ti(dag_run, "denoise")
    assert dag_run.state == "success", ti.state
    assert ti.try_number == 2
    ours = [j for j in _jobs(engine) if j.input_url == src]
    assert len(ours) == 1, [j.job_id for j in ours]
    result = _xcom(dag_run, "denoise")
    assert result["JobId"] == ours[0].job_id and result["Status"] == "Success"


def _long_wav(path: Path, seconds: int) -> bytes:
    audio, rate = sf.read(path)
    reps = int(np.ceil(seconds * rate / len(audio)))
    buf = io.BytesIO()
    sf.write(buf, np.tile(audio, reps)[: seconds * rate], rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()
