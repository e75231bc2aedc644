"""IProductionJobTrigger: wait for one IProduction job in the triggerer, without a worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_iprod import catalog
from airflow_iprod.errors import IProductionError
from airflow_iprod.hooks.iproduction import API_VERSIONS, IProductionHook, classify
from airflow_iprod.job_state import JobState
from airflow_iprod.triggers.poll_plan import next_poll_at, next_safety_poll_at
from airflow_iprod.triggers.poll_scheduler import poll_scheduler

CANCEL_TIMEOUT = 20.0


async def _hinted_or_due(hint: asyncio.Event, due: float, remaining: float | None) -> bool:
    """Wait for ``hint`` until ``due``; False only when ``remaining`` (the time to end_time) ran out first."""
    wait = due - time.time()
    if wait <= 0:
        return True
    try:
        async with asyncio.timeout(wait if remaining is None else min(wait, remaining)):
            await hint.wait()
    except TimeoutError:
        return remaining is None or wait <= remaining
    return True


class IProductionJobTrigger(BaseTrigger):
    """Poll ``QueryIProductionJob`` until the job finishes.

    Fires exactly one event, a dict with ``status`` one of:

    * ``"success"`` / ``"failed"`` — the job finished; ``job`` holds the normalised :class:`JobState`;
    * ``"timeout"`` — ``end_time`` passed first (the job keeps running; ``job`` is the last state seen);
    * ``"error"`` — a non-transient API error (``error`` holds code, message, RequestId).

    Transient API errors (throttling, 5xx, connection problems) never end the wait: the trigger backs
    off and polls again until ``end_time``. All triggers in a triggerer poll through one scheduler
    (:mod:`~airflow_iprod.triggers.poll_scheduler`): one keep-alive connection pool per endpoint, one
    Query budget (``[iprod] query_qps``) never exceeded in any sliding second, one Query for triggers
    waiting on the same job. With ``submitted_at`` and ``expected_s`` (the operator's estimate of the
    run time) a job is polled sparsely until it may be done and every ``poll_interval`` after that
    (:mod:`~airflow_iprod.triggers.poll_plan`); without them, every ``poll_interval``.

    With ``wait_mode="callback"`` the trigger waits for a completion message on the MNS queue
    ``callback_queue`` (one shared consumer per queue and event loop:
    :mod:`~airflow_iprod.triggers.mns_consumer`), confirms it with one Query through the same scheduler
    and fires; a safety-net Query every ``[iprod] callback_poll_interval`` seconds (default 300,
    instead of ``poll_interval``) makes a lost message cost only latency.

    The serialized kwargs hold the connection id, never credentials. ``end_time`` and ``submitted_at``
    are absolute (epoch seconds) so a triggerer restart changes neither the timeout nor the plan.
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
        submitted_at: float | None = None,
        expected_s: float | None = None,
        wait_mode: str = "poll",
        callback_queue: str | None = None,
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
        self.submitted_at = submitted_at
        self.expected_s = expected_s
        self.wait_mode = wait_mode
        self.callback_queue = callback_queue

    def serialize(self) -> tuple[str, dict[str, Any]]:
        callbacks = {"wait_mode": self.wait_mode, "callback_queue": self.callback_queue}
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **(callbacks if self.wait_mode != "poll" else {}),
                "job_id": self.job_id,
                "conn_id": self.conn_id,
                "api": self.api,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "cancel_on_kill": self.cancel_on_kill,
                "submitted_at": self.submitted_at,
                "expected_s": self.expected_s,
            },
        )

    def _hook(self) -> IProductionHook:
        # Retries are the trigger's business here (backoff bounded by end_time), not the hook's.
        return IProductionHook(self.conn_id, api=self.api, max_retries=0)

    def _remaining(self) -> float | None:
        return None if self.end_time is None else self.end_time - time.time()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_iprod.hooks.query_client import query_client

        hook = self._hook()
        client = query_client(await hook.asettings(), API_VERSIONS[self.api])
        client.pool.acquire()
        try:
            waiting = (
                self._wait(hook, client) if self.wait_mode == "poll" else self._wait_callbacks(hook, client)
            )
            async for event in waiting:
                yield event
        finally:
            await client.pool.release()  # the last trigger of a triggerer closes the connections

    async def _wait_callbacks(self, hook: IProductionHook, client: Any) -> AsyncIterator[TriggerEvent]:
        """Callback mode: :meth:`_wait` woken by the job's messages, with the consumer's bookkeeping."""
        from airflow_iprod.triggers.mns_consumer import callback_poll_interval, consumer_for
        from airflow_iprod.triggers.mns_setup import queue_address

        consumer = consumer_for(queue_address(client.settings, str(self.callback_queue)))
        hint = consumer.watch(self.job_id)
        confirmed = False  # a Query showed the end: the job's messages are deleted, not released
        try:
            async for event in self._wait(hook, client, hint, callback_poll_interval()):
                confirmed = event.payload["status"] in ("success", "failed")
                yield event
        finally:
            consumer.unwatch(self.job_id, hint, confirmed=confirmed)

    async def _wait(
        self,
        hook: IProductionHook,
        client: Any,
        hint: asyncio.Event | None = None,
        safety_interval: float = 0.0,
    ) -> AsyncIterator[TriggerEvent]:
        """Ask through the shared scheduler until the job ends, then fire once.

        Polling (no ``hint``): at the times :func:`next_poll_at` plans. Callback mode: as soon as ``hint``
        (a message naming the job) is set, else at the safety-net times :func:`next_safety_poll_at` plans.
        """
        scheduler = poll_scheduler()
        key = (client.key, self.job_id)
        last: JobState | None = None
        transient = 0
        due = self._next_due(safety_interval, hint)
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                yield TriggerEvent(self._event("timeout", last, message=self._timeout_message(last)))
                return
            hinted = False
            if hint is not None:  # wait for a message or the safety-net time, then ask at once
                if not hint.is_set() and not await _hinted_or_due(hint, due, remaining):
                    continue  # end_time passed: the check above ends the wait
                hinted = hint.is_set()
                hint.clear()
                due = time.time()
            try:
                async with asyncio.timeout(remaining):  # no task per poll, unlike wait_for
                    body = await scheduler.query(key, due, lambda: client.query(self.job_id))
                state = JobState.from_response(self.api, self.job_id, body)
            except TimeoutError:
                continue  # end_time passed while waiting for a turn: the check above ends the wait
            except Exception as exc:
                err, _ = classify(exc, idempotent=True)
                if not err.retriable:
                    yield TriggerEvent(self._event("error", last, error=err, message=str(err)))
                    return
                due = time.time() + self._retry_delay(hook, err, transient)
                transient += 1
                continue
            transient = 0
            if state.is_terminal:
                status = "success" if state.is_success else "failed"
                yield TriggerEvent(self._event(status, state, message=self._final_message(state)))
                return
            if hinted:
                self.log.info("Job %s: a callback came but the job is %s", self.job_id, state.raw_status)
            if last is None or state.raw_status != last.raw_status:  # on change, not on every poll
                self.log.info("Job %s (%s) is %s", self.job_id, state.function_name, state.raw_status)
            last = state
            due = self._next_due(safety_interval, hint)

    def _retry_delay(self, hook: IProductionHook, err: IProductionError, streak: int) -> float:
        """Backoff before asking again after a transient error; a streak is logged, not every retry."""
        delay = hook.backoff(min(streak, 6), err.retry_after)
        if streak % 10 == 0:
            self.log.warning("Job %s: transient error %s; asking again in %.1f s", self.job_id, err, delay)
        return delay

    def _next_due(self, safety_interval: float, hint: asyncio.Event | None) -> float:
        if hint is None:
            return next_poll_at(time.time(), self.poll_interval, self.submitted_at, self.expected_s)
        return next_safety_poll_at(time.time(), safety_interval, self.submitted_at, self.expected_s)

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
