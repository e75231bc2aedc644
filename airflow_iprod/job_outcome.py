"""The one completion path of the operator and the sensor: a finished job (or a trigger event) becomes
the task's return value, or the same error with the same message from either task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_iprod.errors import IProductionError, IProductionJobFailed
from airflow_iprod.job_state import JobState

if TYPE_CHECKING:
    from airflow_iprod.hooks.iproduction import IProductionHook


def raise_if_failed(state: JobState) -> None:
    if state.is_failed:
        reason = state.error_message or "the service gave no reason"
        raise IProductionJobFailed(
            f"{state.function_name} job failed: {reason}", code=state.error_code, job_id=state.job_id
        )


def job_result(hook: IProductionHook, state: JobState, submitted_at: float | None = None) -> dict[str, Any]:
    """Raise if the job failed; else find MPS outputs once and return the JSON-able summary."""
    raise_if_failed(state)
    if state.is_success:
        state = hook.resolve_outputs(state, submitted_at=submitted_at)
    return state.summary()


def state_from_event(event: dict[str, Any], job_id: str | None, *, timeout_hint: str = "") -> JobState:
    """The finished job a trigger event carries; raises for a timeout or an error event."""
    status = event.get("status")
    if status in ("success", "failed"):
        return JobState.from_dict(event["job"])
    if status == "timeout":
        raise IProductionError(f"{event.get('message')}{timeout_hint}", code="WaitTimeout", job_id=job_id)
    if event.get("error"):
        err = IProductionError.from_dict(event["error"])
        err.job_id = err.job_id or job_id
        raise err
    raise IProductionError(str(event.get("message") or f"unexpected trigger event {event}"), job_id=job_id)
