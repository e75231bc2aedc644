"""One MNS consumer per (event loop, MNS endpoint, queue): every callback-mode trigger of a triggerer
waiting on that queue shares it.

* A thread runs the official ``aliyun-mns-sdk`` (synchronous) long-poll ``BatchReceiveMessage`` loop and
  hands each batch to the event loop (``call_soon_threadsafe``), which routes a message by JobId to the
  triggers waiting on that job (an :class:`asyncio.Event` each: a *hint*, never the truth; the trigger
  confirms with one Query).
* A message for a job that this triggerer holds is kept (its receipt handle held) until a trigger
  confirmed the job's end, then deleted. A message for any other job is *released*: its visibility is
  changed to a short timeout, growing with its DequeueCount, so another triggerer sharing the queue can
  take it and a message nobody waits for does not spin; after ``FOREIGN_DELIVERIES`` receptions it is
  deleted. Jobs confirmed here are remembered for a while, so a late duplicate of their message is
  deleted.
* Deletes and releases run on a second SDK connection in one worker thread, never on the loop.
* The thread stops when the last trigger stops watching (a triggerer shutting down cancels its
  triggers, which stop watching); it is a daemon, so a dead loop never keeps the process alive.

Bodies: MPS NotifyUrl messages ``{"JobId", "State", ...}`` and ICE events ``{"EventType", "MessageBody":
{"JobId", "Status", ...}}``, base64-encoded as the SDK sends them or raw JSON.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import json
import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

RECEIVE_BATCH = 16  # MNS's maximum per BatchReceiveMessage
RECEIVE_WAIT_S = 10  # long-poll time; also how long a stopped consumer's thread may linger
RELEASE_BASE_S = 1  # a released message is visible again after this, doubled per DequeueCount ...
RELEASE_MAX_S = 60  # ... up to this
# A message nobody here waits on, received this many times (about 2 minutes of releases), is deleted:
# a job that ended before its task deferred, or whose trigger is gone, would otherwise circle until
# the queue's retention ends. A trigger that still wanted it finds the end at its safety-net Query.
FOREIGN_DELIVERIES = 8
DONE_MEMORY = 10_000  # confirmed JobIds remembered, so a late duplicate of their message is deleted
ERROR_BACKOFF_MAX_S = 30.0
DEFAULT_CALLBACK_POLL_INTERVAL = 300.0


def callback_poll_interval() -> float:
    """``[iprod] callback_poll_interval``: the safety-net poll of callback mode (seconds, default 300)."""
    try:
        from airflow.configuration import conf

        return conf.getfloat("iprod", "callback_poll_interval", fallback=DEFAULT_CALLBACK_POLL_INTERVAL)
    except ImportError:  # plain asyncio use without Airflow
        return DEFAULT_CALLBACK_POLL_INTERVAL


@dataclass(frozen=True)
class QueueAddress:
    """Where the callback messages are: an MNS endpoint URL, a queue, the keys to read it with."""

    endpoint: str
    queue: str
    access_key_id: str = field(default="", repr=False)
    access_key_secret: str = field(default="", repr=False, compare=False)
    security_token: str = field(default="", repr=False, compare=False)
    ca_bundle: str = field(default="", compare=False)  # a CA to trust over HTTPS (the local engine's)

    def sdk_queue(self) -> Any:
        from mns.account import Account

        account = Account(self.endpoint, self.access_key_id, self.access_key_secret, self.security_token)
        if self.ca_bundle and account.mns_client.is_https:
            _trust(account.mns_client.http, self.ca_bundle)
        queue = account.get_queue(self.queue)
        queue.set_encoding(False)  # decoded here: the engine and the SDK send base64, others raw JSON
        return queue


def _trust(sdk_http: Any, ca_bundle: str) -> None:
    """Give the SDK's HTTPS connection a context that trusts ``ca_bundle``; verification stays on.

    ``aliyun-mns-sdk`` builds ``MNSHTTPSConnection(host)`` with the system's CAs and no way to pass a
    context, so its (single, long-lived) connection is replaced by one of the same class with ours.
    """
    import http.client
    import ssl

    from mns.mns_http import MNSHTTPSConnection

    class _Trusting(MNSHTTPSConnection):  # type: ignore[misc]
        def __init__(self, host: str, context: ssl.SSLContext) -> None:
            http.client.HTTPSConnection.__init__(self, host, context=context)
            self.request_length = 0

    sdk_http.conn.close()
    sdk_http.conn = _Trusting(sdk_http.host, ssl.create_default_context(cafile=ca_bundle))


def job_id_of(body: bytes | str) -> str | None:
    """The JobId an MPS or ICE completion message names (base64 or raw JSON); None for anything else."""
    raw = body.encode() if isinstance(body, str) else body
    for candidate in (raw, b64_decoded(raw)):
        if candidate is None:
            continue
        try:
            data = json.loads(candidate)
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict):
            continue
        inner = data.get("MessageBody")
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                inner = None
        job_id = data.get("JobId") or (inner.get("JobId") if isinstance(inner, dict) else None)
        return str(job_id) if job_id else None
    return None


def b64_decoded(raw: bytes) -> bytes | None:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def release_timeout(dequeue_count: int) -> int:
    return int(min(RELEASE_BASE_S * 2 ** max(dequeue_count - 1, 0), RELEASE_MAX_S))


class MnsConsumer:
    """The shared consumer of one queue on one event loop (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, address: QueueAddress) -> None:
        self.loop = loop
        self.address = address
        self.received = 0  # messages received, for the logs, the tests and the benchmark
        self.deleted = 0
        self.released = 0
        self.dropped = 0  # deleted after FOREIGN_DELIVERIES receptions with nobody waiting on them
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._held: dict[str, list[str]] = {}  # receipt handles of messages for held jobs
        self._done: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._stop: threading.Event | None = None
        self._control: ThreadPoolExecutor | None = None
        self._control_queue: Any = None
        self._pending: set[Future[Any]] = set()

    # ------------------------------------------------------------------ the loop's side

    def watch(self, job_id: str) -> asyncio.Event:
        """An event set whenever a message names ``job_id`` (starts the receiving thread if needed)."""
        hint = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(hint)
        if self._stop is None:
            self._start()
        return hint

    def unwatch(self, job_id: str, hint: asyncio.Event, *, confirmed: bool) -> None:
        """Stop routing ``job_id`` to ``hint``. ``confirmed``: a Query showed the job ended, so its
        messages are deleted; otherwise, once nobody here waits on it, they are released."""
        waiting = self._waiters.get(job_id)
        if waiting is not None:
            waiting.discard(hint)
            if not waiting:
                del self._waiters[job_id]
        if confirmed:
            self._done[job_id] = None
            self._done.move_to_end(job_id)
            while len(self._done) > DONE_MEMORY:
                self._done.popitem(last=False)
        if confirmed or job_id not in self._waiters:
            for handle in self._held.pop(job_id, []):
                if confirmed:
                    self._delete(handle)
                else:
                    self._release(handle, RELEASE_BASE_S)
        if not self._waiters:
            self.stop()

    def stop(self) -> None:
        """Stop receiving (the thread ends after its current long poll); pending deletes still run."""
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        if self._control is not None:
            self._control.shutdown(wait=False)  # queued deletes and releases still run
            self._control = None

    async def settled(self) -> None:
        """Wait until every delete and release asked for so far has been answered (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in list(self._pending)))

    def _route(self, batch: list[tuple[str | None, str, int]]) -> None:
        for job_id, handle, dequeue_count in batch:
            self.received += 1
            if job_id is not None and job_id in self._done:
                self._delete(handle)  # a duplicate of a job this triggerer confirmed
            elif job_id is not None and job_id in self._waiters:
                self._held.setdefault(job_id, []).append(handle)
                for hint in self._waiters[job_id]:
                    hint.set()
            elif not self._waiters:  # the last long poll of a stopped consumer: hand it straight back
                self._release(handle, RELEASE_BASE_S)
            elif dequeue_count >= FOREIGN_DELIVERIES:  # offered long enough: nobody waits for it
                self.dropped += 1
                self._delete(handle)
            else:
                self._release(handle, release_timeout(dequeue_count))

    def _delete(self, handle: str) -> None:
        self.deleted += 1
        self._submit(lambda q: q.delete_message(handle), "delete")

    def _release(self, handle: str, timeout: int) -> None:
        self.released += 1
        self._submit(lambda q: q.change_message_visibility(handle, timeout), "release")

    def _submit(self, call: Callable[[Any], Any], what: str) -> None:
        if self._control is None:
            self._control = ThreadPoolExecutor(1, thread_name_prefix=f"mns-control-{self.address.queue}")
        future = self._control.submit(self._control_call, call, what)
        self._pending.add(future)
        future.add_done_callback(self._answered)

    def _answered(self, future: Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for it any more
            self.loop.call_soon_threadsafe(self._pending.discard, future)

    def _control_call(self, call: Callable[[Any], Any], what: str) -> None:
        from mns.mns_exception import MNSServerException

        if self._control_queue is None:
            self._control_queue = self.address.sdk_queue()
        try:
            call(self._control_queue)
        except MNSServerException as err:  # the handle expired (redelivered meanwhile): nothing to do
            log.info("MNS %s on queue %s: %s %s", what, self.address.queue, err.type, err.message)
        except Exception as err:  # a lost delete or release only costs a redelivery
            log.warning("MNS %s on queue %s failed: %s", what, self.address.queue, err)

    # ------------------------------------------------------------------ the receiving thread

    def _start(self) -> None:
        self._stop = stop = threading.Event()
        thread = threading.Thread(
            target=self._receive, args=(stop,), name=f"mns-consumer-{self.address.queue}", daemon=True
        )
        thread.start()

    def _receive(self, stop: threading.Event) -> None:
        from mns.mns_exception import MNSServerException

        queue = self.address.sdk_queue()
        errors = 0
        while not stop.is_set():
            try:
                messages = queue.batch_receive_message(RECEIVE_BATCH, RECEIVE_WAIT_S)
            except MNSServerException as err:
                if err.type == "MessageNotExist":  # the long poll ended empty
                    errors = 0
                    continue
                errors += 1
                self._log_error(err, errors)
                stop.wait(min(2.0**errors, ERROR_BACKOFF_MAX_S))
                continue
            except Exception as err:  # network trouble: back off, never give up while watched
                errors += 1
                self._log_error(err, errors)
                stop.wait(min(2.0**errors, ERROR_BACKOFF_MAX_S))
                continue
            errors = 0
            if stop.is_set():  # stopped during this long poll: nobody here waits; hand them straight back
                for message in messages:
                    with contextlib.suppress(Exception):  # a lost release costs one visibility timeout
                        queue.change_message_visibility(message.receipt_handle, RELEASE_BASE_S)
                return
            batch = [(job_id_of(m.message_body), m.receipt_handle, int(m.dequeue_count)) for m in messages]
            try:
                self.loop.call_soon_threadsafe(self._route, batch)
            except RuntimeError:  # the loop is closed: the triggerer is gone; MNS redelivers them
                return

    def _log_error(self, err: Exception, errors: int) -> None:
        if self._stop is None:
            return  # stopped during its last long poll (the engine or network may be gone): not news
        if errors == 1 or errors % 10 == 0:  # a streak is logged, not every retry of it
            log.warning("MNS queue %s: receive failed (%s); retrying", self.address.queue, err)


_CONSUMERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[QueueAddress, MnsConsumer]] = (
    weakref.WeakKeyDictionary()
)


def consumer_for(address: QueueAddress) -> MnsConsumer:
    """The running loop's consumer of ``address`` (created on first use)."""
    loop = asyncio.get_running_loop()
    consumers = _CONSUMERS.setdefault(loop, {})
    consumer = consumers.get(address)
    if consumer is None:
        consumer = consumers[address] = MnsConsumer(loop, address)
    return consumer
