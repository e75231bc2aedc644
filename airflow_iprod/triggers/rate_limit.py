"""A per-process query budget shared by every IProduction trigger in a triggerer.

A triggerer may hold thousands of waiting jobs; each polls QueryIProductionJob. One token bucket per
event loop keeps the sum of their calls under the service's QPS limit, however many triggers run.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref

DEFAULT_QUERY_QPS = 20.0
QPS_ENV = "AIRFLOW__IPROD__QUERY_QPS"


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``acquire`` waits for one (FIFO)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"query QPS must be > 0, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1


_BUCKETS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TokenBucket] = weakref.WeakKeyDictionary()


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


def query_budget() -> TokenBucket:
    """The bucket of the running event loop (created on first use with the configured rate)."""
    loop = asyncio.get_running_loop()
    bucket = _BUCKETS.get(loop)
    if bucket is None:
        bucket = _BUCKETS[loop] = TokenBucket(configured_qps())
    return bucket
