"""One Query scheduler per event loop: every IProduction trigger in a triggerer polls through it.

* Triggers ask for a Query of their job *no earlier than* a due time (see :mod:`poll_plan`). The
  scheduler starts the earliest due one first whenever the budget (:mod:`rate_limit`) has a slot, so
  under a tight budget every job is still served in turn (a job's next due time is set only after it is
  served: nobody starves), and jobs in their completion window, due every ``poll_interval``, are not
  crowded out by long jobs that ask every few minutes.
* Several triggers waiting on the same job (same connection settings and JobId) share one Query.
* A request whose every waiter is gone (cancelled: the triggerer stopping, a task cleared) is dropped
  before it is sent.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from airflow_iprod.triggers.rate_limit import QueryBudget, configured_qps

Fetch = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class _Request:
    key: Hashable
    due: float
    seq: int
    fetch: Fetch
    future: asyncio.Future[dict[str, Any]]
    waiters: int = 0
    started: bool = False


class PollScheduler:
    def __init__(self, budget: QueryBudget) -> None:
        self.budget = budget
        self.sent = 0  # Queries started, for the logs and the benchmark
        self.shared = 0  # requests answered by a Query another trigger had asked for
        self._heap: list[tuple[float, int, Hashable]] = []
        self._pending: dict[Hashable, _Request] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    async def query(self, key: Hashable, due: float, fetch: Fetch) -> dict[str, Any]:
        """The answer of a Query of ``key`` started at ``due`` (epoch seconds) or later.

        ``fetch`` performs the Query; when another trigger already asked for ``key``, its request (moved
        earlier if this one is due sooner) answers both.
        """
        request = self._pending.get(key)
        if request is None:
            loop = asyncio.get_running_loop()
            request = _Request(key, due, next(self._seq), fetch, loop.create_future())
            request.future.add_done_callback(_consume)
            self._pending[key] = request
            self._push(request)
        else:
            self.shared += 1
            if due < request.due and not request.started:
                request.due, request.seq = due, next(self._seq)
                self._push(request)
        request.waiters += 1
        self._ensure_runner()
        try:
            return await asyncio.shield(request.future)
        finally:
            request.waiters -= 1
            if request.waiters == 0 and not request.started and self._pending.get(key) is request:
                del self._pending[key]  # nobody waits any more: never sent (its heap entry goes stale)

    def _push(self, request: _Request) -> None:
        heapq.heappush(self._heap, (request.due, request.seq, request.key))
        self._wake.set()

    def _ensure_runner(self) -> None:
        if self._runner is None or self._runner.done():
            rate = configured_qps()  # read again when work starts after an idle spell: a changed
            if rate != self.budget.rate:  # [iprod] query_qps applies without a restart
                self.budget = QueryBudget(rate)
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="iprod-poll-scheduler")

    def _head(self) -> _Request | None:
        """The earliest live request (stale heap entries are dropped on the way)."""
        while self._heap:
            _, seq, key = self._heap[0]
            request = self._pending.get(key)
            if request is not None and request.seq == seq and not request.started:
                return request
            heapq.heappop(self._heap)
        return None

    async def _run(self) -> None:
        while True:
            head = self._head()
            if head is None:
                return  # idle: the next query() starts a new runner
            wait = head.due - time.time()
            if wait > 0:
                self._wake.clear()
                timer = asyncio.get_running_loop().call_later(wait, self._wake.set)
                await self._wake.wait()  # the head's time, or a new and earlier request
                timer.cancel()
                continue
            answered = await self.budget.acquire()
            head = self._head()  # the head may have changed while waiting for a slot; it is due
            if head is None:
                answered()
                continue
            heapq.heappop(self._heap)
            head.started = True
            del self._pending[head.key]
            self.sent += 1
            task = asyncio.get_running_loop().create_task(self._send(head, answered))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    @staticmethod
    async def _send(request: _Request, answered: Callable[[], None]) -> None:
        try:
            answer = await request.fetch()
        except asyncio.CancelledError:
            request.future.cancel()
            raise
        except Exception as err:  # delivered to every waiter; classified by the trigger
            request.future.set_exception(err)
        else:
            request.future.set_result(answer)
        finally:
            answered()


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve an exception nobody awaited any more (all waiters gone), so asyncio does not log it."""
    if not future.cancelled():
        future.exception()


_SCHEDULERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PollScheduler] = weakref.WeakKeyDictionary()


def poll_scheduler() -> PollScheduler:
    """The running loop's scheduler (created on first use with the configured ``[iprod] query_qps``)."""
    loop = asyncio.get_running_loop()
    scheduler = _SCHEDULERS.get(loop)
    if scheduler is None:
        scheduler = _SCHEDULERS[loop] = PollScheduler(QueryBudget(configured_qps()))
    return scheduler
