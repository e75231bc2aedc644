"""What ICE and MPS share on the wire: the Submit and Query actions, and reading a required parameter.

Both APIs submit the same way (the catalog decodes either spelling into a ``SubmitRequest``) and answer
``{"JobId"}``; both look a job up by ``JobId``. Only Query's body differs, so each codec passes its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_iprod.catalog import MissingField, SubmitRequest
from airflow_iprod.local.job_store import Job
from airflow_iprod.local.service import JobService

Handler = Callable[[JobService, dict[str, str]], dict[str, Any]]  # one action: params in, body out
JobBody = Callable[[JobService, Job], dict[str, Any]]  # Query's answer (the service makes download URLs)


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise MissingField(name)
    return value


def submit(api: str, service: JobService, params: dict[str, str]) -> dict[str, Any]:
    return {"JobId": service.submit(SubmitRequest.from_wire(api, params))}


def query(api: str, job_body: JobBody, service: JobService, params: dict[str, str]) -> dict[str, Any]:
    return job_body(service, service.query(api, required(params, "JobId")))


def output_urls(service: JobService, files: list[str]) -> list[str]:
    """OutputUrls: each output file where a user can fetch it, from this engine (fresh presigned URLs)."""
    return [service.media.download_url(f) for f in files]
