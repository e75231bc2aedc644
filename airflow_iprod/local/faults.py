"""Fault injection for tests of clients: added latency, failing Query calls, forced job failures.

Everything is off unless the engine's ``FaultConfig`` switches it on.
"""

from __future__ import annotations

import random
import threading
import time

from airflow_iprod.local.config import FaultConfig
from airflow_iprod.local.errors import ApiError


class Faults:
    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def delay(self) -> None:
        if self.config.latency_ms > 0:
            time.sleep(self.config.latency_ms / 1000.0)

    def check_query(self) -> None:
        """Raise the configured error for a share of Query calls."""
        rate = self.config.query_error_rate
        if rate <= 0:
            return
        with self._lock:
            hit = self._rng.random() < rate
        if hit:
            raise ApiError(
                self.config.query_error_code,
                "The request has failed due to a temporary failure of the server (injected fault).",
                self.config.query_error_status,
            )

    def forced_failure(self, function_name: str) -> str | None:
        """The message a job of this function must fail with, or None to run it for real."""
        names = self.config.fail_jobs
        if "*" in names or function_name in names:
            return self.config.fail_message
        return None
