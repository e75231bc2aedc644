"""Errors raised by the provider (kept import-light: no SDK, no Airflow)."""

from __future__ import annotations

from typing import Any


class IProductionError(Exception):
    """A call to the IProduction API failed, or a job ended in failure.

    ``retriable`` is True for transient trouble (throttling, 5xx, connection problems) that was still
    failing after the hook's own retries; callers that poll (trigger, sensor) keep going on those.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        retriable: bool = False,
        retry_after: float | None = None,
        job_id: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.request_id = request_id
        self.status_code = status_code
        self.retriable = retriable
        self.retry_after = retry_after
        self.job_id = job_id
        parts = [f"[{code}]" if code else "", message]
        if status_code:
            parts.append(f"(HTTP {status_code})")
        if job_id:
            parts.append(f"JobId={job_id}")
        if request_id:
            parts.append(f"RequestId={request_id}")
        super().__init__(" ".join(p for p in parts if p))

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "code": self.code,
            "request_id": self.request_id,
            "status_code": self.status_code,
            "retriable": self.retriable,
            "job_id": self.job_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IProductionError:
        return cls(
            data.get("message") or "IProduction error",
            code=data.get("code"),
            request_id=data.get("request_id"),
            status_code=data.get("status_code"),
            retriable=bool(data.get("retriable")),
            job_id=data.get("job_id"),
        )


class IProductionJobFailed(IProductionError):
    """The job finished with Status/State Fail."""
