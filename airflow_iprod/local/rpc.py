"""The RPC front end: ICE (2020-11-09) and MPS (2014-06-18) IProduction actions plus ICE media assets.

A request names its action and version in ``x-acs-action`` / ``x-acs-version`` headers (ACS3 signing) or
``Action`` / ``Version`` parameters (RPC v2). Parameters come from the query string (the SDKs put them
all there) and from a form body if one is sent. Every answer is JSON, errors in the cloud's shape.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from airflow_iprod import catalog
from airflow_iprod.local import errors, probe
from airflow_iprod.local.errors import ApiError
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.jobs import FAIL, Job, MediaAsset, iso_time, new_id

if TYPE_CHECKING:
    from airflow_iprod.local.engine import LocalEngine

ICE_VERSION = "2020-11-09"
MTS_VERSION = "2014-06-18"
DEFAULT_PRIORITY = 6  # the documented example; the cloud's default when ScheduleConfig.Priority is unset
NOT_AVAILABLE_CODE = "NotSupported.LocalEngine"
COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "AccessKeyId",
        "Signature",
        "SecurityToken",
        "RegionId",
    }
)

Handler = Callable[[dict[str, str]], dict[str, Any]]


def is_rpc(request: HttpRequest) -> bool:
    if request.headers.get("x-acs-action"):
        return True
    return any(k == "Action" for k, _ in request.query)


def _json_object(params: Mapping[str, str], name: str) -> dict[str, Any] | None:
    """A nested object the SDK sent as a JSON string (or flattened as ``Name.Key`` pairs)."""
    raw = params.get(name)
    if raw is None:
        flat = {k[len(name) + 1 :]: v for k, v in params.items() if k.startswith(name + ".")}
        return flat or None
    if raw == "":
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise errors.invalid_parameter(f"{name}={raw!r} is not valid: a JSON object") from None
    if not isinstance(value, dict):
        raise errors.invalid_parameter(f"{name}={raw!r} is not valid: a JSON object")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


class RpcApi:
    def __init__(self, engine: LocalEngine) -> None:
        self.engine = engine
        self.handlers: dict[tuple[str, str], Handler] = {
            (ICE_VERSION, "SubmitIProductionJob"): self.ice_submit,
            (ICE_VERSION, "QueryIProductionJob"): self.ice_query,
            (ICE_VERSION, "CancelIProductionJob"): self.ice_cancel,
            (ICE_VERSION, "RegisterMediaInfo"): self.register_media,
            (ICE_VERSION, "GetMediaInfo"): self.get_media,
            (MTS_VERSION, "SubmitIProductionJob"): self.mts_submit,
            (MTS_VERSION, "QueryIProductionJob"): self.mts_query,
        }

    # -- entry -------------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = errors.new_request_id()
        host_id = request.host or "127.0.0.1"
        try:
            params = self._params(request)
            action = request.headers.get("x-acs-action") or params.get("Action") or ""
            version = request.headers.get("x-acs-version") or params.get("Version") or ""
            handler = self._handler(action, version)
            if not self.engine.throttle.allow(action):
                raise errors.throttled()
            self.engine.verifier.verify(request, params)
            self.engine.faults.delay()
            body = handler(params)
        except ApiError as err:
            return errors.error_response(err, request_id, host_id)
        except Exception as err:  # a bug must still answer in the cloud's shape, as a 500
            return errors.error_response(
                ApiError(
                    "InternalError",
                    f"The request processing has failed due to some unknown error: {err}",
                    500,
                ),
                request_id,
                host_id,
            )
        return errors.json_response({"RequestId": request_id, **body}, 200, request_id)

    @staticmethod
    def _params(request: HttpRequest) -> dict[str, str]:
        params = dict(request.query)
        ctype = (request.headers.get("content-type") or "").lower()
        if request.body and ctype.startswith("application/x-www-form-urlencoded"):
            for key, value in parse_qsl(request.body.decode("utf-8"), keep_blank_values=True):
                params.setdefault(key, value)
        return params

    def _handler(self, action: str, version: str) -> Handler:
        if not action:
            raise errors.missing_parameter("Action")
        if version not in (ICE_VERSION, MTS_VERSION):
            raise ApiError(
                "InvalidVersion",
                f"Specified parameter Version={version!r} is not valid; this engine "
                f"serves {ICE_VERSION} (ICE) and {MTS_VERSION} (MPS).",
            )
        handler = self.handlers.get((version, action))
        if handler is None:
            served = sorted(a for v, a in self.handlers if v == version)
            raise ApiError(
                "InvalidAction.NotFound",
                f"Specified api {action!r} is not found for version "
                f"{version}; the local engine serves {served}.",
                404,
            )
        return handler

    # -- Submit ------------------------------------------------------------------------------------

    def ice_submit(self, params: dict[str, str]) -> dict[str, Any]:
        if not params.get("FunctionName"):
            raise errors.missing_parameter("FunctionName")
        inp = _json_object(params, "Input")
        if not inp:
            raise errors.missing_parameter("Input")
        out = _json_object(params, "Output") or {}
        sched = _json_object(params, "ScheduleConfig") or {}
        fields = dict(
            function_name=params["FunctionName"],
            job_params=params.get("JobParams"),
            input_type=_opt_str(inp.get("Type")),
            input_media=_opt_str(inp.get("Media")),
            output_type=_opt_str(out.get("Type")),
            output_media=_opt_str(out.get("Media")),
            output_url=_opt_str(out.get("OutputUrl")),
            model_id=params.get("ModelId"),
            name=params.get("Name"),
            user_data=params.get("UserData"),
            priority=sched.get("Priority"),
            pipeline_id=_opt_str(sched.get("PipelineId")),
            template_id=params.get("TemplateId"),
            biz=_opt_str(out.get("Biz")),
        )
        job_params = self._validate(catalog.ICE, fields)
        spec = catalog.get(fields["function_name"], catalog.ICE)
        input_url = self._resolve_input(
            spec, fields["input_type"] or "OSS", fields["input_media"], "Input.Media"
        )
        if (fields["output_type"] or "OSS") == "Media":
            template = self._media_output_template(spec, fields)
        else:
            template = fields["output_media"] or ""
        self._check_output_bucket(
            template, "Output.OutputUrl" if fields["output_type"] == "Media" else "Output.Media"
        )
        request = {
            "Name": params.get("Name"),
            "FunctionName": fields["function_name"],
            "Input": {"Type": fields["input_type"] or "OSS", "Media": fields["input_media"]},
            "Output": {
                k: v
                for k, v in {
                    "Type": fields["output_type"] or "OSS",
                    "Media": fields["output_media"],
                    "Biz": fields["biz"],
                    "OutputUrl": fields["output_url"],
                }.items()
                if v is not None
            },
            "TemplateId": params.get("TemplateId"),
            "JobParams": params.get("JobParams"),
            "ModelId": params.get("ModelId"),
            "UserData": params.get("UserData"),
            "ScheduleConfig": sched,
        }
        return self._enqueue(
            catalog.ICE,
            spec,
            request,
            job_params,
            input_url,
            template,
            fields["pipeline_id"],
            fields["priority"],
        )

    def mts_submit(self, params: dict[str, str]) -> dict[str, Any]:
        if not params.get("FunctionName"):
            raise errors.missing_parameter("FunctionName")
        fields = dict(
            function_name=params["FunctionName"],
            job_params=params.get("JobParams"),
            input_media=params.get("Input"),
            output_media=params.get("Output"),
            model_id=params.get("ModelId"),
            user_data=params.get("UserData"),
            pipeline_id=params.get("PipelineId"),
            notify_url=params.get("NotifyUrl"),
            schedule_params=params.get("ScheduleParams"),
        )
        job_params = self._validate(catalog.MTS, fields)
        spec = catalog.get(fields["function_name"], catalog.MTS)
        input_url = self._resolve_input(spec, "OSS", fields["input_media"], "Input")
        template = fields["output_media"] or ""
        self._check_output_bucket(template, "Output")
        # ScheduleParams is not documented in detail; a Priority in it (checked above) is honoured.
        priority = (
            json.loads(params["ScheduleParams"]).get("Priority") if params.get("ScheduleParams") else None
        )
        request = {
            k: params.get(k)
            for k in (
                "FunctionName",
                "Input",
                "Output",
                "JobParams",
                "ModelId",
                "PipelineId",
                "NotifyUrl",
                "ScheduleParams",
                "UserData",
            )
        }
        return self._enqueue(
            catalog.MTS, spec, request, job_params, input_url, template, fields["pipeline_id"], priority
        )

    def _validate(self, api: str, fields: dict[str, Any]) -> dict[str, Any]:
        try:
            job_params = catalog.validate_submit(api, **fields)
        except catalog.ValidationError as err:
            raise errors.invalid_parameter(str(err)) from None
        from airflow_iprod.local import algorithms

        name = fields["function_name"]
        if not algorithms.is_available(name):
            available = [n for n in catalog.names(api) if algorithms.is_available(n)]
            raise ApiError(
                NOT_AVAILABLE_CODE,
                f"FunctionName={name} is not available in the local engine; available: {available}",
            )
        from airflow_iprod.local.algorithms.base import AlgorithmError, UnsupportedOption

        try:
            algorithms.check_params(name, job_params)
        except UnsupportedOption as err:
            raise ApiError(NOT_AVAILABLE_CODE, f"{err} (the cloud service accepts it)") from None
        except AlgorithmError as err:
            raise errors.invalid_parameter(str(err)) from None
        return job_params

    def _resolve_input(self, spec: Any, input_type: str, media: str | None, field: str) -> str:
        if not media:
            return ""
        url = media
        if input_type == "Media":
            asset = self.engine.jobs.get_media(media)
            if asset is None:
                raise errors.invalid_parameter(
                    f"{field}={media!r} is not valid: the ID of a registered media asset (RegisterMediaInfo)"
                )
            url = asset.input_url
        try:
            bucket, key = catalog.split_oss_url(url, field=field)
        except catalog.ValidationError as err:
            raise errors.invalid_parameter(str(err)) from None
        from airflow_iprod.local.oss_errors import OssError

        try:
            path = self.engine.objects.path_for(bucket, key)
        except OssError as err:
            raise ApiError(
                "InvalidParameter",
                f"{field}={media!r} is not valid: no such object in the "
                f"local object store ({err.code}: bucket {bucket!r}, key {key!r}); upload it first.",
            ) from None
        try:
            probe.check_input(spec, path, media, field)
        except probe.InputProblem as err:
            raise errors.invalid_parameter(str(err)) from None
        return f"oss://{bucket}/{key}"

    def _media_output_template(self, spec: Any, fields: dict[str, Any]) -> str:
        """Where Output.Type=Media writes: OutputUrl (required when the algorithm writes a file)."""
        media_id = fields["output_media"]
        if media_id and self.engine.jobs.get_media(media_id) is None:
            raise errors.invalid_parameter(
                f"Output.Media={media_id!r} is not valid: the ID of a registered media asset, or empty "
                "to create a new asset"
            )
        if fields["output_url"]:
            return fields["output_url"]
        if not spec.output_required and not spec.output_ext:
            return ""
        raise errors.invalid_parameter(
            "Output.OutputUrl=None is not valid: with Output.Type=Media, the OSS URL where the output file "
            "is written (e.g. oss://bucket/path/{source}-{timestamp}"
            + (f"-{{{spec.placeholder}}}" if spec.placeholder else "")
            + f"{spec.output_ext or ''})"
        )

    def _check_output_bucket(self, template: str, field: str) -> None:
        if not template:
            return
        from airflow_iprod.local.oss_errors import OssError

        bucket, _ = catalog.split_oss_url(template, field=field)
        try:
            self.engine.objects.bucket(bucket)
        except OssError:
            raise errors.invalid_parameter(
                f"{field}={template!r} is not valid: bucket {bucket!r} does not exist in the local object "
                "store (create it with PutBucket first)"
            ) from None

    def _enqueue(
        self,
        api: str,
        spec: Any,
        request: dict[str, Any],
        job_params: dict[str, Any],
        input_url: str,
        template: str,
        pipeline_id: str | None,
        priority: Any,
    ) -> dict[str, Any]:
        job = Job(
            job_id=new_id(),
            api=api,
            function_name=spec.name,
            request=request,
            params=job_params,
            input_url=input_url,
            output_template=template,
            pipeline_id=pipeline_id or "default",
            priority=int(priority) if priority not in (None, "") else DEFAULT_PRIORITY,
        )
        self.engine.jobs.add(job)
        self.engine.scheduler.wake()
        return {"JobId": job.job_id}

    # -- Query / Cancel ----------------------------------------------------------------------------

    def _job(self, params: dict[str, str]) -> Job:
        job_id = params.get("JobId")
        if not job_id:
            raise errors.missing_parameter("JobId")
        self.engine.faults.check_query(job_id)
        job = self.engine.jobs.get(job_id)
        if job is None:
            raise errors.job_not_found(job_id)
        return job

    def ice_query(self, params: dict[str, str]) -> dict[str, Any]:
        job = self._job(params)
        if job.api != catalog.ICE:
            raise errors.job_not_found(job.job_id)
        req = job.request
        outputs = job.outputs or {}
        output = dict(req.get("Output") or {})
        media_ids = outputs.get("media_ids") or []
        if output.get("Type") == "Media" and media_ids:
            output["Media"] = media_ids[0]
        sched = dict(req.get("ScheduleConfig") or {})
        sched["PipelineId"] = job.pipeline_id
        sched["Priority"] = job.priority
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
            "OutputUrls": outputs.get("urls", []),
        }
        if job.status == FAIL:
            body["Code"], body["Message"] = job.code, job.message
        return {k: v for k, v in body.items() if v is not None}

    def mts_query(self, params: dict[str, str]) -> dict[str, Any]:
        job = self._job(params)
        if job.api != catalog.MTS:
            raise errors.job_not_found(job.job_id)
        req = job.request
        outputs = job.outputs or {}
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
            "OutputUrls": outputs.get("urls", []),
        }
        if job.status == FAIL:
            body["Code"], body["Message"] = job.code, job.message
        return {k: v for k, v in body.items() if v is not None}

    def ice_cancel(self, params: dict[str, str]) -> dict[str, Any]:
        job_id = params.get("JobId")
        if not job_id:
            raise errors.missing_parameter("JobId")
        job = self.engine.jobs.get(job_id)
        if job is None or job.api != catalog.ICE:
            raise errors.job_not_found(job_id)
        before = self.engine.scheduler.cancel(job_id)
        if before in ("Success", "Fail"):
            return {
                "Message": f"JobId={job_id} had already finished with Status={before}; nothing to cancel."
            }
        return {
            "Message": f"JobId={job_id} cancelled (was {before}); Query answers Status=Fail, Code=Cancelled."
        }

    # -- media assets (ICE) ------------------------------------------------------------------------

    def register_media(self, params: dict[str, str]) -> dict[str, Any]:
        url = params.get("InputURL")
        if not url:
            raise errors.missing_parameter("InputURL")
        try:
            bucket, key = catalog.split_oss_url(url, field="InputURL")
        except catalog.ValidationError as err:
            raise errors.invalid_parameter(str(err)) from None
        from airflow_iprod.local.oss_errors import OssError

        try:
            self.engine.objects.head(bucket, key)
        except OssError as err:
            raise errors.invalid_parameter(
                f"InputURL={url!r} is not valid: no such object in the local object store ({err.code})"
            ) from None
        canonical = f"oss://{bucket}/{key}"
        if params.get("Overwrite", "").lower() != "true":
            existing = self.engine.jobs.find_media_by_url(canonical)
            if existing is not None:  # the cloud answers the existing asset for a URL registered twice
                return {"MediaId": existing.media_id}
        asset = MediaAsset(
            media_id=new_id(),
            input_url=canonical,
            media_type=params.get("MediaType") or _media_type(key),
            title=params.get("Title") or key.rsplit("/", 1)[-1],
            description=params.get("Description"),
            biz="IMS",
            business_type=params.get("BusinessType"),
            user_data=params.get("UserData"),
            reference_id=params.get("ReferenceId"),
        )
        self.engine.jobs.add_media(asset)
        return {"MediaId": asset.media_id}

    def get_media(self, params: dict[str, str]) -> dict[str, Any]:
        media_id = params.get("MediaId")
        asset = None
        if media_id:
            asset = self.engine.jobs.get_media(media_id)
        elif params.get("InputURL"):
            try:
                bucket, key = catalog.split_oss_url(params["InputURL"], field="InputURL")
            except catalog.ValidationError as err:
                raise errors.invalid_parameter(str(err)) from None
            asset = self.engine.jobs.find_media_by_url(f"oss://{bucket}/{key}")
        else:
            raise errors.missing_parameter("MediaId")
        if asset is None:
            raise ApiError(
                "InvalidParameter.ResourceNotFound",
                f"MediaId={media_id or params.get('InputURL')!r}: no such media asset.",
                404,
            )
        return {"MediaInfo": self._media_info(asset)}

    def _media_info(self, asset: MediaAsset) -> dict[str, Any]:
        bucket, key = catalog.split_oss_url(asset.input_url)
        size = None
        from airflow_iprod.local.oss_errors import OssError

        try:
            size = self.engine.objects.head(bucket, key).size
            file_status = "Normal"
        except OssError:
            file_status = "Deleted"
        url = f"http://{bucket}.oss-{self.engine.config.region}.aliyuncs.com/{key}"
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
            "FileStatus": file_status,
            "FileType": "source_file",
            "FileSize": str(size) if size is not None else None,
            "FileUrl": url,
            "Region": self.engine.config.region,
        }
        return {
            "MediaId": asset.media_id,
            "MediaBasicInfo": {k: v for k, v in basic.items() if v is not None},
            "FileInfoList": [{"FileBasicInfo": {k: v for k, v in file_basic.items() if v is not None}}],
        }

    # -- called by the scheduler when a job succeeds ------------------------------------------------

    def register_output_media(self, job: Job, files: list[str]) -> list[str]:
        """Output.Type=Media: bind the first output to the given asset (or a new one), one asset per file."""
        output = job.request.get("Output")
        if job.api != catalog.ICE or not isinstance(output, dict) or output.get("Type") != "Media":
            return []  # MPS has flat OSS outputs only
        biz = output.get("Biz") or self._input_biz(job) or "IMS"
        ids: list[str] = []
        for i, url in enumerate(files):
            if i == 0 and output.get("Media"):
                self.engine.jobs.update_media_url(output["Media"], url)
                ids.append(output["Media"])
                continue
            key = url.split("/", 3)[-1]
            asset = MediaAsset(
                media_id=new_id(),
                input_url=url,
                media_type=_media_type(key),
                title=key.rsplit("/", 1)[-1],
                biz=biz,
                create_time=time.time(),
            )
            self.engine.jobs.add_media(asset)
            ids.append(asset.media_id)
        return ids

    def _input_biz(self, job: Job) -> str | None:
        inp = job.request.get("Input") or {}
        if inp.get("Type") == "Media" and inp.get("Media"):
            asset = self.engine.jobs.get_media(inp["Media"])
            return asset.biz if asset else None
        return None


def _media_type(key: str) -> str:
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    if ext in ("mp3", "wav", "flac", "aac", "m4a", "ogg", "opus", "amr"):
        return "audio"
    if ext in ("png", "jpg", "jpeg", "gif", "bmp", "webp"):
        return "image"
    if ext in ("srt", "json", "txt", "vtt"):
        return "text"
    return "video"
