"""Fault injection for tests of clients: added latency, failing Query calls, forced job failures.

Everything is off unless the engine's ``FaultConfig`` switches it on. When something is on, the
engine's log (stderr) says so at start and again on every injected failure, so an injected failure
is never mistaken for a real one.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_iprod.local.config import FaultConfig

LOG_PREFIX = "[iprod-faults]"
USER_DATA_HOLD_KEY = "iprod_fault_hold_s"


def _log_to_stderr(text: str) -> None:
    print(f"{LOG_PREFIX} {text}", file=sys.stderr, flush=True)


def active_faults(config: FaultConfig) -> dict[str, Any]:
    """The faults that are switched on, as JSON-ready values (empty when none is)."""
    active: dict[str, Any] = {}
    if config.latency_ms > 0:
        active["latency_ms"] = config.latency_ms
    if config.query_error_rate > 0:
        active["query_error_rate"] = config.query_error_rate
        active["query_error_code"] = config.query_error_code
        active["query_error_status"] = config.query_error_status
        if config.seed is not None:
            active["seed"] = config.seed
    if config.fail_jobs:
        active["fail_jobs"] = sorted(config.fail_jobs)
        active["fail_message"] = config.fail_message
    if config.job_latency_s > 0:
        active["job_hold_s"] = config.job_latency_s
    if config.user_data_hold:
        active["user_data_hold"] = True
    if config.callback_drop_rate > 0:
        active["callback_drop_rate"] = config.callback_drop_rate
    if config.callback_delay_s > 0:
        active["callback_delay_s"] = config.callback_delay_s
    return active


def describe_faults(config: FaultConfig) -> list[str]:
    """One line per active fault, for people (the start banner, the engine log)."""
    lines = []
    if config.latency_ms > 0:
        lines.append(f"+{config.latency_ms:g} ms before every API answer (Submit, Query, Cancel ...)")
    if config.query_error_rate > 0:
        seed = "" if config.seed is None else f", seed {config.seed}"
        lines.append(
            f"{config.query_error_rate:.0%} of Query calls answer {config.query_error_code} "
            f"(HTTP {config.query_error_status}){seed}"
        )
    if config.fail_jobs:
        which = "every job" if "*" in config.fail_jobs else "jobs of " + ", ".join(sorted(config.fail_jobs))
        lines.append(f"{which} end in Fail without running: [InjectedFault] {config.fail_message}")
    if config.user_data_hold:
        key = USER_DATA_HOLD_KEY
        lines.append(f'a job whose UserData holds {{"{key}": N}} stays Queuing N s after its submit')
    if config.job_latency_s > 0:
        lines.append(f"every job holds its worker {config.job_latency_s:g} s before its algorithm starts")
    if config.callback_drop_rate > 0:
        lines.append(f"{config.callback_drop_rate:.0%} of job completion callbacks (MNS messages) dropped")
    if config.callback_delay_s > 0:
        lines.append(f"job completion callbacks are sent {config.callback_delay_s:g} s after the job ends")
    return lines


def _message(code: str, status: int) -> str:
    """Wording close to the cloud's for the kind of error the code names."""
    if code.startswith("Throttling"):
        return "Request was denied due to user flow control (injected fault)."
    if status >= 500:
        return "The request has failed due to a temporary failure of the server (injected fault)."
    return f"The request was refused with {code} (injected fault)."


class InjectedError(Exception):
    """A Query answered with the configured error on purpose (the RPC edge sends ``code`` and ``status``)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class Faults:
    def __init__(self, config: FaultConfig, log: Callable[[str], None] = _log_to_stderr) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._callback_rng = random.Random(config.seed)  # its own: dropping never shifts Query failures
        self._lock = threading.Lock()
        self._log = log
        lines = describe_faults(config)
        if lines:
            log("fault injection is ON (failures below are injected, not real):")
            for line in lines:
                log(f"  {line}")

    def delay(self) -> None:
        if self.config.latency_ms > 0:
            time.sleep(self.config.latency_ms / 1000.0)

    def check_query(self, job_id: str | None = None) -> None:
        """Raise the configured error for a share of Query calls."""
        rate = self.config.query_error_rate
        if rate <= 0:
            return
        with self._lock:
            hit = self._rng.random() < rate
        if hit:
            code, status = self.config.query_error_code, self.config.query_error_status
            self._log(f"Query JobId={job_id}: answered {code} (HTTP {status}) on purpose")
            raise InjectedError(code, _message(code, status), status)

    def queue_hold_s(self, request: dict[str, Any]) -> float:
        """How long the user-data hold keeps a job (its submitted ``request``) queued after submit."""
        if not self.config.user_data_hold:
            return 0.0
        try:
            value = json.loads(request.get("UserData") or "{}").get(USER_DATA_HOLD_KEY, 0)
            return max(0.0, float(value))
        except (ValueError, TypeError, AttributeError):
            return 0.0

    def forced_failure(self, function_name: str, job_id: str | None = None) -> str | None:
        """The message a job of this function must fail with, or None to run it for real."""
        names = self.config.fail_jobs
        if "*" in names or function_name in names:
            self._log(f"{function_name} job {job_id}: failed on purpose (InjectedFault)")
            return self.config.fail_message
        return None

    def callback_delay_s(self) -> float:
        return self.config.callback_delay_s

    def drop_callback(self, job_id: str, queue: str) -> bool:
        """True for the configured share of completion callbacks, which are then never sent."""
        rate = self.config.callback_drop_rate
        if rate <= 0:
            return False
        with self._lock:
            hit = self._callback_rng.random() < rate
        if hit:
            self._log(f"job {job_id}: completion callback to queue {queue!r} dropped on purpose")
        return hit
