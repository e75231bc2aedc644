"""ICE (2020-11-09) on the wire: request parameters in, the documented response bodies out.

Each handler reads the flat parameters, asks the job service, and shapes its answer as the ICE API
documents it. Refusals travel as exceptions to the RPC edge, which answers them in the cloud's shape.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from airflow_iprod import catalog
from airflow_iprod.catalog import MissingField
from airflow_iprod.local import job_actions
from airflow_iprod.local.download_urls import DEFAULT_EXPIRES_S
from airflow_iprod.local.job_actions import Handler, required
from airflow_iprod.local.job_store import FAIL, Job, MediaAsset, iso_time
from airflow_iprod.local.mns_callbacks import event_callback_body, event_callback_from
from airflow_iprod.local.mns_store import MnsStore
from airflow_iprod.local.service import JobService

VERSION = "2020-11-09"
API = catalog.ICE
MAX_AUTH_TIMEOUT_S = 30 * 24 * 3600  # a signed URL's longest life the engine grants (30 days)


def job_body(service: JobService, job: Job) -> dict[str, Any]:
    """QueryIProductionJob's answer: the request as submitted, with the job's schedule and outcome."""
    req = job.request
    outputs = job.outputs or {}
    output = dict(req.get("Output") or {})
    media_ids = outputs.get("media_ids") or []
    if output.get("Type") == "Media" and media_ids:
        output["Media"] = media_ids[0]
    sched = dict(req.get("ScheduleConfig") or {})
    sched["PipelineId"] = job.pipeline_id
    sched["Priority"] = job.priority
    failed = job.status == FAIL
    body: dict[str, Any] = {
        "JobId": job.job_id,
        "Name": req.get("Name"),
        "FunctionName": job.function_name,
        "Input": req.get("Input"),
        "Output": output,
        "TemplateId": req.get("TemplateId"),
        "JobParams": req.get("JobParams"),
        "ModelId": req.get("ModelId"),
        "ScheduleConfig": sched,
        "UserData": req.get("UserData"),
        "Result": job.result,
        "CreateTime": iso_time(job.create_time),
        "FinishTime": iso_time(job.finish_time),
        "Status": job.status,
        "OutputFiles": outputs.get("files", []),
        "OutputMediaIds": media_ids,
        "OutputUrls": job_actions.output_urls(service, outputs.get("files", [])),
        "Code": job.code if failed else None,
        "Message": job.message if failed else None,
    }
    return {k: v for k, v in body.items() if v is not None}


def cancel(service: JobService, params: dict[str, str]) -> dict[str, Any]:
    job_id = required(params, "JobId")
    before = service.cancel(API, job_id)
    if before in ("Success", "Fail"):
        return {"Message": f"JobId={job_id} had already finished with Status={before}; nothing to cancel."}
    return {"Message": f"JobId={job_id} cancelled (was {before}); Query answers Status=Fail, Code=Cancelled."}


def register_media(service: JobService, params: dict[str, str]) -> dict[str, Any]:
    media_id = service.media.register(
        required(params, "InputURL"),
        overwrite=params.get("Overwrite", "").lower() == "true",
        media_type=params.get("MediaType"),
        title=params.get("Title"),
        description=params.get("Description"),
        business_type=params.get("BusinessType"),
        user_data=params.get("UserData"),
        reference_id=params.get("ReferenceId"),
    )
    return {"MediaId": media_id}


def get_media(service: JobService, params: dict[str, str]) -> dict[str, Any]:
    if params.get("MediaId"):
        asset = service.media.get(params["MediaId"])
    elif params.get("InputURL"):
        asset = service.media.find(params["InputURL"])
    else:
        raise MissingField("MediaId")
    return {"MediaInfo": _media_info(service, asset, _auth_timeout(params.get("AuthTimeout")))}


def _auth_timeout(value: str | None) -> int:
    """GetMediaInfo's AuthTimeout: seconds the FileUrl stays valid (documented default 3600)."""
    if not value:
        return DEFAULT_EXPIRES_S
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= MAX_AUTH_TIMEOUT_S:
        raise catalog.ValidationError("AuthTimeout", value, f"whole seconds in [1, {MAX_AUTH_TIMEOUT_S}]")
    return seconds


def _media_info(service: JobService, asset: MediaAsset, expires_s: int) -> dict[str, Any]:
    _, key = catalog.split_oss_url(asset.input_url)
    size = service.media.file_size(asset)
    basic = {
        "MediaId": asset.media_id,
        "InputURL": asset.input_url,
        "MediaType": asset.media_type,
        "BusinessType": asset.business_type,
        "Title": asset.title,
        "Description": asset.description,
        "Status": asset.status,
        "Biz": asset.biz,
        "UserData": asset.user_data,
        "ReferenceId": asset.reference_id,
        "CreateTime": iso_time(asset.create_time),
        "ModifiedTime": iso_time(asset.modify_time),
        "Source": "OSS",
    }
    file_basic = {
        "FileName": key.rsplit("/", 1)[-1],
        "FileStatus": "Deleted" if size is None else "Normal",
        "FileType": "source_file",
        "FileSize": str(size) if size is not None else None,
        "FileUrl": service.media.download_url(asset.input_url, expires_s),
        "Region": service.region,
    }
    return {
        "MediaId": asset.media_id,
        "MediaBasicInfo": {k: v for k, v in basic.items() if v is not None},
        "FileInfoList": [{"FileBasicInfo": {k: v for k, v in file_basic.items() if v is not None}}],
    }


def set_event_callback(service: JobService, params: dict[str, str]) -> dict[str, Any]:
    """The account-wide callback (durable, in the job store's file); jobs that end later use it."""
    setting = event_callback_from(params)  # checked before anything is stored
    store = MnsStore(service.store.path)
    try:
        store.set_event_callback(setting)
    finally:
        store.close()
    return {"Success": True}


def get_event_callback(service: JobService, params: dict[str, str]) -> dict[str, Any]:
    store = MnsStore(service.store.path)
    try:
        return event_callback_body(store.event_callback())
    finally:
        store.close()


HANDLERS: dict[str, Handler] = {
    "SubmitIProductionJob": partial(job_actions.submit, API),
    "QueryIProductionJob": partial(job_actions.query, API, job_body),
    "CancelIProductionJob": cancel,
    "RegisterMediaInfo": register_media,
    "GetMediaInfo": get_media,
    "SetEventCallback": set_event_callback,
    "GetEventCallback": get_event_callback,
}
