"""Counters a client-side benchmark or test reads from the engine: connections and API calls.

Measured where the requests arrive, so a client's own view (its budget, its pool) is checked against
what the service really saw. ``GET /-/stats`` serves them as JSON: counters only, no job or key data.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

# Arrival times kept per action for the sliding-second figure (a long benchmark at 20/s fits).
_KEEP = 200_000


class EngineStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connections = 0
        self.tls_connections = 0
        self.actions: Counter[str] = Counter()
        self._arrivals: dict[str, deque[float]] = {}

    def connection_opened(self, tls: bool) -> None:
        with self._lock:
            self.connections += 1
            self.tls_connections += int(tls)

    def rpc_call(self, action: str) -> None:
        now = time.time()
        with self._lock:
            self.actions[action] += 1
            self._arrivals.setdefault(action, deque(maxlen=_KEEP)).append(now)

    def snapshot(self, since: float | None = None) -> dict[str, Any]:
        """JSON-able counters; ``max_per_second`` is the most calls of an action in any sliding second
        (after ``since``, epoch seconds, when given)."""
        with self._lock:
            arrivals = {a: [t for t in q if since is None or t >= since] for a, q in self._arrivals.items()}
            out: dict[str, Any] = {
                "connections": self.connections,
                "tls_connections": self.tls_connections,
                "actions": dict(self.actions),
            }
        out["max_per_second"] = {a: max_in_window(times, 1.0) for a, times in arrivals.items()}
        out["calls_since"] = {a: len(times) for a, times in arrivals.items()}
        return out


def max_in_window(times: list[float], window: float) -> int:
    """The largest number of ``times`` (sorted) inside any half-open window of ``window`` seconds."""
    best, left = 0, 0
    for right, t in enumerate(times):
        while times[left] <= t - window:
            left += 1
        best = max(best, right - left + 1)
    return best
