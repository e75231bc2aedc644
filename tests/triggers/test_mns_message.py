"""MnsMessageTrigger (AssetWatcher) against a real engine's MNS: one event per message, base64 (as the
SDK sends) or raw text, deleted on reception; the example DAG schedules on it."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import warnings
from pathlib import Path

from mns.queue import Message

from airflow_iprod.triggers.mns_message import MnsMessageTrigger
from tests.triggers.test_callbacks import make_queue

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/mns_asset_watcher.py"


async def test_each_message_fires_one_event_and_is_deleted(make_engine, make_conn) -> None:
    handle = make_engine()
    conn = make_conn(handle, "iprod_mns_watch")
    queue = make_queue(handle, "watch-")
    completion = {"JobId": "job-42", "State": "Success", "Type": "IProduction"}
    queue.send_message(Message(json.dumps(completion)))  # the SDK base64-encodes it
    queue.set_encoding(False)
    queue.send_message(Message("plain text, not a job"))
    trigger = MnsMessageTrigger(queue=queue.queue_name, conn_id=conn, wait_seconds=5)
    path, kwargs = trigger.serialize()
    assert path == "airflow_iprod.triggers.mns_message.MnsMessageTrigger"
    assert handle.access_key_secret not in json.dumps(kwargs)

    async def first_two() -> list[dict]:
        events = []
        async for event in MnsMessageTrigger(**kwargs).run():
            events.append(event.payload)
            if len(events) == 2:
                return events
        return events

    events = await asyncio.wait_for(first_two(), 60)
    by_body = {e["body"]: e for e in events}
    assert json.loads(next(b for b in by_body if b.startswith("{"))) == completion
    assert by_body["plain text, not a job"]["job_id"] is None
    assert [e["job_id"] for e in events if e["body"].startswith("{")] == ["job-42"]
    assert all(e["queue"] == queue.queue_name and e["message_id"] for e in events)
    with warnings.catch_warnings():  # the SDK marks the message counts as deprecated; MNS still has them
        warnings.simplefilter("ignore", DeprecationWarning)
        attributes = queue.get_attributes()
        assert attributes.active_messages + attributes.inactive_messages == 0  # deleted on reception


def test_the_example_dag_schedules_on_the_watcher() -> None:
    spec = importlib.util.spec_from_file_location("mns_asset_watcher", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    [watcher] = module.jobs_done.watchers
    assert isinstance(watcher.trigger, MnsMessageTrigger) and watcher.trigger.queue == "jobs-done"
    assert [a.name for a in module.dag.timetable.asset_condition.objects] == ["mns://jobs-done"]
    assert module.dag.dag_id == "iprod_on_mns_message"
