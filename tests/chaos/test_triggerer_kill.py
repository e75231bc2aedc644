"""Chaos with real processes: ``kill -9`` of ``airflow triggerer`` while 20 tasks are deferred on it, then
a new triggerer. It takes the orphaned triggers over (once the dead one's heartbeat is older than
``triggerer_health_check_threshold``), every task completes with its own one job, and no job is
cancelled: a triggerer that dies or restarts must not cancel work, only a user's kill does.

The tasks are one DAG run of 20 deferrable tasks, run by ``tests.chaos.airflow_driver --triggerer`` (the
real task runner; deferred tasks wait for the real triggerer, which hands them back as a scheduler's
queue would). The engine's two workers are held by blocker jobs until the new triggerer owns every
trigger, so no job can finish (and no task leave ``deferred``) before the kill. Prints its figures.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.airflow_procs import Proc, airflow_env, driver, driver_result, query, wait_until
from tests.conftest import submit_to, upload_to
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow

TASKS = 20
DAG_ID = "iprod_test_fanout"
# A dead triggerer's triggers go to another once its heartbeat is this old (default 30 s, 5 s beats).
TRIGGERER_ENV = {
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "3",
}


def _status(engine: Any, job_id: str) -> str:
    job = engine.engine.jobs.get(job_id)
    return job.status if job else ""


def _triggerer(env: dict[str, str], tmp: Path, name: str) -> Proc:
    return Proc.spawn([sys.executable, "-m", "airflow", "triggerer", "--skip-serve-logs"], env, tmp, name)


def _deferred(run_id: str) -> int:
    rows = query("SELECT count(*) FROM task_instance WHERE run_id = ? AND state = 'deferred'", run_id)
    return rows[0][0]


def _trigger_owners(run_id: str) -> set[Any]:
    """The triggerer job ids that the run's deferred tasks' triggers are assigned to."""
    rows = query(
        "SELECT tr.triggerer_id FROM trigger tr JOIN task_instance ti ON ti.trigger_id = tr.id "
        "WHERE ti.run_id = ? AND ti.state = 'deferred'",
        run_id,
    )
    return {r[0] for r in rows} if len(rows) == TASKS else {None}


def test_kill_9_of_the_triggerer_under_20_deferred_tasks(
    tmp_path: Path, make_engine: Any, airflow_db: Path
) -> None:
    from alibabacloud_ice20201109 import models

    started = time.monotonic()
    engine = make_engine(workers=2)
    conn_id = "iprod_chaos_triggerer"
    env = airflow_env(conn_id, engine, **TRIGGERER_ENV)
    faults = engine.engine.faults.config
    faults.job_latency_s = 600  # read when a job starts: only the blockers are held
    blockers = [
        submit_to(
            engine.ice(),
            "ice",
            "SpeechDenoise",
            upload_to(engine, noisy_tone_wav(0.3, seed=90 + n), f"blocker/in{n}.wav"),
            "oss://media/blocker/{source}.wav",
        )
        for n in range(2)
    ]
    wait_until("the blockers running", lambda: all(_status(engine, b) == "Analyzing" for b in blockers), 30)
    faults.job_latency_s = 0
    src = upload_to(engine, noisy_tone_wav(0.3, seed=3), "fanout/talk.wav")
    run_id = f"chaos-triggerer-{tmp_path.name}"
    conf = {"conn": conn_id, "src": src, "out": "oss://media/fanout/out"}

    first = _triggerer(env, tmp_path, "triggerer1")
    run = driver(run_id, DAG_ID, conf, env, tmp_path, "driver", triggerer=True)
    second = None
    try:
        wait_until(f"{TASKS} tasks deferred", lambda: _deferred(run_id) == TASKS, 120, run, first)
        owners = wait_until(
            "every trigger on the first triggerer", lambda: _trigger_owners(run_id) - {None}, 30, first
        )
        assert len(owners) == 1
        time.sleep(1.5)  # its triggers are polling the queued jobs (poll_interval 0.5 s)
        first.kill9()
        killed_at = time.monotonic()
        assert _deferred(run_id) == TASKS
        second = _triggerer(env, tmp_path, "triggerer2")
        new_owner = wait_until(
            "the triggers taken over by the new triggerer",
            lambda: (o := _trigger_owners(run_id)) and None not in o and o != owners and o,
            60,
            second,
            run,
        )
        takeover_s = time.monotonic() - killed_at
        for blocker in blockers:
            engine.ice().cancel_iproduction_job(models.CancelIProductionJobRequest(job_id=blocker))
        summary = driver_result(run, 120)
    finally:
        run.stop()
        first.stop()
        if second is not None:
            second.stop()

    tasks = summary["tasks"]
    job_ids = {t["job_id"] for t in tasks.values()}
    rows = engine.engine.jobs._conn().execute("SELECT job_id, input_url, status, code FROM jobs").fetchall()
    ours = [(job_id, status, code) for job_id, input_url, status, code in rows if input_url == src]
    completed = sum(1 for _, status, _ in ours if status == "Success")
    cancelled = sum(1 for _, _, code in ours if code == "Cancelled")
    print(
        f"\ntriggerer kill -9 under {TASKS} deferred tasks (triggerer job {owners} -> {new_owner} in "
        f"{takeover_s:.1f} s): jobs {len(ours)}, faults injected 1 (kill -9), completed {completed}, "
        f"cancelled {cancelled}, lost {TASKS - len(job_ids - {None})}, duplicated {len(ours) - TASKS}, "
        f"run {summary['state']}, wall {time.monotonic() - started:.1f} s"
    )
    assert summary["state"] == "success", summary
    assert all(t["state"] == "success" and t["try_number"] == 1 for t in tasks.values()), tasks
    assert len(tasks) == TASKS and len(job_ids) == TASKS and None not in job_ids
    assert sorted(job_id for job_id, _, _ in ours) == sorted(job_ids)
    assert completed == TASKS and cancelled == 0
    assert all(
        t["result"]["JobId"] == t["job_id"] and t["result"]["Status"] == "Success" for t in tasks.values()
    )
