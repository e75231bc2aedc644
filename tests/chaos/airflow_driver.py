"""Drive one DAG run in this process the way ``dag.test()`` does, but so that a chaos test can kill it
and carry on: ``python -m tests.chaos.airflow_driver RUN_ID DAG_ID [--conf JSON] [--triggerer]``.

Why not ``dag.test()`` itself: a second ``dag.test()`` deletes the earlier run (and with it the task state
store, cascaded), so it cannot play a task's next try; and it always runs triggers in-line, so it cannot
leave tasks deferred for a real ``airflow triggerer``. This driver uses the same pieces (bundles synced to
the DB, the serialized DAG, ``DagRun.update_state`` for readiness and retries, ``_run_task``: the real task
runner with the in-process Execution API), and:

* finds the run by ``RUN_ID`` when it exists: the next try of a task runs in the same run, where its
  task state store rows are;
* first fails the tries of a killed process (still ``running``, nobody left to heartbeat) with
  ``TaskInstance.handle_failure``, as the scheduler does on a heartbeat timeout: up_for_retry when retries
  are left, and the next try starts after ``retry_delay``;
* with ``--triggerer`` leaves deferred tasks to a real triggerer process and resumes them once it has
  fired their event (state scheduled, as a scheduler would queue them).

Prints one JSON line at the end: the run's state and each task's state, try number and JobId.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import tests.airflow_env  # noqa: F401  - AIRFLOW_HOME and the bundles before Airflow is configured
from tests.airflow_env import test_dag

TEST_BUNDLE = "iprod-tests"


def _serialized(dag: Any, session: Any) -> Any:
    """The DAG as the scheduler sees it, after syncing the test bundle to the DB (what dag.test does)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.serialization.serialized_objects import DagSerialization

    manager = DagBundlesManager()
    manager.sync_bundles_to_db(session=session)
    session.commit()
    bundle = next(b for b in manager.get_all_dag_bundles() if b.name == TEST_BUNDLE)
    if not bundle.is_initialized:
        bundle.initialize()
    bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
    sync_bag_to_db(bag, bundle.name, bundle.version)
    return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))


def _run(dag_id: str, run_id: str, conf: dict[str, Any], triggerer: bool, timeout: float) -> dict[str, Any]:
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from airflow.sdk import timezone
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import select

    dag = test_dag(dag_id)
    session = settings.Session()
    scheduler_dag = _serialized(dag, session)
    dr = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if dr is None:
        now = timezone.utcnow()
        dr = scheduler_dag.create_dagrun(
            run_id=run_id,
            logical_date=None,
            run_after=now,
            start_date=now,
            conf=conf,
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.TEST,
            triggering_user_name="chaos",
            state=DagRunState.RUNNING,
            session=session,
        )
        session.commit()
    dr.dag = scheduler_dag
    for ti in dr.get_task_instances(state=[TaskInstanceState.RUNNING], session=session):
        ti.task = scheduler_dag.get_task(ti.task_id)  # the retries it has left
        ti.handle_failure("the task process was killed (no heartbeat)", session=session)
        session.commit()
    deadline = time.monotonic() + timeout
    while dr.state == DagRunState.RUNNING:
        assert time.monotonic() < deadline, f"run {run_id} still running after {timeout} s"
        session.expire_all()
        schedulable, _ = dr.update_state(session=session)
        for ti in schedulable:
            if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                ti.try_number += 1
            ti.state = TaskInstanceState.SCHEDULED
            ti.scheduled_dttm = timezone.utcnow()
        session.commit()
        scheduled = [
            ti for ti in dr.get_task_instances(session=session) if ti.state == TaskInstanceState.SCHEDULED
        ]
        for ti in scheduled:
            try:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=not triggerer)
            except Exception as err:  # as dag.test: the task's failure is in its state
                print(f"task {ti.task_id} raised {type(err).__name__}: {err}", file=sys.stderr)
        if not scheduled:
            time.sleep(0.2)
    session.expire_all()
    return {
        "state": str(dr.state),
        "tasks": {
            ti.task_id: {
                "state": str(ti.state),
                "try_number": ti.try_number,
                "job_id": ti.xcom_pull(task_ids=ti.task_id, key="iprod_job_id", session=session),
                "result": ti.xcom_pull(task_ids=ti.task_id, session=session),
            }
            for ti in dr.get_task_instances(session=session)
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.airflow_driver")
    parser.add_argument("run_id")
    parser.add_argument("dag_id")
    parser.add_argument("--conf", default="{}")
    parser.add_argument("--triggerer", action="store_true", help="leave deferred tasks to airflow triggerer")
    parser.add_argument("--timeout", type=float, default=150)
    args = parser.parse_args(argv)
    summary = _run(args.dag_id, args.run_id, json.loads(args.conf), args.triggerer, args.timeout)
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
