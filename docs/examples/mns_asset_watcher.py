"""Schedule a DAG on messages arriving in an MNS queue (Airflow 3 event-driven scheduling).

``MnsMessageTrigger`` watches the queue in the triggerer; each message becomes an asset event, and the
DAG runs with it in ``triggering_asset_events`` (``body`` decoded; ``job_id`` filled for MPS/ICE job
completions, e.g. jobs that other systems submit with ``NotifyUrl`` set to this queue).

Copy it into your DAG folder and set the connection (``mns_endpoint`` extra; a local engine's own port
by default) and the queue. Kept out of ``dags/`` so the test stacks do not start its watcher.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_iprod.triggers.mns_message import MnsMessageTrigger

QUEUE = "jobs-done"
CONN_ID = "alibabacloud_default"

watcher = AssetWatcher(name="mns_jobs_done", trigger=MnsMessageTrigger(mns_queue=QUEUE, conn_id=CONN_ID))
jobs_done = Asset("mns://jobs-done", watchers=[watcher])

with DAG("iprod_on_mns_message", schedule=[jobs_done], start_date=datetime(2025, 1, 1), catchup=False) as dag:

    @task
    def report(triggering_asset_events: Any = None) -> list[str | None]:
        """The JobIds of the completion messages that started this run."""
        return [
            event.extra.get("payload", {}).get("job_id")
            for events in (triggering_asset_events or {}).values()
            for event in events
        ]

    report()
