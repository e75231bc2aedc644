"""IProductionJobTrigger: wait for one IProduction job in the triggerer, without a worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_iprod import catalog
from airflow_iprod.errors import IProductionError
from airflow_iprod.hooks.iproduction import IProductionHook
from airflow_iprod.job_state import JobState
from airflow_iprod.triggers.rate_limit import query_budget

CANCEL_TIMEOUT = 20.0


class IProductionJobTrigger(BaseTrigger):
    """Poll ``QueryIProductionJob`` every ``poll_interval`` seconds until the job finishes.

    Fires exactly one event, a dict with ``status`` one of:

    * ``"success"`` / ``"failed"`` — the job finished; ``job`` holds the normalised :class:`JobState`;
    * ``"timeout"`` — ``end_time`` passed first (the job keeps running; ``job`` is the last state seen);
    * ``"error"`` — a non-transient API error (``error`` holds code, message, RequestId).

    Transient API errors (throttling, 5xx, connection problems) never end the wait: the trigger backs
    off and polls again until ``end_time``. All triggers in a triggerer share one query budget
    (``[iprod] query_qps``). The serialized kwargs hold the connection id, never credentials.
    ``end_time`` is absolute (epoch seconds) so a triggerer restart does not extend the timeout.
    """

    def __init__(
        self,
        job_id: str,
        conn_id: str = IProductionHook.default_conn_name,
        api: str = catalog.ICE,
        poll_interval: float = 10.0,
        end_time: float | None = None,
        timeout: float | None = None,
        cancel_on_kill: bool = True,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.conn_id = conn_id
        self.api = api
        self.poll_interval = float(poll_interval)
        if end_time is None and timeout is not None:
            end_time = time.time() + float(timeout)
        self.end_time = end_time
        self.cancel_on_kill = cancel_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "conn_id": self.conn_id,
                "api": self.api,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    def _hook(self) -> IProductionHook:
        # Retries are the trigger's business here (backoff bounded by end_time), not the hook's.
        return IProductionHook(self.conn_id, api=self.api, max_retries=0)

    def _remaining(self) -> float | None:
        return None if self.end_time is None else self.end_time - time.time()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        last: JobState | None = None
        transient = 0
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                yield TriggerEvent(self._event("timeout", last, message=self._timeout_message(last)))
                return
            await query_budget().acquire()
            try:
                state = await hook.aquery(self.job_id, retries=0)
            except IProductionError as err:
                if not err.retriable:
                    yield TriggerEvent(self._event("error", last, error=err, message=str(err)))
                    return
                delay = hook.backoff(min(transient, 6), err.retry_after)
                transient += 1
                self.log.warning(
                    "Job %s: transient error %s; polling again in %.1f s", self.job_id, err, delay
                )
                await self._sleep(delay)
                continue
            except Exception as err:  # a bug or an unexpected SDK failure: report it, don't spin
                yield TriggerEvent(self._event("error", last, message=f"{type(err).__name__}: {err}"))
                return
            transient = 0
            last = state
            if state.is_terminal:
                status = "success" if state.is_success else "failed"
                yield TriggerEvent(self._event(status, state, message=self._final_message(state)))
                return
            self.log.info("Job %s (%s) is %s", self.job_id, state.function_name, state.raw_status)
            await self._sleep(self.poll_interval)

    async def _sleep(self, delay: float) -> None:
        remaining = self._remaining()
        if remaining is not None:
            delay = min(delay, max(remaining, 0.0))
        await asyncio.sleep(max(delay, 0.0))

    async def on_kill(self) -> None:
        """The user killed the task (mark failed/success, clear): stop paying for the job.

        Not called on triggerer restarts or redistribution, so a running job survives those.
        """
        if not self.cancel_on_kill:
            return
        hook = self._hook()
        if not hook.can_cancel:
            self.log.warning("Job %s runs on MPS, which has no Cancel API; it keeps running", self.job_id)
            return
        try:
            await asyncio.wait_for(hook.acancel(self.job_id), timeout=CANCEL_TIMEOUT)
            self.log.info("Cancelled IProduction job %s", self.job_id)
        except Exception as err:
            self.log.warning("Could not cancel IProduction job %s: %s", self.job_id, err)

    def _event(
        self,
        status: str,
        job: JobState | None,
        *,
        error: IProductionError | None = None,
        message: str = "",
    ) -> dict[str, Any]:
        return {
            "status": status,
            "job_id": self.job_id,
            "api": self.api,
            "job": job.to_dict() if job else None,
            "error": error.to_dict() if error else None,
            "message": message,
        }

    def _timeout_message(self, last: JobState | None) -> str:
        seen = f"last status {last.raw_status}" if last else "never answered"
        return (
            f"IProduction job {self.job_id} did not finish before the timeout ({seen}); it is still running"
        )

    @staticmethod
    def _final_message(state: JobState) -> str:
        if state.is_success:
            return f"IProduction job {state.job_id} ({state.function_name}) succeeded"
        reason = ": ".join(p for p in (state.error_code, state.error_message) if p) or "no reason given"
        return f"IProduction job {state.job_id} ({state.function_name}) failed: {reason}"
