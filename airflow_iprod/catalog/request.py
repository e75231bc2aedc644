"""SubmitRequest: one SubmitIProductionJob request, for both APIs, validated once and normalised.

Each submit field is defined once, below, as a dataclass field whose metadata says where the ICE and
MPS wire forms put it, how the CLI spells it and how one value is checked. The operator's keywords,
the CLI's flags, both wire forms and the engine's decoding are all generated from that definition,
so a new field is added in one place. Rules across fields (input against its type, output against the
algorithm, JobParams against the spec) run in ``__post_init__``: building a SubmitRequest validates it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import Any

from airflow_iprod.catalog import params as chk
from airflow_iprod.catalog.params import (
    ICE,
    MTS,
    MissingField,
    ValidationError,
    canonical_api,
    json_object,
)
from airflow_iprod.catalog.results import PLACEHOLDERS, expand_placeholders
from airflow_iprod.catalog.specs import AlgorithmSpec, spec_for, validate_job_params

MAX_NAME = 100
MAX_USER_DATA = 256
MAX_ID = 128
# MPS calls back through an MNS queue only: mns://<account>.mns.<region>.aliyuncs.com/queues/<name>.
_MNS_QUEUE = re.compile(r"^mns://[^/\s]+/queues/[^/\s]+$")
_API_LABEL = {ICE: "ICE", MTS: "MPS"}
# Parameters sent at the top level that belong inside one of the API's objects: refused (naming where
# they go) rather than silently dropped, so a priority never looks honoured when it is not.
_MISPLACED = {
    ICE: {"Priority": "ScheduleConfig.Priority", "PipelineId": "ScheduleConfig.PipelineId"},
    MTS: {"Priority": 'ScheduleParams, as {"Priority": 1..10}'},
}


@dataclass(frozen=True)
class RequestField:
    """Where one submit field lives on the wire and on the command line, and how a value is checked."""

    name: str  # the keyword of the operator, the hook and SubmitRequest
    ice: str | None  # ICE wire path, dotted into nested objects ("Output.Biz"); None: not in ICE
    mts: str | None  # MPS wire path; None: not in MPS
    help: str
    metavar: str
    default: Any
    annotation: str
    check: Callable[[str, Any], Any] | None
    json: bool  # a JSON object: a dict, or JSON text (on the CLI also @file)
    flag: str | None  # CLI flag, when not --name-with-dashes
    attr: str | None  # operator attribute, when the keyword's name is taken (``output``)

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def operator_attr(self) -> str:
        return self.attr or self.name

    def wire(self, api: str) -> str | None:
        return self.ice if api == ICE else self.mts

    def label(self, api: str) -> str:
        """The name errors give: this API's wire path, else the other API's."""
        return self.wire(api) or self.ice or self.mts or self.name


def _field(
    ice: str | None,
    mts: str | None,
    help: str,
    *,
    metavar: str = "TEXT",
    default: Any = None,
    check: Callable[[str, Any], Any] | None = None,
    json: bool = False,
    flag: str | None = None,
    attr: str | None = None,
) -> Any:
    meta = {"ice": ice, "mts": mts, "help": help, "metavar": metavar, "check": check, "json": json}
    return dataclasses.field(default=default, metadata={**meta, "flag": flag, "attr": attr})


def _text(limit: int) -> Callable[[str, Any], str]:
    def check(label: str, value: Any) -> str:
        value = chk.string(label, value)
        if len(value) > limit:
            raise ValidationError(label, f"<{len(value)} characters>", f"at most {limit} characters")
        return value

    return check


def _choice(*allowed: str) -> Callable[[str, Any], str]:
    def check(label: str, value: Any) -> str:
        if value not in allowed:
            raise ValidationError(label, value, " or ".join(allowed))
        return value

    return check


def _priority(label: str, value: Any) -> int:
    level = chk.integer(label, value)
    if not 1 <= level <= 10:
        raise ValidationError(label, value, "an integer from 1 to 10 (1 runs first)")
    return level


def _mns_queue(label: str, value: Any) -> str:
    if not (isinstance(value, str) and _MNS_QUEUE.match(value)):
        raise ValidationError(
            label, value, "an MNS queue, mns://<account>.mns.<region>.aliyuncs.com/queues/<name>"
        )
    return value


def _json_text(check: Callable[[str, dict[str, Any]], None] | None = None) -> Callable[[str, Any], str]:
    """A JSON-object field: checked as an object, kept as wire text (as given when given as text)."""

    def normalise(label: str, value: Any) -> str:
        parsed = json_object(label, value)
        if check is not None:
            check(label, parsed)
        return (
            value if isinstance(value, str) else json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
        )

    return normalise


def _schedule_params(label: str, parsed: dict[str, Any]) -> None:
    if parsed.get("Priority") is not None:  # the one key the local engine honours
        _priority(f"{label}.Priority", parsed["Priority"])


_PLACEHOLDER_HELP = ", ".join("{" + p + "}" for p in PLACEHOLDERS)


@dataclass(frozen=True)
class SubmitRequest:
    """One IProduction job request. Building it runs every request rule of both APIs; the values it
    holds are normalised (``api`` canonical, types defaulted, ``priority`` an int, JSON fields as wire
    text); ``params`` holds the JobParams as the algorithm sees them (defaults filled, aliases mapped).
    """

    api: str
    function_name: str
    input: str | None = _field(
        "Input.Media", "Input", "oss://bucket/key, or a media ID with input_type Media (ICE)", metavar="URL"
    )
    output: str | None = _field(
        "Output.Media",
        "Output",
        f"oss://bucket/key; placeholders {_PLACEHOLDER_HELP}",
        metavar="URL",
        attr="output_media",
    )
    input_type: str = _field(
        "Input.Type",
        None,
        "ICE: OSS, or Media for a media ID",
        metavar="OSS|Media",
        default="OSS",
        check=_choice("OSS", "Media"),
    )
    output_type: str = _field(
        "Output.Type",
        None,
        "ICE: OSS, or Media to write a media asset",
        metavar="OSS|Media",
        default="OSS",
        check=_choice("OSS", "Media"),
    )
    output_biz: str | None = _field(
        "Output.Biz",
        None,
        "ICE: IMS or VOD, the service that owns an output media asset",
        metavar="IMS|VOD",
        check=_choice("IMS", "VOD"),
        flag="--biz",
    )
    output_url: str | None = _field(
        "Output.OutputUrl", None, "ICE: where files go with output_type Media", metavar="URL"
    )
    job_params: str | Mapping[str, Any] | None = _field(
        "JobParams",
        "JobParams",
        "JobParams as a JSON object",
        metavar="JSON|@FILE",
        check=_json_text(),
        json=True,
        flag="--params",
    )
    name: str | None = _field(
        "Name", None, f"ICE: job name, at most {MAX_NAME} characters", check=_text(MAX_NAME)
    )
    template_id: str | None = _field("TemplateId", None, "ICE: TemplateId", metavar="ID", check=_text(MAX_ID))
    model_id: str | None = _field(
        "ModelId", "ModelId", "ModelId, where the algorithm has one", metavar="ID", check=_text(MAX_ID)
    )
    user_data: str | None = _field(
        "UserData",
        "UserData",
        f"at most {MAX_USER_DATA} characters, echoed by Query",
        check=_text(MAX_USER_DATA),
    )
    pipeline_id: str | None = _field(
        "ScheduleConfig.PipelineId",
        "PipelineId",
        "the pipeline (queue) that runs the job",
        metavar="ID",
        check=_text(MAX_ID),
    )
    priority: int | str | None = _field(
        "ScheduleConfig.Priority", None, "ICE: 1-10, 1 runs first", metavar="1-10", check=_priority
    )
    notify_url: str | None = _field(
        None,
        "NotifyUrl",
        "MPS: MNS queue told when the job ends",
        metavar="mns://ENDPOINT/queues/NAME",
        check=_mns_queue,
    )
    schedule_params: str | Mapping[str, Any] | None = _field(
        None,
        "ScheduleParams",
        "MPS: ScheduleParams as a JSON object (the service suggests leaving it out)",
        metavar="JSON|@FILE",
        check=_json_text(_schedule_params),
        json=True,
    )

    # JobParams as the algorithm sees them; set by __post_init__.
    params: dict[str, Any] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        api = canonical_api(self.api)
        self._set("api", api)
        if not self.function_name:
            raise MissingField("FunctionName")
        spec = spec_for(self.function_name, api)
        for field in request_fields():
            value = getattr(self, field.name)
            if value is None or value == "":
                self._set(field.name, field.default)
                continue
            if field.wire(api) is None and value != field.default:
                other = ICE if api == MTS else MTS
                raise ValidationError(field.label(api), value, f"{_API_LABEL[other]} only (api={other!r})")
            if field.check is not None:
                self._set(field.name, field.check(field.label(api), value))
        self._check_input(spec)
        if self.model_id and self.model_id not in spec.model_ids:
            allowed = (
                f"one of {sorted(spec.model_ids)} or empty" if spec.model_ids else "empty (no other model)"
            )
            raise ValidationError("ModelId", self.model_id, f"{allowed} for {spec.name}")
        params = validate_job_params(spec, self.job_params, model_id=self.model_id, api=api)
        object.__setattr__(self, "params", params)
        self._check_output(spec)  # after JobParams: some choose the output's format (TTS format ...)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check_input(self, spec: AlgorithmSpec) -> None:
        if self.input is None:
            if spec.input_required:
                raise ValidationError(self.input_field, None, f"required: the {spec.input_kind} to process")
        elif self.input_type == "OSS":
            chk.split_oss_url(self.input, field=self.input_field)
        else:
            _text(MAX_ID)(self.input_field, self.input)

    def _check_output(self, spec: AlgorithmSpec) -> None:
        if self.output_type == "OSS":
            validate_output(spec, self.output, field=self.output_field, params=self.params)
            return
        if self.output_url:
            validate_output(spec, self.output_url, field="Output.OutputUrl", params=self.params)
        elif spec.output_required or spec.output_ext:
            raise ValidationError(
                "Output.OutputUrl",
                None,
                "with Output.Type=Media, the OSS URL where the output file is written (e.g. "
                "oss://bucket/path/{source}-{timestamp}"
                + (f"-{{{spec.placeholder}}}" if spec.placeholder else "")
                + f"{spec.output_ext or ''})",
            )

    # ------------------------------------------------------------------ views

    @property
    def spec(self) -> AlgorithmSpec:
        return spec_for(self.function_name, self.api)

    @property
    def input_field(self) -> str:
        return "Input.Media" if self.api == ICE else "Input"

    @property
    def output_field(self) -> str:
        if self.api == MTS:
            return "Output"
        return "Output.OutputUrl" if self.output_type == "Media" else "Output.Media"

    @property
    def output_template(self) -> str:
        """Where the job's files go: Output.Media for OSS, OutputUrl for Media ("" when none)."""
        return (self.output_url if self.output_type == "Media" else self.output) or ""

    @property
    def run_priority(self) -> int | None:
        """The priority the job runs at: ICE ScheduleConfig.Priority, or MPS ScheduleParams.Priority."""
        if self.priority is not None:
            return int(self.priority)
        if self.schedule_params:
            level = json.loads(str(self.schedule_params)).get("Priority")
            return None if level is None else int(level)
        return None

    def to_wire(self) -> dict[str, Any]:
        """The request as this API spells it (ICE nested objects, MPS flat strings), empties dropped:
        what the SDK's ``SubmitIProductionJobRequest.from_map`` takes and Query echoes."""
        body: dict[str, Any] = {"FunctionName": self.function_name}
        for field in request_fields():
            path, value = field.wire(self.api), getattr(self, field.name)
            if path is None or value is None or value == "":
                continue
            *parents, leaf = path.split(".")
            target = body
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
        return body

    @classmethod
    def from_wire(cls, api: str, params: Mapping[str, Any]) -> SubmitRequest:
        """Decode the flat parameters of an RPC request: ICE's nested objects come as JSON text (as the
        SDKs send them) or flattened ``Input.Type`` pairs. Raises MissingField / ValidationError."""
        api = canonical_api(api)
        if not params.get("FunctionName"):
            raise MissingField("FunctionName")
        for name, where in _MISPLACED[api].items():
            if name in params:
                raise ValidationError(
                    name, params[name], f"not a top-level {_API_LABEL[api]} parameter: give it in {where}"
                )
        objects: dict[str, dict[str, Any] | None] = {}
        values: dict[str, Any] = {}
        for field in request_fields():
            path = field.wire(api)
            if path is None:
                continue
            head, _, leaf = path.partition(".")
            if not leaf:
                # A JSON-object field may come flattened too (ScheduleParams.Priority=5).
                values[field.name] = (
                    _wire_object(params, head) if field.json and head not in params else params.get(head)
                )
                continue
            if head not in objects:
                objects[head] = _wire_object(params, head)
            values[field.name] = (objects[head] or {}).get(leaf)
        if api == ICE and not objects.get("Input"):
            raise MissingField("Input")
        return cls(api=api, function_name=str(params["FunctionName"]), **values)


def _wire_object(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    raw = params.get(name)
    if raw is None:
        flat = {k[len(name) + 1 :]: v for k, v in params.items() if k.startswith(name + ".")}
        return flat or None
    if raw == "":
        return None
    return json_object(name, raw)


@cache
def request_fields() -> tuple[RequestField, ...]:
    """Every submit field, in declaration order (not ``api`` and ``function_name``, which say what runs)."""
    return tuple(_describe(f) for f in dataclasses.fields(SubmitRequest) if "ice" in f.metadata)


def _describe(field: dataclasses.Field[Any]) -> RequestField:
    meta = field.metadata
    return RequestField(
        name=field.name,
        annotation=str(field.type),
        default=field.default,
        **{k: meta[k] for k in ("ice", "mts", "help", "metavar", "check", "json", "flag", "attr")},
    )


def field_for_label(label: str) -> RequestField | None:
    """The field an error's label names (a wire path of either API, ``JobParams.x`` included): the
    longest path that is the label or a dotted prefix of it (``Output.Biz`` before MPS's ``Output``)."""
    head = label.split("[", 1)[0]
    best: tuple[int, RequestField] | None = None
    for field in request_fields():
        for path in (field.ice, field.mts):
            if (
                path
                and (head == path or head.startswith(path + "."))
                and (best is None or len(path) > best[0])
            ):
                best = (len(path), field)
    return best[1] if best else None


def validate_output(
    spec: AlgorithmSpec,
    output_url: str | None,
    *,
    field: str = "Output.Media",
    params: Mapping[str, Any] | None = None,
) -> None:
    """The output path: required unless the algorithm writes no file; a valid object key (as Input);
    placeholders known and balanced; where several files come out, the distinguishing placeholder
    present; and a file extension, if any, that the algorithm writes with ``params`` (its JobParams)."""
    if not output_url:
        if spec.output_required:
            raise ValidationError(
                field, output_url, f"an OSS URL: {spec.name} writes {spec.output_ext} output"
            )
        return
    chk.split_oss_url(output_url, field=field)
    known = ["{" + p + "}" for p in PLACEHOLDERS]
    for name in re.findall(r"\{([^{}]*)\}", output_url):
        if name not in PLACEHOLDERS:
            raise ValidationError(field, output_url, f"placeholders among {known}")
    if re.search(r"[{}]", _PLACEHOLDER.sub("", output_url)):
        raise ValidationError(
            field, output_url, f"balanced placeholders among {known} (a '{{' or '}}' unpaired)"
        )
    if spec.placeholder and "{" + spec.placeholder + "}" not in output_url:
        what = f" ({', '.join(spec.result_types)})" if spec.result_types else ""
        raise ValidationError(
            field,
            output_url,
            f"a path containing {{{spec.placeholder}}}: {spec.name} writes several files{what}",
        )
    if params is not None:
        _check_extension(spec, output_url, field, params)


_PLACEHOLDER = re.compile(r"\{(?:" + "|".join(PLACEHOLDERS) + r")\}")


def _check_extension(spec: AlgorithmSpec, output_url: str, field: str, params: Mapping[str, Any]) -> None:
    """Each output file's name, placeholders filled, ends in an extension the algorithm writes, or has
    none (the file then has the written format; the worker names no extension itself)."""
    types = spec.result_types if "{resultType}" in output_url and spec.result_types else (None,)
    name = output_url.rsplit("/", 1)[-1]
    for result_type in types:
        allowed = spec.writes(params, result_type)
        if not allowed:
            return  # no output file: the path is not used
        filled = expand_placeholders(
            name, source="source", timestamp=0, sequence_id=1, result_type=result_type
        )
        suffix = PurePosixPath(filled).suffix.lower()
        if suffix and suffix not in allowed:
            which = f" for resultType {result_type}" if result_type else ""
            raise ValidationError(
                field,
                output_url,
                f"a file name ending in {' or '.join(allowed)} (or no extension): {spec.name} writes "
                f"{'/'.join(e.lstrip('.') for e in allowed)}{which} with these JobParams",
            )
