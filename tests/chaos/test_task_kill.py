"""Chaos with real processes: ``kill -9`` of the Airflow task process after it submitted its job, then the
task's next try in the same DAG run, through Airflow's own code: the killed try is failed as on a heartbeat
timeout (``handle_failure``: up_for_retry), try 2 runs after ``retry_delay`` and ``ResumableJobMixin``
finds the JobId in the task state store. One job on the engine, the same JobId in the result.

* ``before-defer``: a deferrable task, killed after Submit and after the JobId is in the task state store,
  before it defers (the test DAG's operator pauses there on try 1: that window is otherwise milliseconds).
* ``in-worker-wait``: ``deferrable=False``, killed while it polls the job in the worker.

The engine's one worker is held by a blocker job, so the task's job waits in the queue (active) until
try 2 has re-attached; then the blocker is cancelled and the job runs. Prints its figures.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.airflow_procs import airflow_env, driver, driver_result, query, wait_until
from tests.conftest import submit_to, upload_to
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow

DAGS = {"before-defer": "iprod_test_crash_deferred", "in-worker-wait": "iprod_test_reattach"}
TASK = "denoise"


def _status(engine: Any, job_id: str) -> str:
    job = engine.engine.jobs.get(job_id)
    return job.status if job else ""


def _hold_the_worker(engine: Any) -> str:
    """A job that occupies the engine's only worker until it is cancelled."""
    faults = engine.engine.faults.config
    faults.job_latency_s = 600  # read when a job starts: only this one is held
    source = upload_to(engine, noisy_tone_wav(0.5, seed=7), "blocker/in.wav")
    blocker = submit_to(engine.ice(), "ice", "SpeechDenoise", source, "oss://media/blocker/{source}.wav")
    wait_until("the blocker running", lambda: _status(engine, blocker) == "Analyzing", 30)
    faults.job_latency_s = 0
    return blocker


def _stored_job_id(run_id: str) -> str | None:
    rows = query(
        "SELECT value FROM task_state_store WHERE run_id = ? AND task_id = ? AND key = 'iprod_job_id'",
        run_id,
        TASK,
    )
    return rows[0][0].strip('"') if rows else None


def _try(run_id: str) -> tuple[int, str] | None:
    rows = query("SELECT try_number, state FROM task_instance WHERE run_id = ? AND task_id = ?", run_id, TASK)
    return rows[0] if rows else None


def _try_2_has_its_job(run_id: str) -> bool:
    """Try 2 decided (re-attach or submit) and published the JobId: XComs are cleared when a try starts."""
    if (_try(run_id) or (0, ""))[0] != 2:
        return False
    return bool(
        query(
            "SELECT 1 FROM xcom x JOIN task_instance t"
            " ON t.dag_id = x.dag_id AND t.run_id = x.run_id AND t.task_id = x.task_id"
            " WHERE t.run_id = ? AND t.task_id = ? AND x.key = 'iprod_job_id'"
            " AND x.timestamp >= t.start_date",
            run_id,
            TASK,
        )
    )


@pytest.mark.parametrize("where", ["before-defer", "in-worker-wait"])
def test_kill_9_of_the_task_process_then_its_next_try(
    where: str, tmp_path: Path, make_engine: Any, airflow_db: Path
) -> None:
    started = time.monotonic()
    engine = make_engine(workers=1)
    conn_id = "iprod_chaos_task"
    env = airflow_env(conn_id, engine)
    src = upload_to(engine, noisy_tone_wav(0.5, seed=1), f"{where}/talk.wav")
    blocker = _hold_the_worker(engine)
    run_id = f"chaos-{where}-{tmp_path.name}"
    hold_file = tmp_path / "held"
    conf = {"conn": conn_id, "src": src, "out": f"oss://media/{where}/out", "hold_file": str(hold_file)}

    first = driver(run_id, DAGS[where], conf, env, tmp_path, "try1")
    try:
        job_id = wait_until("the JobId in the task state store", lambda: _stored_job_id(run_id), 90, first)
        if where == "before-defer":
            wait_until("try 1 paused before deferring", hold_file.exists, 30, first)
            assert hold_file.read_text() == job_id
        else:
            time.sleep(1.0)  # a few in-worker polls (poll_interval 0.2 s) of the queued job
        jobs = [(j.job_id, j.status, j.attempts, j.input_url) for j in _jobs(engine)]
        assert _try(run_id) == (1, "running"), f"{job_id} {jobs}\n{first.tail()}"
        first.kill9()
    finally:
        first.stop()
    jobs_after_kill = engine.engine.jobs.count()
    assert _status(engine, job_id) == "Queuing"  # behind the blocker: try 2 finds it active
    assert _try(run_id) == (1, "running")  # nobody is left to record the try's end

    second = driver(run_id, DAGS[where], conf, env, tmp_path, "try2")
    try:
        wait_until("try 2 holding its JobId", lambda: _try_2_has_its_job(run_id), 90, second)
        reattached_while = _status(engine, job_id)
        engine.ice().cancel_iproduction_job(_cancel_request(blocker))
        summary = driver_result(second, 90)
    finally:
        second.stop()

    task = summary["tasks"][TASK]
    ours = [j for j in _jobs(engine) if j.input_url == src]
    completed = sum(1 for j in ours if j.status == "Success")
    print(
        f"\ntask kill -9 {where} (pid {first.popen.pid}): jobs {len(ours)}, faults injected 1 (kill -9), "
        f"completed {completed}, lost {1 - completed}, duplicated {len(ours) - 1}, try {task['try_number']} "
        f"re-attached to {job_id} while {reattached_while}, run {summary['state']}, "
        f"wall {time.monotonic() - started:.1f} s"
    )
    assert summary["state"] == "success", summary
    assert task["try_number"] == 2 and task["state"] == "success"
    assert [j.job_id for j in ours] == [job_id]
    assert task["result"]["JobId"] == job_id and task["result"]["Status"] == "Success"
    assert engine.engine.jobs.count() == jobs_after_kill == 2  # the blocker and this task's one job
    assert reattached_while == "Queuing"  # re-attached to a job still active, not one already done


def _cancel_request(job_id: str) -> Any:
    from alibabacloud_ice20201109 import models

    return models.CancelIProductionJobRequest(job_id=job_id)


def _jobs(engine: Any) -> list[Any]:
    rows = engine.engine.jobs._conn().execute("SELECT job_id FROM jobs").fetchall()
    return [engine.engine.jobs.get(r[0]) for r in rows]
