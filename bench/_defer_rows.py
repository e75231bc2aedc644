"""Leave the mapped ``wait`` tasks of one ``iprod_bench_many_waits`` run deferred, through Airflow's own
models, as ``BaseOperator.defer`` would: submit each task's job, store its trigger, mark the task deferred.

    python bench/_defer_rows.py RUN_ID CONN_ID SRC   (env IPROD_BENCH_PLAN: the plan file)

Used by ``bench_triggerer.py --mode rows`` where running 1000 tasks to their deferral through the task
runner would take most of an hour on this machine; the operator's own path runs in ``--mode e2e``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import tests.airflow_env  # noqa: F401 - AIRFLOW_HOME before Airflow is configured
from tests.airflow_env import test_dag
from tests.chaos.airflow_driver import _serialized


def main(run_id: str, conn_id: str, src: str) -> None:
    from airflow import settings
    from airflow.models.trigger import Trigger
    from airflow.sdk import timezone
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.triggers.iproduction import IProductionJobTrigger

    plan = json.loads(Path(os.environ["IPROD_BENCH_PLAN"]).read_text())
    session = settings.Session()
    dag = _serialized(test_dag("iprod_bench_many_waits"), session)
    now = timezone.utcnow()
    run = dag.create_dagrun(
        run_id=run_id, logical_date=None, run_after=now, start_date=now, conf={"conn": conn_id, "src": src},
        run_type=DagRunType.MANUAL, triggered_by=DagRunTriggeredByType.TEST, triggering_user_name="bench",
        state=DagRunState.RUNNING, session=session,
    )  # fmt: skip
    session.commit()
    tis = {ti.map_index: ti for ti in run.get_task_instances(session=session) if ti.task_id == "wait"}
    assert len(tis) == len(plan), f"{len(tis)} mapped tasks for a plan of {len(plan)}"
    hook = IProductionHook(conn_id)
    for index, job in enumerate(plan):
        job_id = hook.submit("SpeechDenoise", input=src, output=job["output"], user_data=job["user_data"])
        submitted = time.time()
        wait_mode = job.get("wait_mode", "poll")  # callback: the queue is the connection's extra
        trigger = IProductionJobTrigger(
            job_id, conn_id, poll_interval=10.0, timeout=6 * 3600, submitted_at=submitted,
            expected_s=job["expected_duration"], wait_mode=wait_mode,
            callback_queue=hook.extras.get("callback_queue") if wait_mode == "callback" else None,
        )  # fmt: skip
        row = Trigger.from_object(trigger)
        session.add(row)
        session.flush()
        ti = tis[index]
        ti.try_number = 1
        ti.state = TaskInstanceState.DEFERRED
        ti.trigger_id = row.id
        ti.next_method = "execute_complete"
        ti.next_kwargs = {"submitted_at": submitted}
        if index % 100 == 99:
            session.commit()
    session.commit()
    print(json.dumps({"deferred": len(plan)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
