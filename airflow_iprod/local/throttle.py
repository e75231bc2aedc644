"""Per-action request rate limit (token bucket), answered with the cloud's throttling error."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """One bucket per action: ``rate`` tokens a second, bursts up to one second's worth."""

    def __init__(self, rate_for: Callable[[str], float], clock: Callable[[], float] = time.monotonic) -> None:
        self._rate_for = rate_for
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # action -> (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, action: str) -> bool:
        rate = self._rate_for(action)
        if rate <= 0:  # 0 or negative disables the limit
            return True
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(action, (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[action] = (tokens, now)
                return False
            self._buckets[action] = (tokens - 1.0, now)
            return True
