"""Callback mode of IProductionJobTrigger against a real engine: jobs submitted through the official
SDKs, completion messages read by the shared consumer through ``aliyun-mns-sdk``.

* a job completes on its message (the safety-net poll is set far away, so only the message can end it),
  with one confirming Query, and its message is deleted;
* 30% of the callbacks dropped: every trigger still completes, the lost ones through the safety net;
* a message for a JobId nobody here waits on is released (visible again, DequeueCount counted), not
  deleted;
* messages are accepted base64-encoded (as the SDK and the engine send them) and as raw JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
import warnings
from typing import Any

import pytest
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import Message, QueueMeta
from PIL import Image

from airflow_iprod.local.config import FaultConfig
from airflow_iprod.triggers import mns_consumer
from airflow_iprod.triggers.iproduction import IProductionJobTrigger
from tests.conftest import EngineHandle, submit_to, upload_to

INTERVAL_ENV = "AIRFLOW__IPROD__CALLBACK_POLL_INTERVAL"


def make_queue(handle: EngineHandle, prefix: str = "cb-") -> Any:
    queue = Account(f"http://{handle.endpoint}", handle.access_key_id, handle.access_key_secret).get_queue(
        prefix + uuid.uuid4().hex[:10]
    )
    queue.create(QueueMeta())
    return queue


def mps_job(handle: EngineHandle, queue: str, name: str) -> str:
    """A quick MPS image job (about 2 s) that tells ``queue`` when it ends."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 200, 30)).save(buf, "PNG")
    png = upload_to(handle, buf.getvalue(), f"cbt/{name}.png")
    return submit_to(
        handle.mts(),
        "mts",
        "ImageH2V",
        png,
        f"oss://media/cbt/{name}-out.png",
        notify_url=f"mns://local.mns.cn-shanghai.aliyuncs.com/queues/{queue}",
    )


def queries(handle: EngineHandle) -> int:
    return handle.engine.stats.actions["QueryIProductionJob"]


async def run_trigger(trigger: IProductionJobTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


def callback_trigger(job_id: str, conn: str, queue: str, api: str = "mts") -> IProductionJobTrigger:
    return IProductionJobTrigger(
        job_id, conn, api=api, timeout=120, wait_mode="callback", callback_queue=queue
    )


def test_job_ids_from_both_bodies_base64_or_raw() -> None:
    mps = {"JobId": "j1", "State": "Success", "Type": "IProduction"}
    ice = {"EventType": "IProductionJobComplete", "MessageBody": {"JobId": "j2", "Status": "Success"}}
    for body, job_id in ((mps, "j1"), (ice, "j2")):
        raw = json.dumps(body)
        assert mns_consumer.job_id_of(raw) == job_id
        assert mns_consumer.job_id_of(__import__("base64").b64encode(raw.encode())) == job_id
    assert mns_consumer.job_id_of(json.dumps({"MessageBody": json.dumps({"JobId": "j3"})})) == "j3"
    assert mns_consumer.job_id_of("not a job message") is None
    assert [mns_consumer.release_timeout(n) for n in (1, 2, 3, 9)] == [1, 2, 4, 60]


async def test_a_job_completes_on_its_message(make_engine, make_conn, monkeypatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "300")  # only the message can end the wait within the test
    handle = make_engine()
    conn = make_conn(handle, "iprod_cb_one")
    queue = make_queue(handle)
    job_id = mps_job(handle, queue.queue_name, "one")
    before = queries(handle)
    (event,) = await asyncio.wait_for(run_trigger(callback_trigger(job_id, conn, queue.queue_name)), 60)
    assert event["status"] == "success" and event["job"]["status"] == "Success"
    assert queries(handle) - before == 1  # the one confirming Query
    await asyncio.sleep(0)  # let the consumer's delete be handed over, then wait for it
    consumer = mns_consumer._CONSUMERS[asyncio.get_running_loop()]
    for each in consumer.values():
        await each.settled()
        assert each.deleted == 1 and each.released == 0
    with pytest.raises(MNSServerException) as info:
        queue.receive_message(0)
    assert info.value.type == "MessageNotExist"


async def test_dropped_callbacks_complete_through_the_safety_net(make_engine, make_conn, monkeypatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "3")
    handle = make_engine(faults=FaultConfig(callback_drop_rate=0.3, seed=5), workers=2)
    conn = make_conn(handle, "iprod_cb_drop")
    queue = make_queue(handle)
    jobs = [mps_job(handle, queue.queue_name, f"drop{n}") for n in range(10)]
    events = await asyncio.wait_for(
        asyncio.gather(*(run_trigger(callback_trigger(j, conn, queue.queue_name)) for j in jobs)), 120
    )
    assert [e[0]["status"] for e in events] == ["success"] * len(jobs)
    assert sorted(e[0]["job_id"] for e in events) == sorted(jobs)
    consumer = next(iter(mns_consumer._CONSUMERS[asyncio.get_running_loop()].values()))
    await consumer.settled()
    # Seed 5 drops some of the ten (the engine logs each); the rest came as messages and were deleted.
    assert 0 < consumer.deleted < len(jobs)


async def test_a_message_for_an_unknown_job_is_released_not_deleted(
    make_engine, make_conn, monkeypatch
) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "300")
    handle = make_engine()
    conn = make_conn(handle, "iprod_cb_foreign")
    queue = make_queue(handle)
    foreign = json.dumps({"JobId": "someone-elses-job", "State": "Success", "Type": "IProduction"})
    queue.send_message(Message(foreign))
    job_id = mps_job(handle, queue.queue_name, "mine")
    (event,) = await asyncio.wait_for(run_trigger(callback_trigger(job_id, conn, queue.queue_name)), 60)
    assert event["status"] == "success"
    consumer = next(iter(mns_consumer._CONSUMERS[asyncio.get_running_loop()].values()))
    await consumer.settled()
    assert consumer.released >= 1 and consumer.deleted == 1
    # Still in the queue for another consumer (visible again after its release timeout).
    with warnings.catch_warnings():  # the SDK marks the message counts as deprecated; MNS still has them
        warnings.simplefilter("ignore", DeprecationWarning)
        attributes = queue.get_attributes()
        assert attributes.active_messages + attributes.inactive_messages == 1
    queue.set_encoding(False)
    # Released with a short timeout (1 s, doubling per receive); read off the loop, which must run on.
    again = await asyncio.to_thread(queue.receive_message, 30)
    assert mns_consumer.job_id_of(again.message_body) == "someone-elses-job"
    assert again.dequeue_count >= 2


async def test_a_message_nobody_waits_for_is_deleted_after_a_few_deliveries(
    make_engine, make_conn, monkeypatch
) -> None:
    """A job that ended before its task deferred leaves a message no trigger takes: it is released a
    few times, then deleted, instead of circling until the queue's retention ends."""
    monkeypatch.setenv(INTERVAL_ENV, "300")
    monkeypatch.setattr(mns_consumer, "FOREIGN_DELIVERIES", 3)  # 1 s + 2 s of releases, not 2 minutes
    handle = make_engine()
    conn = make_conn(handle, "iprod_cb_orphan")
    queue = make_queue(handle)
    orphan = json.dumps({"JobId": "ended-before-deferring", "State": "Success", "Type": "IProduction"})
    queue.send_message(Message(orphan))
    waiting = asyncio.ensure_future(run_trigger(callback_trigger("still-running", conn, queue.queue_name)))
    try:
        for _ in range(300):
            await asyncio.sleep(0.1)
            consumers = mns_consumer._CONSUMERS.get(asyncio.get_running_loop(), {})
            if any(c.dropped for c in consumers.values()):
                break
        (consumer,) = mns_consumer._CONSUMERS[asyncio.get_running_loop()].values()
        await consumer.settled()
        assert consumer.dropped == 1 and consumer.released == 2 and consumer.received == 3
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    with pytest.raises(MNSServerException) as info:
        queue.receive_message(0)
    assert info.value.type == "MessageNotExist"


async def test_callback_mode_over_the_engines_tls(make_engine, make_conn, monkeypatch) -> None:
    """HTTPS, the cloud's protocol: the consumer's MNS SDK connection and the Query pool both verify
    the engine's certificate against the connection's ca_bundle."""
    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.triggers.mns_setup import notify_url, queue_address

    monkeypatch.setenv(INTERVAL_ENV, "300")  # only the message can end the wait within the test
    engine = make_engine(tls=True)
    conn = make_conn(engine, "iprod_cb_tls", protocol="https", ca_bundle=str(engine.engine.ca_file))
    hook = IProductionHook(conn, api="mts")
    settings = hook.settings()
    name = "cb-tls-" + uuid.uuid4().hex[:8]
    queue_address(settings, name).sdk_queue().create(QueueMeta())  # over HTTPS, trusting the CA
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 200, 30)).save(buf, "PNG")
    engine.engine.objects.put_object("media", "cbt/tls.png", io.BytesIO(buf.getvalue()))  # setup only
    job_id = hook.submit(
        "ImageH2V",
        input="oss://media/cbt/tls.png",
        output="oss://media/cbt/tls-out.png",
        notify_url=notify_url(settings, name),
    )
    before = queries(engine)
    (event,) = await asyncio.wait_for(run_trigger(callback_trigger(job_id, conn, name)), 60)
    assert event["status"] == "success"
    assert queries(engine) - before == 1  # woken by the message, confirmed by one Query
    assert engine.engine.stats.tls_connections == engine.engine.stats.connections


def test_callback_mode_refuses_an_untrusted_certificate(make_engine, make_conn) -> None:
    from mns.mns_exception import MNSClientNetworkException

    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.triggers.mns_setup import queue_address

    engine = make_engine(tls=True)
    conn = make_conn(engine, "iprod_cb_untrusted", protocol="https")  # no ca_bundle
    with pytest.raises(MNSClientNetworkException, match="CERTIFICATE_VERIFY_FAILED"):
        queue_address(IProductionHook(conn).settings(), "any").sdk_queue().create(QueueMeta())
