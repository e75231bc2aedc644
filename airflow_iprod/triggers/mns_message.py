"""MnsMessageTrigger: schedule a DAG on messages arriving in an MNS queue (Airflow 3 ``AssetWatcher``).

It fires one event per message: ``{"queue", "message_id", "body", "job_id", "dequeue_count"}``, with
``body`` decoded (base64 as the SDK sends, else the text as stored) and ``job_id`` filled when the message
is an MPS or ICE job completion.

* **Airflow 3.3+**: every watcher of one queue in a triggerer shares one long poll (a shared stream in
  ack mode, :mod:`~airflow_iprod.triggers.mns_stream`), and a message is deleted only once the asset
  events it caused are stored. A triggerer that dies in between makes MNS redeliver it: a DAG may be
  scheduled twice for one message, never zero times.
* **Earlier Airflow**: each watcher long-polls on its own and deletes a message on reception, before
  the event is handed over (as the Amazon SQS trigger does by default): a triggerer that dies in between
  loses that one event rather than scheduling the DAG twice.

``common.messaging``'s ``MessageQueueTrigger(scheme="mns", mns_queue=...)`` builds this trigger
(:class:`~airflow_iprod.queues.mns.MnsMessageQueueProvider`). Queue and endpoint come from the
connection as in callback mode (``mns_endpoint`` extra, a local engine's own port by default); the
serialized kwargs hold the connection id, never credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

DEFAULT_WAIT_S = 20
DEFAULT_CONN_ID = "alibabacloud_default"


class MnsMessageTrigger(BaseEventTrigger):
    """Fire for each message of the MNS queue ``mns_queue`` (see the module docstring)."""

    def __init__(self, mns_queue: str, conn_id: str = DEFAULT_CONN_ID, wait_seconds: int = DEFAULT_WAIT_S):
        super().__init__()
        self.mns_queue = mns_queue
        self.conn_id = conn_id
        self.wait_seconds = int(wait_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"mns_queue": self.mns_queue, "conn_id": self.conn_id, "wait_seconds": self.wait_seconds},
        )

    def shared_stream_key(self) -> Hashable | None:
        return ("mns", self.conn_id, self.mns_queue)  # one long poll per queue and connection

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> Any:
        from airflow_iprod.triggers.mns_stream import MnsStreamProducer

        return MnsStreamProducer(
            kwargs["mns_queue"],
            kwargs.get("conn_id", DEFAULT_CONN_ID),
            kwargs.get("wait_seconds", DEFAULT_WAIT_S),
        )

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        async for payload in shared_stream:  # every message of the queue is this watcher's
            yield TriggerEvent(payload)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Airflow before 3.3 (no shared streams): a long poll of its own, deleting on reception."""
        producer = self.create_shared_stream_producer(self.serialize()[1])
        async for payload, handle in producer.open_stream():
            await producer.delete([handle])
            yield TriggerEvent(payload)
