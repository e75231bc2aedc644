"""Job completion callbacks, end to end through the official SDKs: jobs submitted with
``alibabacloud_mts20140618`` / ``alibabacloud_ice20201109``, messages read with ``aliyun-mns-sdk``.

MPS: ``NotifyUrl`` gets the body the MPS IProduction reference shows. ICE: ``SetEventCallback`` names an
``ice-callback-`` queue that gets the local ``IProductionJobComplete`` event. Exactly one message per
job end, also across a worker's retry and an engine restart between a job's end and its callback; a
missing queue never fails a job; the drop and delay faults work and say so on the log.
"""

from __future__ import annotations

import io
import json
import os
import signal
import uuid
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice_models
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import QueueMeta
from PIL import Image
from Tea.exceptions import TeaException

from airflow_iprod.local.config import FaultConfig
from tests.conftest import EngineHandle, submit_to, upload_to, wait_for
from tests.engine_process import wait_worker
from tests.local.wavgen import noisy_tone_wav


def queue_for(handle: EngineHandle, name: str | None = None) -> Any:
    queue = Account(f"http://{handle.endpoint}", handle.access_key_id, handle.access_key_secret).get_queue(
        name or "cb-" + uuid.uuid4().hex[:12]
    )
    queue.create(QueueMeta())
    return queue


def messages(queue: Any, wait_s: int = 20) -> list[dict[str, Any]]:
    """Everything in the queue (the first long poll waits for one), deleted once read."""
    got = queue.batch_receive_message(16, wait_s)
    while True:
        try:
            more = queue.batch_receive_message(16, 0)
        except MNSServerException as err:
            assert err.type == "MessageNotExist"
            break
        got += more
    queue.batch_delete_message([m.receipt_handle for m in got])
    return [json.loads(m.message_body) for m in got]


def assert_empty(queue: Any) -> None:
    with pytest.raises(MNSServerException) as info:
        queue.receive_message(0)
    assert info.value.type == "MessageNotExist"


def mps_submit(handle: EngineHandle, name: str, function: str = "ImageH2V", **fields: Any) -> str:
    """An MPS image job on a small still: the quickest real job to run (about 2 s)."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    png = upload_to(handle, buf.getvalue(), f"cb/{name}.png")
    return submit_to(handle.mts(), "mts", function, png, f"oss://media/cb/{name}-out.png", **fields)


def ice_submit(handle: EngineHandle, name: str) -> str:
    wav = upload_to(handle, noisy_tone_wav(0.5), f"cb/{name}.wav")
    return submit_to(handle.ice(), "ice", "SpeechDenoise", wav, f"oss://media/cb/{name}-out.wav")


def set_ice_callback(handle: EngineHandle, queue: str, events: str | None = None) -> Any:
    request = ice_models.SetEventCallbackRequest(
        callback_type="MNS", callback_queue_name=queue, event_type_list=events
    )
    return handle.ice().set_event_callback(request).body


def test_mps_notify_url_gets_the_documented_body(make_engine: Any) -> None:
    handle = make_engine(faults=FaultConfig(fail_jobs=frozenset({"ImageCartoonize"})))
    queue = queue_for(handle)
    # The MNS host form and the seed's OSS-style host name the same local queue.
    ok = mps_submit(
        handle,
        "ok",
        notify_url=f"mns://1234567890.mns.cn-shanghai.aliyuncs.com/queues/{queue.queue_name}",
        user_data='{"ticket": 7}',
    )
    assert wait_for(handle.mts(), "mts", ok)["State"] == "Success"
    failed = mps_submit(
        handle,
        "failed",
        "ImageCartoonize",  # failed on purpose by the fault injection
        notify_url=f"mns://1234567890.oss-cn-shanghai.aliyuncs.com/queues/{queue.queue_name}",
    )
    assert wait_for(handle.mts(), "mts", failed)["State"] == "Fail"
    got = {m["JobId"]: m for m in messages(queue)}
    assert got[ok] == {
        "Code": "Success",
        "Details": [],
        "FunctionName": "ImageH2V",
        "JobId": ok,
        "Message": "success",
        "State": "Success",
        "Type": "IProduction",
        "UserData": '{"ticket": 7}',
    }
    assert got[failed]["State"] == "Fail" and got[failed]["Code"] == "InjectedFault"
    assert got[failed]["Message"] and "UserData" not in got[failed]
    assert len(got) == 2


def test_ice_event_callback_is_set_read_and_used(make_engine: Any) -> None:
    handle = make_engine(faults=FaultConfig(fail_jobs=frozenset({"SpeechDenoise"})))
    queue = queue_for(handle, "ice-callback-" + uuid.uuid4().hex[:8])
    assert handle.ice().get_event_callback().body.callback_queue_name is None
    assert set_ice_callback(handle, queue.queue_name, "ProduceMediaComplete,IProductionJobComplete").success
    body = handle.ice().get_event_callback().body
    assert (body.callback_type, body.callback_queue_name) == ("MNS", queue.queue_name)
    assert body.event_type_list == "ProduceMediaComplete,IProductionJobComplete"
    job_id = ice_submit(handle, "ice")
    assert wait_for(handle.ice(), "ice", job_id)["Status"] == "Fail"
    [event] = messages(queue)
    assert event["EventType"] == "IProductionJobComplete" and isinstance(event["UserId"], int)
    assert event["EventTime"].endswith("Z")
    assert event["MessageBody"]["JobId"] == job_id
    assert event["MessageBody"]["Status"] == "Fail" and event["MessageBody"]["ErrorCode"] == "InjectedFault"
    # An event list without the IProduction event sends none (ICE sends only the listed events).
    set_ice_callback(handle, queue.queue_name, "ProduceMediaComplete")
    assert wait_for(handle.ice(), "ice", ice_submit(handle, "ice2"))["Status"] == "Fail"
    handle.engine.callbacks.deliver_due()  # settle now rather than wait for the sender's next round
    assert_empty(queue)


def test_set_event_callback_refuses_what_it_cannot_serve(local_engine: EngineHandle) -> None:
    with pytest.raises(TeaException) as info:
        set_ice_callback(local_engine, "my-queue")
    assert info.value.code == "InvalidParameter" and "CallbackQueueName" in info.value.message
    request = ice_models.SetEventCallbackRequest(callback_type="HTTP", callback_url="http://example.com/cb")
    with pytest.raises(TeaException) as info:
        local_engine.ice().set_event_callback(request)
    assert "CallbackType" in info.value.message


def test_a_missing_queue_is_logged_and_the_job_still_succeeds(make_engine: Any, capfd: Any) -> None:
    handle = make_engine()
    job_id = mps_submit(handle, "lost", notify_url="mns://1.mns.cn-shanghai.aliyuncs.com/queues/nobody-here")
    assert wait_for(handle.mts(), "mts", job_id)["State"] == "Success"
    handle.engine.callbacks.deliver_due()
    assert "callback queue 'nobody-here' does not exist" in capfd.readouterr().err
    assert handle.engine.mns_store.pending_callbacks() == []


@pytest.mark.slow
def test_one_message_per_job_across_a_worker_retry(make_engine: Any) -> None:
    handle = make_engine(workers=1, faults=FaultConfig(job_latency_s=2.0))
    queue = queue_for(handle)
    job_id = mps_submit(
        handle, "retry", notify_url=f"mns://1.mns.cn-shanghai.aliyuncs.com/queues/{queue.queue_name}"
    )
    os.kill(wait_worker(handle.data_dir), signal.SIGKILL)  # the first attempt dies; the job reruns
    assert wait_for(handle.mts(), "mts", job_id)["State"] == "Success"
    assert handle.engine.jobs.get(job_id).attempts == 2
    assert [m["JobId"] for m in messages(queue)] == [job_id]
    assert_empty(queue)


def test_a_callback_left_in_the_outbox_is_sent_once_after_a_restart(make_engine: Any) -> None:
    handle = make_engine()
    queue = queue_for(handle)
    handle.engine.callbacks.stop()  # as if the engine died between the job's end and its callback
    job_id = mps_submit(
        handle, "crash", notify_url=f"mns://1.mns.cn-shanghai.aliyuncs.com/queues/{queue.queue_name}"
    )
    assert wait_for(handle.mts(), "mts", job_id)["State"] == "Success"
    assert [j for j, _ in handle.engine.mns_store.pending_callbacks()] == [job_id]
    handle.restart()
    queue = queue_for(
        handle, queue.queue_name
    )  # a new client; CreateQueue with the same attributes is a no-op
    assert [m["JobId"] for m in messages(queue)] == [job_id]
    assert_empty(queue)


def test_dropped_and_delayed_callbacks(make_engine: Any, capfd: Any) -> None:
    dropping = make_engine(faults=FaultConfig(callback_drop_rate=1.0, fail_jobs=frozenset({"ImageH2V"})))
    queue = queue_for(dropping)
    job_id = mps_submit(
        dropping, "drop", notify_url=f"mns://1.mns.cn-shanghai.aliyuncs.com/queues/{queue.queue_name}"
    )
    assert wait_for(dropping.mts(), "mts", job_id)["State"] == "Fail"
    dropping.engine.callbacks.deliver_due()
    assert (
        f"job {job_id}: completion callback to queue {queue.queue_name!r} dropped on purpose"
        in capfd.readouterr().err
    )
    assert_empty(queue)

    delayed = make_engine(faults=FaultConfig(callback_delay_s=1.5, fail_jobs=frozenset({"ImageH2V"})))
    queue = queue_for(delayed)
    job_id = mps_submit(
        delayed, "late", notify_url=f"mns://1.mns.cn-shanghai.aliyuncs.com/queues/{queue.queue_name}"
    )
    [message] = queue.batch_receive_message(16, 20)
    finished_ms = delayed.engine.jobs.get(job_id).finish_time * 1000
    assert message.enqueue_time >= finished_ms + 1500  # both are the engine's own clock
    assert json.loads(message.message_body)["JobId"] == job_id
