"""The MNS side of :class:`~airflow_iprod.triggers.mns_message.MnsMessageTrigger`: one long poll of a queue,
and deleting a message only once Airflow has stored what it caused.

On Airflow 3.3+ the triggerer runs this as a shared stream in *ack mode*: every watcher of the queue in
one triggerer shares one long poll, and :meth:`MnsStreamProducer.advance` is handed each message once
every watcher has turned it into asset events that the metadata database confirmed. Only then is it
deleted. A message whose events were never confirmed (ack timeout, a triggerer that died) is made
visible again at once, or after its visibility timeout if the process is gone, so MNS redelivers it:
at least once, never lost. Watchers must therefore tolerate a duplicate. A message stays invisible for
its queue's ``VisibilityTimeout`` (30 s by default) while its events are stored; keep that above
``[triggerer] shared_stream_ack_timeout``, or a slow store gets it delivered twice.

The official ``aliyun-mns-sdk`` is synchronous: its calls run in threads, never on the event loop.
No SDK import at module top: the trigger module is imported when DAGs are parsed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow_iprod.triggers.mns_consumer import (
    ERROR_BACKOFF_MAX_S,
    RECEIVE_BATCH,
    RELEASE_BASE_S,
    b64_decoded,
    job_id_of,
)

try:  # Airflow 3.3+: shared streams with a broker ack; before that the trigger deletes on reception
    from airflow.triggers.shared_stream import SharedStreamProducer
except ImportError:  # pragma: no cover - exercised only on older Airflow
    SharedStreamProducer = object  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)


class MnsStreamProducer(SharedStreamProducer):  # type: ignore[misc,valid-type]
    """Long-polls one MNS queue; yields ``(event payload, receipt handle)``; deletes on a clean advance."""

    def __init__(self, mns_queue: str, conn_id: str, wait_seconds: int) -> None:
        self.mns_queue = mns_queue
        self.conn_id = conn_id
        self.wait_seconds = int(wait_seconds)
        self._address: Any = None
        self._control: Any = None  # deletes and releases: the SDK's connection is not shared across threads

    async def _sdk_queue(self) -> Any:
        """A new SDK queue (one HTTP connection): the long poll's, or the control calls'."""
        if self._address is None:
            from airflow_iprod.hooks.iproduction import IProductionHook
            from airflow_iprod.triggers.mns_setup import queue_address

            settings = await IProductionHook(self.conn_id).asettings()
            self._address = queue_address(settings, self.mns_queue)
        return self._address.sdk_queue()

    async def open_stream(self) -> AsyncIterator[tuple[dict[str, Any], str]]:
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
                    errors = 0
                    continue
                if err.type == "QueueNotExist":  # a wrong name does not heal by waiting: fail the watchers
                    raise
                errors += 1
                log.warning("MNS queue %s: %s; retrying", self.mns_queue, err)
                await asyncio.sleep(min(2.0**errors, ERROR_BACKOFF_MAX_S))
                continue
            except Exception as err:  # network trouble: back off, keep watching
                errors += 1
                log.warning("MNS queue %s: receive failed (%s); retrying", self.mns_queue, err)
                await asyncio.sleep(min(2.0**errors, ERROR_BACKOFF_MAX_S))
                continue
            errors = 0
            for message in messages:
                yield self.payload(message), message.receipt_handle

    def payload(self, message: Any) -> dict[str, Any]:
        """The trigger event of one message (see the trigger's docstring)."""
        return {
            "queue": self.mns_queue,
            "message_id": message.message_id,
            "body": _text(message.message_body),
            "job_id": job_id_of(message.message_body),
            "dequeue_count": int(message.dequeue_count),
        }

    async def advance(self, batch: Sequence[Any]) -> None:
        """Delete what every watcher stored (or refused); hand the rest straight back for redelivery."""
        done = [i.broker_payload for i in batch if i.outcome.is_clean or i.outcome.rejected]
        again = [i.broker_payload for i in batch if not (i.outcome.is_clean or i.outcome.rejected)]
        if done:
            await self.delete(done)
        for handle in again:
            await self._call("release", lambda q, h=handle: q.change_message_visibility(h, RELEASE_BASE_S))

    async def delete(self, handles: list[str]) -> None:
        await self._call("delete", lambda q: q.batch_delete_message(handles))

    async def _call(self, what: str, call: Any) -> None:
        # An expired receipt handle (the message was redelivered meanwhile) or a lost call costs one
        # duplicate delivery; raising here would end every watcher of the queue.
        from mns.mns_exception import MNSServerException

        if self._control is None:
            self._control = await self._sdk_queue()
        try:
            await asyncio.to_thread(call, self._control)
        except MNSServerException as err:
            log.info("MNS %s on queue %s: %s %s", what, self.mns_queue, err.type, err.message)
        except Exception as err:
            log.warning("MNS %s on queue %s failed: %s", what, self.mns_queue, err)


def _text(body: bytes | str) -> str:
    """The message body as text: base64 as the SDK sends it, else as stored."""
    raw = body.encode() if isinstance(body, str) else body
    decoded = b64_decoded(raw)
    try:
        return (decoded if decoded is not None else raw).decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")
