"""The per-process Query budget shared by every IProduction trigger in a triggerer.

A triggerer may hold thousands of waiting jobs. One budget per event loop keeps the sum of their Queries
under ``[iprod] query_qps`` in *every* sliding second, not just on average: a token bucket lets a full
burst follow a full second's refill (twice the rate inside one second), and the service's throttling
counts every second.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable

DEFAULT_QUERY_QPS = 20.0
QPS_ENV = "AIRFLOW__IPROD__QUERY_QPS"


class QueryBudget:
    """At most ``rate`` Queries that may reach the service inside any one second, paced ``1/rate`` apart.

    A Query reaches the service some time between its send and its answer, and that time varies (a new
    connection's handshake, a busy machine). So a Query counts against every second that its whole
    ``[send, answer]`` span touches: ``acquire`` hands out a slot only while fewer than ``rate`` Queries
    are in flight or answered within the last second, and returns the callable that marks the answer.
    Waiters are served first come, first served; a slot missed while idle is not saved for a burst.
    """

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError(f"query QPS must be > 0, got {rate}")
        self.rate = float(rate)
        self.limit = max(1, math.floor(rate))
        self.window = 1.0 if rate >= 1 else 1.0 / rate
        self.interval = 1.0 / rate
        self._spans: list[list[float | None]] = []  # [answered at (monotonic) or None while in flight]
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._answered = asyncio.Event()

    async def acquire(self) -> Callable[[], None]:
        async with self._lock:  # one waiter at a time keeps the order fair
            while True:
                now = time.monotonic()
                self._spans = [s for s in self._spans if s[0] is None or s[0] > now - self.window]
                if len(self._spans) < self.limit and now >= self._next:
                    span: list[float | None] = [None]
                    self._spans.append(span)
                    self._next = now + self.interval
                    return lambda: self._answer(span)
                waits = [self._next - now] if now < self._next else []
                if len(self._spans) >= self.limit:
                    ends = [s[0] + self.window - now for s in self._spans if s[0] is not None]
                    waits.append(min(ends) if ends else math.inf)  # else: wait for an answer
                timeout = max(min(waits), 0.001) if waits and min(waits) != math.inf else None
                self._answered.clear()
                loop = asyncio.get_running_loop()
                timer = loop.call_later(timeout, self._answered.set) if timeout is not None else None
                await self._answered.wait()  # a slot's time, or an answer that may free one
                if timer is not None:
                    timer.cancel()

    def _answer(self, span: list[float | None]) -> None:
        if span[0] is None:
            span[0] = time.monotonic()
            self._answered.set()


def configured_qps() -> float:
    """``[iprod] query_qps`` from Airflow config (env ``AIRFLOW__IPROD__QUERY_QPS``), default 20."""
    raw = os.environ.get(QPS_ENV)
    if raw is None:
        try:
            from airflow.configuration import conf

            return conf.getfloat("iprod", "query_qps", fallback=DEFAULT_QUERY_QPS)
        except Exception:  # config unavailable (plain asyncio use): fall back to the default
            return DEFAULT_QUERY_QPS
    return float(raw)
