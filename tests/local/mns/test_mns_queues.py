"""The engine's MNS queue API through the official ``aliyun-mns-sdk`` (module ``mns``), over real HTTP:
only the endpoint differs from the cloud. Visibility timeout and redelivery, long polling, batches,
durability across a restart, signature checks and MNS's XML error bodies."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import uuid
from email.utils import formatdate
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import requests
from mns.account import Account
from mns.auth import StaticCredentialsProvider
from mns.mns_client import MNSClient
from mns.mns_exception import MNSServerException
from mns.queue import Message, QueueMeta

from tests.conftest import EngineHandle, oss_client_for

NS = "{http://mns.aliyuncs.com/doc/v1/}"


def account(handle: EngineHandle, secret: str | None = None) -> Account:
    return Account(f"http://{handle.endpoint}", handle.access_key_id, secret or handle.access_key_secret)


def new_queue(handle: EngineHandle, visibility_s: int = 30) -> Any:
    queue = account(handle).get_queue("q-" + uuid.uuid4().hex[:12])
    meta = QueueMeta()
    meta.set_visibilitytimeout(visibility_s)
    queue.create(meta)
    return queue


def refused(call: Any) -> MNSServerException:
    with pytest.raises(MNSServerException) as info:
        call()
    return info.value


def signed(
    handle: EngineHandle, method: str, resource: str, date: str | None = None, body: bytes = b""
) -> Any:
    """A raw request signed by the SDK's own signing code (for what the SDK never sends)."""
    headers = {
        "x-mns-version": "2015-06-06",
        "date": date or formatdate(usegmt=True),
        "host": handle.endpoint,
    }
    if body:
        headers["content-type"] = "text/xml;charset=UTF-8"
        headers["content-md5"] = base64.b64encode(hashlib.md5(body).hexdigest().encode()).decode()
    client = MNSClient(f"http://{handle.endpoint}", handle.access_key_id, handle.access_key_secret)
    credential = StaticCredentialsProvider(handle.access_key_id, handle.access_key_secret).get_credentials()
    headers["Authorization"] = client.get_signature(method, headers, resource, credential)
    return requests.request(
        method, f"http://{handle.endpoint}{resource}", headers=headers, data=body, timeout=30
    )


def error_fields(response: Any) -> dict[str, str]:
    root = ET.fromstring(response.content)
    assert root.tag == f"{NS}Error"
    return {child.tag.removeprefix(NS): child.text or "" for child in root}


def test_send_receive_delete(local_engine: EngineHandle) -> None:
    queue = new_queue(local_engine)
    sent = queue.send_message(Message("héllo"))  # the SDK sends the body base64-encoded
    got = queue.receive_message(1)
    assert got.message_body == "héllo".encode()
    assert got.message_id == sent.message_id and got.dequeue_count == 1
    expected_md5 = hashlib.md5(base64.b64encode("héllo".encode())).hexdigest().upper()
    assert sent.message_body_md5 == got.message_body_md5 == expected_md5
    assert got.next_visible_time >= got.first_dequeue_time + 30_000 - 1000
    queue.delete_message(got.receipt_handle)
    assert refused(lambda: queue.receive_message(0)).type == "MessageNotExist"
    queue.delete()


def test_redelivery_after_the_visibility_timeout_with_a_new_handle(local_engine: EngineHandle) -> None:
    queue = new_queue(local_engine, visibility_s=1)
    queue.send_message(Message("again"))
    first = queue.receive_message(1)
    second = queue.receive_message(10)  # the long poll wakes when the message reappears
    assert second.message_id == first.message_id
    assert (first.dequeue_count, second.dequeue_count) == (1, 2)
    assert second.receipt_handle != first.receipt_handle
    assert second.first_dequeue_time == first.first_dequeue_time
    err = refused(lambda: queue.delete_message(first.receipt_handle))  # the old handle is spent
    assert err.type == "MessageNotExist"
    queue.delete_message(second.receipt_handle)
    queue.delete()


def test_change_visibility_hands_out_a_new_handle(local_engine: EngineHandle) -> None:
    queue = new_queue(local_engine)
    queue.send_message(Message("x"))
    got = queue.receive_message(1)
    changed = queue.change_message_visibility(got.receipt_handle, 1)
    assert changed.receipt_handle != got.receipt_handle
    assert refused(lambda: queue.delete_message(got.receipt_handle)).type == "MessageNotExist"
    again = queue.receive_message(10)
    assert again.message_id == got.message_id and again.dequeue_count == 2
    assert refused(lambda: queue.delete_message("not-a-handle")).type == "ReceiptHandleError"
    queue.delete()


def test_long_poll_returns_when_a_message_arrives(local_engine: EngineHandle) -> None:
    queue = new_queue(local_engine)
    results: list[Any] = []
    # Its own client: an SDK queue object holds one HTTP connection, not to be shared by two threads.
    consumer = account(local_engine).get_queue(queue.queue_name)
    poller = threading.Thread(target=lambda: results.append(consumer.batch_receive_message(16, 30)))
    poller.start()
    time.sleep(0.3)  # let the poll start waiting (it would also find the message if it started later)
    queue.send_message(Message("wake up"))
    poller.join(timeout=20)  # well under the 30 s wait: only a wake-up on send returns this early
    assert not poller.is_alive()
    assert [m.message_body for m in results[0]] == [b"wake up"]
    queue.delete()


def test_batches_priority_peek_and_attributes(local_engine: EngineHandle) -> None:
    queue = new_queue(local_engine)
    queue.batch_send_message([Message("low", priority=16), Message("high", priority=1), Message("mid")])
    assert queue.peek_message().message_body == b"high"
    got = queue.batch_receive_message(16, 1)
    assert [m.message_body for m in got] == [b"high", b"mid", b"low"]
    meta = queue.get_attributes()
    assert (meta.visibility_timeout, meta.inactive_messages, meta.active_messages) == (30, 3, 0)
    queue.batch_delete_message([m.receipt_handle for m in got])
    assert queue.get_attributes().inactive_messages == 0
    meta = QueueMeta()
    meta.set_visibilitytimeout(45)
    queue.set_attributes(meta)
    assert queue.get_attributes().visibility_timeout == 45
    names = account(local_engine).list_queue(prefix=queue.queue_name)[0]
    assert names == [f"http://{local_engine.endpoint}/queues/{queue.queue_name}"]
    queue.delete()


def test_errors_are_mns_xml_bodies(local_engine: EngineHandle) -> None:
    missing = account(local_engine).get_queue("no-such-queue")
    err = refused(lambda: missing.send_message(Message("x")))
    assert (err.type, err.request_id != "") == ("QueueNotExist", True)
    queue = new_queue(local_engine)
    meta = QueueMeta()
    meta.set_visibilitytimeout(99)
    assert refused(lambda: queue.create(meta)).type == "QueueAlreadyExist"
    response = signed(local_engine, "GET", "/queues/no-such-queue")
    assert response.status_code == 404
    fields = error_fields(response)
    assert fields["Code"] == "QueueNotExist" and fields["RequestId"] == response.headers["x-mns-request-id"]
    assert set(fields) == {"Code", "Message", "RequestId", "HostId"}
    bad = b'<?xml version="1.0"?><Queue xmlns="http://mns.aliyuncs.com/doc/v1/"><VisibilityTimeout>0</VisibilityTimeout></Queue>'
    response = signed(local_engine, "PUT", "/queues/bad-vt", body=bad)
    assert response.status_code == 400 and error_fields(response)["Code"] == "InvalidArgument"
    assert "VisibilityTimeout" in error_fields(response)["Message"]
    response = signed(local_engine, "GET", f"/queues/{queue.queue_name}/messages?waitseconds=31")
    assert response.status_code == 400 and "waitseconds" in error_fields(response)["Message"]
    queue.delete()


def test_signatures_are_checked(local_engine: EngineHandle) -> None:
    err = refused(lambda: account(local_engine, secret="wrong").list_queue())
    assert err.type == "SignatureDoesNotMatch"
    response = requests.get(
        f"http://{local_engine.endpoint}/queues", headers={"x-mns-version": "2015-06-06"}, timeout=30
    )
    assert response.status_code == 403 and error_fields(response)["Code"] == "AccessDenied"
    stale = formatdate(time.time() - 3600, usegmt=True)
    response = signed(local_engine, "GET", "/queues", date=stale)
    assert response.status_code == 403 and error_fields(response)["Code"] == "TimeExpired"
    assert signed(local_engine, "GET", "/queues").status_code == 200


def test_a_bucket_named_queues_stays_an_oss_bucket(local_engine: EngineHandle) -> None:
    import alibabacloud_oss_v2 as oss

    client = oss_client_for(local_engine)
    client.put_bucket(oss.PutBucketRequest(bucket="queues"))
    client.put_object(oss.PutObjectRequest(bucket="queues", key="a/messages", body=b"object"))
    got = client.get_object(oss.GetObjectRequest(bucket="queues", key="a/messages"))
    assert got.body.read() == b"object"


def test_messages_survive_an_engine_restart(make_engine: Any) -> None:
    handle = make_engine()
    queue = new_queue(handle, visibility_s=1)
    queue.send_message(Message("kept"))
    taken = queue.receive_message(1)  # inactive when the engine stops
    handle.restart()
    queue = account(handle).get_queue(queue.queue_name)
    again = queue.receive_message(10)
    assert (again.message_id, again.dequeue_count, again.message_body) == (taken.message_id, 2, b"kept")


def test_a_long_poll_ends_when_the_engine_stops(make_engine: Any) -> None:
    handle = make_engine()
    queue = new_queue(handle)
    outcome: list[Exception] = []

    def poll() -> None:
        try:
            queue.receive_message(30)
        except Exception as err:  # the SDK's network error or the 503 ServiceUnavailable
            outcome.append(err)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    handle.engine.stop()
    poller.join(timeout=15)  # not the 30 s wait: stopping wakes the waiting request
    assert not poller.is_alive() and len(outcome) == 1
