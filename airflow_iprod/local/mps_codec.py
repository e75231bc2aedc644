"""MPS (2014-06-18) on the wire: flat OSS Input/Output, ``State`` and ``CreationTime`` in Query.

The same job service as ICE behind it; only the request's spelling and the answer's shape differ.
MPS has no Cancel and no media assets.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from airflow_iprod import catalog
from airflow_iprod.local import job_actions
from airflow_iprod.local.job_actions import Handler
from airflow_iprod.local.job_store import FAIL, Job, iso_time
from airflow_iprod.local.service import JobService

VERSION = "2014-06-18"
API = catalog.MTS


def job_body(service: JobService, job: Job) -> dict[str, Any]:
    """QueryIProductionJob's answer in MPS words: ``State``, ``CreationTime``, a flat ``PipelineId``."""
    req = job.request
    outputs = job.outputs or {}
    failed = job.status == FAIL
    body: dict[str, Any] = {
        "JobId": job.job_id,
        "FunctionName": job.function_name,
        "Input": req.get("Input"),
        "Output": req.get("Output"),
        "JobParams": req.get("JobParams"),
        "PipelineId": job.pipeline_id,
        "UserData": req.get("UserData"),
        "Result": job.result,
        "State": job.status,
        "ModelId": req.get("ModelId"),
        "CreationTime": iso_time(job.create_time),
        "FinishTime": iso_time(job.finish_time),
        "OutputFiles": outputs.get("files", []),
        "OutputUrls": job_actions.output_urls(service, outputs.get("files", [])),
        "Code": job.code if failed else None,
        "Message": job.message if failed else None,
    }
    return {k: v for k, v in body.items() if v is not None}


HANDLERS: dict[str, Handler] = {
    "SubmitIProductionJob": partial(job_actions.submit, API),
    "QueryIProductionJob": partial(job_actions.query, API, job_body),
}
