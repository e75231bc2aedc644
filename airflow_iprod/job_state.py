"""The normalised state of one IProduction job, shared by hook, trigger, operator and sensor.

ICE answers ``QueryIProductionJob`` with ``Status`` and structured ``Input``/``Output``; MPS answers
with ``State`` and flat strings. Both become one JSON-able :class:`JobState`, so trigger events,
XComs and operator return values look the same whichever API ran the job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_iprod import catalog

ACTIVE_STATUSES = frozenset({"Queuing", "Analyzing"})


@dataclass
class JobState:
    job_id: str
    api: str
    status: str  # normalised: Queuing | Analyzing | Success | Fail (unknown words kept as they came)
    raw_status: str = ""
    function_name: str = ""
    name: str | None = None
    input: str | None = None  # OSS URL or media ID the job read
    output: str | None = None  # the output path as submitted (placeholders unexpanded)
    result: Any = field(default_factory=dict)  # catalog.parse_result(...)
    raw_result: str | None = None
    output_files: list[str] = field(default_factory=list)
    output_urls: list[str] = field(default_factory=list)
    output_media_ids: list[str] = field(default_factory=list)
    # MPS: the files found under the output template (its Query lists none); None until looked up
    listed_outputs: list[str] | None = None
    create_time: str | None = None
    finish_time: str | None = None
    user_data: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_success(self) -> bool:
        return self.status == "Success"

    @property
    def is_failed(self) -> bool:
        return self.status == "Fail"

    @property
    def is_terminal(self) -> bool:
        return self.status in catalog.TERMINAL_STATUSES

    def output_locations(self) -> list[str]:
        """Every output file as an ``oss://bucket/key`` URL, in the order the service listed them.

        ``OutputFiles`` holds object keys; the bucket comes from the submitted output path. MPS
        jobs give no file list: there the files found by ``IProductionHook.resolve_outputs`` count.
        """
        if self.listed_outputs is not None:
            return list(self.listed_outputs)
        bucket = _bucket_of(self.output)
        locations: list[str] = []
        for item in self.output_files:
            if "://" in item:
                locations.append(item)
            elif bucket:
                locations.append(f"oss://{bucket}/{item.lstrip('/')}")
        return locations

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobState:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_response(cls, api: str, job_id: str, body: dict[str, Any]) -> JobState:
        """Build from a ``QueryIProductionJob`` response body (the SDK model's ``to_map()``)."""
        if api == catalog.ICE:
            raw_status = body.get("Status") or ""
            input_media = (body.get("Input") or {}).get("Media")
            output = body.get("Output") or {}
            output_media = output.get("Media") or output.get("OutputUrl")
        else:
            raw_status = body.get("State") or ""
            input_media = body.get("Input")
            output_media = body.get("Output")
        function_name = body.get("FunctionName") or ""
        raw_result = body.get("Result")
        state = cls(
            job_id=body.get("JobId") or job_id,
            api=api,
            status=catalog.normalize_status(api, raw_status),
            raw_status=raw_status,
            function_name=function_name,
            name=body.get("Name"),
            input=input_media,
            output=output_media,
            raw_result=raw_result,
            output_files=list(body.get("OutputFiles") or []),
            output_urls=list(body.get("OutputUrls") or []),
            output_media_ids=[m for m in body.get("OutputMediaIds") or [] if m],
            create_time=body.get("CreateTime") or body.get("CreationTime"),
            finish_time=body.get("FinishTime"),
            user_data=body.get("UserData"),
            request_id=body.get("RequestId"),
        )
        state.result = catalog.parse_result(function_name, raw_result) if function_name else raw_result
        if state.is_failed:
            state.error_code, state.error_message = _failure_reason(body, state.result)
        return state

    def summary(self) -> dict[str, Any]:
        """The operator's return value: JSON-able, and accepted as ``input`` by the next operator."""
        outputs = self.output_locations()
        return {
            "JobId": self.job_id,
            "Api": self.api,
            "Status": self.status,
            "FunctionName": self.function_name,
            "Result": self.result,
            "OutputFiles": self.output_files,
            "OutputUrls": self.output_urls,
            "OutputMediaIds": self.output_media_ids,
            "Outputs": outputs,
            "Output": outputs[0] if len(outputs) == 1 else None,
            "CreateTime": self.create_time,
            "FinishTime": self.finish_time,
        }


def _bucket_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return catalog.split_oss_url(url)[0]
    except catalog.ValidationError:
        return None


def _failure_reason(body: dict[str, Any], result: Any) -> tuple[str | None, str | None]:
    """Where the service explains a failure: top-level Code/Message, else inside Result."""
    code = body.get("Code") or body.get("ErrorCode")
    message = body.get("Message") or body.get("ErrorMessage")
    if isinstance(result, dict):
        code = code or result.get("Code") or result.get("ErrorCode")
        message = message or result.get("Message") or result.get("ErrorMessage")
    return code, message
