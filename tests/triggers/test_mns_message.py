"""MnsMessageTrigger (AssetWatcher) against a real engine's MNS: one event per message, base64 (as the
SDK sends) or raw text; deleted on reception without shared streams, and in Airflow's ack mode only once
the event is stored; built by common.messaging's MessageQueueTrigger; the example DAG schedules on it."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import warnings
from pathlib import Path

import pytest
from airflow.triggers.shared_stream import AckTimeout, SharedStreamManager
from mns.queue import Message, QueueMeta

from airflow_iprod.triggers.mns_message import MnsMessageTrigger
from tests.triggers.test_callbacks import make_queue

VISIBILITY_S = 6  # the ack-mode queue's visibility timeout: a message nobody deleted comes back this soon

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/mns_asset_watcher.py"


async def test_each_message_fires_one_event_and_is_deleted(make_engine, make_conn) -> None:
    handle = make_engine()
    conn = make_conn(handle, "iprod_mns_watch")
    queue = make_queue(handle, "watch-")
    completion = {"JobId": "job-42", "State": "Success", "Type": "IProduction"}
    queue.send_message(Message(json.dumps(completion)))  # the SDK base64-encodes it
    queue.set_encoding(False)
    queue.send_message(Message("plain text, not a job"))
    trigger = MnsMessageTrigger(mns_queue=queue.queue_name, conn_id=conn, wait_seconds=5)
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
    assert isinstance(watcher.trigger, MnsMessageTrigger) and watcher.trigger.mns_queue == "jobs-done"
    assert [a.name for a in module.dag.timetable.asset_condition.objects] == ["mns://jobs-done"]
    assert module.dag.dag_id == "iprod_on_mns_message"


def _counts(queue) -> tuple[int, int]:
    with warnings.catch_warnings():  # the SDK marks the message counts as deprecated; MNS still has them
        warnings.simplefilter("ignore", DeprecationWarning)
        attributes = queue.get_attributes()
        return attributes.active_messages, attributes.inactive_messages


async def _until(check, seconds: float = 30.0) -> None:
    for _ in range(int(seconds * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true within {seconds} s")


async def test_ack_mode_deletes_a_message_only_once_its_event_is_stored(make_engine, make_conn) -> None:
    """Through Airflow's own SharedStreamManager: a stored event's message is deleted; one whose event
    was never confirmed stored (a triggerer dying between) stays in the queue and is delivered again."""
    handle = make_engine()
    conn = make_conn(handle, "iprod_mns_ack")
    queue = make_queue(handle, "ack-")
    meta = QueueMeta()
    meta.set_visibilitytimeout(VISIBILITY_S)
    queue.set_attributes(meta)
    queue.set_encoding(False)
    queue.send_message(Message("first"))
    trigger = MnsMessageTrigger(mns_queue=queue.queue_name, conn_id=conn, wait_seconds=1)
    key = trigger.shared_stream_key()
    manager = SharedStreamManager(ack_timeout=4.0)
    events = trigger.filter_shared_stream(manager.subscribe(trigger_id=1, trigger=trigger, key=key))
    try:
        first = await asyncio.wait_for(anext(events), 30)
        assert first.payload["body"] == "first"
        seq = manager.bind_pending_event(trigger_id=1, key=key)
        assert seq is not None, "not in ack mode: the message would be deleted before the event is stored"
        await asyncio.sleep(2)  # received but not yet stored: still in the queue, not deleted
        assert sum(_counts(queue)) == 1
        manager.confirm_persisted([seq])  # the supervisor stored the asset event
        queue.send_message(Message("second"))
        second = await asyncio.wait_for(anext(events), 30)  # moving past "first" resolves it
        assert second.payload["body"] == "second"
        manager.bind_pending_event(trigger_id=1, key=key)  # ... never confirmed: the triggerer "dies"
        with pytest.raises(AckTimeout):
            await asyncio.wait_for(anext(events), 30)
    finally:
        await manager.stop_all()
    await _until(lambda: sum(_counts(queue)) == 1)  # "first" deleted; "second" kept
    again = queue.receive_message(VISIBILITY_S * 3)
    assert again.message_body == "second" and int(again.dequeue_count) >= 2


def test_message_queue_trigger_builds_the_mns_trigger() -> None:
    """common.messaging finds the provider's queue class through the provider info (scheme mns)."""
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

    wrapper = MessageQueueTrigger(scheme="mns", mns_queue="jobs-done", conn_id="iprod_x", wait_seconds=5)
    assert isinstance(wrapper.trigger, MnsMessageTrigger)
    assert wrapper.serialize() == MnsMessageTrigger("jobs-done", "iprod_x", 5).serialize()
