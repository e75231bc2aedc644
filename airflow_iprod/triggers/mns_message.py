"""MnsMessageTrigger: schedule a DAG on messages arriving in an MNS queue (Airflow 3 ``AssetWatcher``).

Each run long-polls the queue with the official ``aliyun-mns-sdk`` (in a thread: the SDK is synchronous)
and fires one event per message: ``{"queue", "message_id", "body", "job_id", "dequeue_count"}``, with
``body`` decoded (base64 as the SDK sends, else the text as stored) and ``job_id`` filled when the message
is an MPS or ICE job completion. The message is deleted when it is received, before the event is
handed over (as the Amazon SQS trigger does by default): a triggerer that dies in between loses that one
event rather than scheduling the DAG twice.

Queue and endpoint come from the connection as in callback mode (``mns_endpoint`` extra, a local engine's
own port by default); the serialized kwargs hold the connection id, never credentials.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_iprod.triggers.mns_consumer import ERROR_BACKOFF_MAX_S, RECEIVE_BATCH, job_id_of

DEFAULT_WAIT_S = 20


class MnsMessageTrigger(BaseEventTrigger):
    """Fire for each message of MNS queue ``queue`` (see the module docstring)."""

    def __init__(self, queue: str, conn_id: str = "alibabacloud_default", wait_seconds: int = DEFAULT_WAIT_S):
        super().__init__()
        self.queue = queue
        self.conn_id = conn_id
        self.wait_seconds = int(wait_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"queue": self.queue, "conn_id": self.conn_id, "wait_seconds": self.wait_seconds},
        )

    async def _sdk_queue(self) -> Any:
        from airflow_iprod.hooks.iproduction import IProductionHook
        from airflow_iprod.triggers.mns_setup import queue_address

        settings = await IProductionHook(self.conn_id).asettings()
        return queue_address(settings, self.queue).sdk_queue()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mns.mns_exception import MNSServerException

        queue = await self._sdk_queue()
        errors = 0
        while True:
            try:
                messages = await asyncio.to_thread(
                    queue.batch_receive_message, RECEIVE_BATCH, self.wait_seconds
                )
            except MNSServerException as err:
                if err.type == "MessageNotExist":  # an empty long poll
                    continue
                if err.type == "QueueNotExist":
                    raise
                errors += 1
                self.log.warning("MNS queue %s: %s; retrying", self.queue, err)
                await asyncio.sleep(min(2.0**errors, ERROR_BACKOFF_MAX_S))
                continue
            except Exception as err:  # network trouble: back off, keep watching
                errors += 1
                self.log.warning("MNS queue %s: receive failed (%s); retrying", self.queue, err)
                await asyncio.sleep(min(2.0**errors, ERROR_BACKOFF_MAX_S))
                continue
            errors = 0
            await asyncio.to_thread(queue.batch_delete_message, [m.receipt_handle for m in messages])
            for message in messages:
                yield TriggerEvent(
                    {
                        "queue": self.queue,
                        "message_id": message.message_id,
                        "body": _text(message.message_body),
                        "job_id": job_id_of(message.message_body),
                        "dequeue_count": int(message.dequeue_count),
                    }
                )


def _text(body: bytes | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return raw.decode("utf-8", errors="replace")
