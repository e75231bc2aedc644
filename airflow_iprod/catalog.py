"""Every IProduction algorithm, its JobParams, inputs, outputs and Result, for both APIs.

The single source of truth shared by the provider (validation before any network call) and the
local engine (validation like the cloud at Submit). Pure Python: it is imported while DAGs are
parsed, so nothing heavy may be imported here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

ICE = "ice"
MTS = "mts"
APIS = (ICE, MTS)

STATUSES = ("Queuing", "Analyzing", "Success", "Fail")
TERMINAL_STATUSES = frozenset({"Success", "Fail"})
PLACEHOLDERS = ("source", "timestamp", "sequenceId", "resultType")
DETEXT_NEW_MODEL = "algo-video-detext-new"
MAX_NAME = 100
MAX_USER_DATA = 256


class ValidationError(ValueError):
    """A request value the service would refuse: names the field, the value and what is allowed."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={_show(value)} is not valid: {allowed}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# --------------------------------------------------------------------------------------------------
# JobParams fields


@dataclass(frozen=True)
class Param:
    """One JobParams field. ``check`` normalises a present value (or raises ValidationError)."""

    name: str
    type: str  # human-readable type, shown in errors and generated operator docs
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    check: Callable[[str, Any], Any] | None = None
    apis: frozenset[str] = frozenset(APIS)
    alias_of: str | None = None  # the name algorithms see, when an API spells the field differently

    def validate(self, value: Any, field: str) -> Any:
        if self.check is not None:
            value = self.check(field, value)
        elif self.type == "integer":
            value = _integer(field, value)
        elif self.type == "number":
            value = _number(field, value)
        elif self.type == "string":
            value = _string(field, value)
        if self.choices is not None and value not in self.choices:
            raise ValidationError(field, value, f"one of {list(self.choices)}")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ValidationError(field, value, f"a value in [{self.min:g}, {self.max:g}]")
        return value


def _integer(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(field, value, "an integer")
    try:
        number = float(value)
    except ValueError:
        raise ValidationError(field, value, "an integer") from None
    if not number.is_integer():
        raise ValidationError(field, value, "an integer")
    return int(number)


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(field, value, "a number")
    try:
        return float(value)
    except ValueError:
        raise ValidationError(field, value, "a number") from None


def _string(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, value, "a string")
    return value


def _json_list(field: str, value: Any) -> list[Any]:
    """Lists may come as JSON text (the docs show Boxes as a string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValidationError(field, value, "a JSON list") from None
    if not isinstance(value, list):
        raise ValidationError(field, value, "a list")
    return value


def _unit_numbers(field: str, value: Any, count: int, shape: str) -> list[float]:
    if not isinstance(value, list) or len(value) != count:
        raise ValidationError(field, value, f"a list {shape} of {count} numbers in [0, 1]")
    numbers = [_number(field, v) for v in value]
    if any(not 0 <= n <= 1 for n in numbers):
        raise ValidationError(field, value, f"{shape} with every value in [0, 1] (normalised)")
    return numbers


def _box(field: str, value: Any) -> list[float]:
    """[xmin, ymin, width, height], normalised, inside the frame, non-empty."""
    x, y, w, h = _unit_numbers(field, value, 4, "[xmin, ymin, width, height]")
    if w <= 0 or h <= 0 or x + w > 1 + 1e-9 or y + h > 1 + 1e-9:
        raise ValidationError(
            field, value, "a box [xmin, ymin, width, height] with width, height > 0 inside [0, 1]"
        )
    return [x, y, w, h]


def _boxes(max_boxes: int | None) -> Callable[[str, Any], list[list[float]]]:
    def check(field: str, value: Any) -> list[list[float]]:
        boxes = _json_list(field, value)
        if boxes and not isinstance(boxes[0], list):
            boxes = [boxes]  # a single box given flat
        if not boxes:
            raise ValidationError(field, value, "at least one box [xmin, ymin, width, height]")
        if max_boxes is not None and len(boxes) > max_boxes:
            raise ValidationError(field, value, f"at most {max_boxes} boxes")
        return [_box(f"{field}[{i}]", b) for i, b in enumerate(boxes)]

    return check


def _logo_model(field: str, value: Any) -> str:
    parts = [p.strip() for p in _string(field, value).split(",")]
    if not parts or any(p not in ("tv", "internet") for p in parts):
        raise ValidationError(field, value, "tv, internet, or both comma-separated ('tv,internet')")
    return ",".join(dict.fromkeys(parts))


def _time_ranges(field: str, value: Any) -> list[list[float]]:
    """[start, end] or [[start, end], ...] seconds; always returned 2-D. The 2-D form's model rule is
    checked in ``validate_job_params`` since it depends on ModelId."""
    ranges = _json_list(field, value)
    if ranges and not isinstance(ranges[0], list):
        ranges = [ranges]
    if not ranges:
        raise ValidationError(field, value, "[start, end] in seconds, or a list of such ranges")
    out = []
    for i, item in enumerate(ranges):
        if not isinstance(item, list) or len(item) != 2:
            raise ValidationError(f"{field}[{i}]", item, "[start, end] in seconds")
        start, end = (_number(f"{field}[{i}]", v) for v in item)
        if start < 0 or end <= start:
            raise ValidationError(f"{field}[{i}]", item, "0 <= start < end (seconds)")
        out.append([start, end])
    return out


def _caption_roi(field: str, value: Any) -> list[list[float]]:
    """[[top, bottom], [left, right]], normalised."""
    value = _json_list(field, value)
    shape = "[[top, bottom], [left, right]]"
    if len(value) != 2 or not all(isinstance(v, list) for v in value):
        raise ValidationError(field, value, f"{shape}, normalised to [0, 1]")
    (top, bottom), (left, right) = (_unit_numbers(field, v, 2, shape) for v in value)
    if top >= bottom or left >= right:
        raise ValidationError(field, value, f"{shape} with top < bottom and left < right")
    return [[top, bottom], [left, right]]


def _hybrid_roi(field: str, value: Any) -> list[float]:
    return _box(field, _json_list(field, value))


_BEAUTY_KEYS = ("whiten", "smooth", "face_thin")


def _beauty_params(field: str, value: Any) -> dict[str, int]:
    """ "whiten=20,smooth=50,face_thin=50" -> {"whiten": 20, ...}; each 0..100."""
    out: dict[str, int] = {}
    for part in _string(field, value).split(","):
        if not part.strip():
            continue
        key, sep, number = part.partition("=")
        key = key.strip()
        if not sep or key not in _BEAUTY_KEYS:
            raise ValidationError(
                field, value, f"comma-separated key=value pairs with keys {list(_BEAUTY_KEYS)}"
            )
        level = _integer(f"{field}.{key}", number.strip())
        if not 0 <= level <= 100:
            raise ValidationError(f"{field}.{key}", level, "an integer in [0, 100]")
        out[key] = level
    if not out:
        raise ValidationError(
            field, value, "at least one of " + ", ".join(f"{k}=0..100" for k in _BEAUTY_KEYS)
        )
    return out


def _mix_inputs(field: str, value: Any) -> list[dict[str, str]]:
    items = _json_list(field, [value] if isinstance(value, dict) else value)
    if len(items) != 1:
        raise ValidationError(field, value, 'exactly one track: [{"file": "oss://bucket/key"}]')
    item = items[0]
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise ValidationError(f"{field}[0]", item, 'an object {"file": "<OSS URL>"}')
    split_oss_url(item["file"], field=f"{field}[0].file")
    return [{"file": item["file"]}]


def _url(field: str, value: Any) -> str:
    value = _string(field, value)
    if not re.match(r"^(oss|https?)://[^/]+/.+", value):
        raise ValidationError(field, value, "an oss:// or http(s):// URL of an object")
    return value


def _cover_model(field: str, value: Any) -> str:
    value = _string(field, value)
    if value not in ("", "gif"):
        raise ValidationError(field, value, "'gif' for an animated cover, or empty for PNG stills")
    return value


# --------------------------------------------------------------------------------------------------
# Algorithms


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    apis: frozenset[str]
    title: str
    input_kind: str  # video | audio | image | text  ("audio" accepts any file with an audio track)
    output_ext: str | None  # default extension of the output file; None: no output file
    params: tuple[Param, ...] = ()
    output_required: bool = True
    placeholder: str | None = None  # the placeholder the output path must contain (several files)
    result_types: tuple[str, ...] = ()
    model_ids: frozenset[str] = frozenset()
    input_formats: tuple[str, ...] | None = None  # container formats accepted, e.g. ("wav",)
    input_rates: tuple[int, ...] | None = None  # sample rates accepted, e.g. (16000, 48000)
    input_required: bool = True
    result_doc: str = "{}"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def params_for(self, api: str) -> tuple[Param, ...]:
        return tuple(p for p in self.params if api in p.apis)


_BOTH = frozenset(APIS)
_ICE_ONLY = frozenset({ICE})
_MTS_ONLY = frozenset({MTS})
_FPS = Param("fps", "integer", "Frames sampled per second.", default=5, min=2, max=10)
_TRACK = Param(
    "track",
    "string",
    "'main': only the main caption track; absent: every caption in the region.",
    choices=("main",),
)

_SPECS: tuple[AlgorithmSpec, ...] = (
    AlgorithmSpec(
        "Cover",
        _BOTH,
        "Smart cover",
        "video",
        ".png",
        placeholder="sequenceId",
        params=(
            Param(
                "Model",
                "string",
                "'gif' for animated covers; empty for PNG stills.",
                default="",
                check=_cover_model,
            ),
        ),
        result_doc='[{"Score": 8.27, "Time": "28278.25", "Url": "oss://bucket/cover-00001.png"}]',
    ),
    AlgorithmSpec(
        "VideoClip",
        _BOTH,
        "Video summary",
        "video",
        ".mp4",
        result_doc='{"VideoSummaryList": [{"StartTime": "0.28", "EndTime": "5.28"}]}',
    ),
    AlgorithmSpec(
        "VideoDelogo",
        _BOTH,
        "Logo removal",
        "video",
        ".mp4",
        params=(
            Param(
                "LogoModel",
                "string",
                "Kind of logo to find: tv, internet, or 'tv,internet'.",
                check=_logo_model,
                apis=_ICE_ONLY,
            ),
            Param(
                "Boxes",
                "list",
                "Up to two logo boxes [xmin, ymin, width, height], normalised.",
                check=_boxes(2),
                apis=_ICE_ONLY,
            ),
            Param(
                "Logo",
                "list",
                "Up to two logo boxes [xmin, ymin, width, height], normalised (MPS name).",
                check=_boxes(2),
                apis=_MTS_ONLY,
                alias_of="Boxes",
            ),
        ),
    ),
    AlgorithmSpec(
        "VideoDetext",
        _BOTH,
        "Caption removal",
        "video",
        ".mp4",
        model_ids=frozenset({DETEXT_NEW_MODEL}),
        params=(
            Param(
                "LimitRegion",
                "list",
                "Regions [xmin, ymin, width, height] to clean; default: bottom 30%.",
                default=[[0.0, 0.7, 1.0, 0.3]],
                check=_boxes(None),
            ),
            Param(
                "Time",
                "list",
                f"[start, end] seconds, or [[start, end], ...] with ModelId {DETEXT_NEW_MODEL}.",
                check=_time_ranges,
            ),
        ),
    ),
    AlgorithmSpec(
        "CaptionExtraction",
        _BOTH,
        "Caption extraction",
        "video",
        ".srt",
        params=(
            _FPS,
            Param(
                "roi",
                "list",
                "[[top, bottom], [left, right]] normalised; default: bottom quarter.",
                default=[[0.75, 1.0], [0.0, 1.0]],
                check=_caption_roi,
            ),
            Param(
                "lang",
                "string",
                "Caption language: ch, en, or ch_ml (mixed).",
                default="ch",
                choices=("ch", "en", "ch_ml"),
            ),
            _TRACK,
        ),
    ),
    AlgorithmSpec(
        "HybridCaptionExtraction",
        _ICE_ONLY,
        "Caption extraction (OCR + speech)",
        "video",
        ".srt",
        params=(
            _FPS,
            Param(
                "roi",
                "list",
                "[bx, by, bw, bh] normalised; default: bottom quarter.",
                default=[0.0, 0.75, 1.0, 0.25],
                check=_hybrid_roi,
            ),
            Param("lang", "string", "Caption language: zh or en.", default="zh", choices=("zh", "en")),
            _TRACK,
        ),
    ),
    AlgorithmSpec(
        "VideoGreenScreenMatting",
        _BOTH,
        "Green-screen matting",
        "video",
        ".mp4",
        params=(
            Param(
                "bgimage",
                "string",
                "Background image URL; without it the output is WebM with alpha.",
                check=_url,
            ),
        ),
    ),
    AlgorithmSpec(
        "FaceBeauty",
        _ICE_ONLY,
        "Face beautification",
        "video",
        ".mp4",
        params=(
            Param(
                "beauty_params",
                "string",
                "e.g. 'whiten=20,smooth=50,face_thin=50' (each 0..100).",
                check=_beauty_params,
            ),
        ),
    ),
    AlgorithmSpec("VideoH2V", _BOTH, "Landscape to portrait", "video", ".mp4"),
    AlgorithmSpec(
        "MusicSegmentDetect",
        _BOTH,
        "Chorus detection",
        "audio",
        ".json",
        result_doc='[{"start": 39.32, "end": 63.85, "title": "副歌"}]',
    ),
    AlgorithmSpec(
        "AudioBeatDetection",
        _BOTH,
        "Beat detection",
        "audio",
        ".json",
        result_doc='{"BeatList": [0.5, 1.0], "DownBeatList": [0.5]}',
    ),
    AlgorithmSpec(
        "AudioQualityAssessment",
        _ICE_ONLY,
        "Audio quality assessment",
        "audio",
        None,
        output_required=False,
        result_doc='[{"Channel": "1", "MOS(0-5)": "1.01", "Loudness(0-5)": "4.91", ...}]',
    ),
    AlgorithmSpec(
        "SpeechDenoise",
        _ICE_ONLY,
        "Speech denoising",
        "audio",
        ".wav",
        input_formats=("wav",),
        input_rates=(16000, 48000),
    ),
    AlgorithmSpec(
        "AudioMixing",
        _BOTH,
        "Audio mixing",
        "audio",
        ".wav",
        params=(
            Param(
                "inputs",
                "list",
                'The track to mix in: [{"file": "oss://bucket/key"}] (one track).',
                required=True,
                check=_mix_inputs,
            ),
        ),
    ),
    AlgorithmSpec(
        "MusicDemix",
        _ICE_ONLY,
        "Vocal / accompaniment separation",
        "audio",
        ".wav",
        placeholder="resultType",
        result_types=("vocals", "accompaniment"),
    ),
    AlgorithmSpec("ImageMatting", _MTS_ONLY, "Portrait matting", "image", ".png"),
    AlgorithmSpec("ImageH2V", _MTS_ONLY, "Image landscape to portrait", "image", ".png"),
    AlgorithmSpec("ImageDelogo", _MTS_ONLY, "Image logo removal", "image", ".png"),
    AlgorithmSpec("ImageCartoonize", _MTS_ONLY, "Image cartoon style", "image", ".png"),
    AlgorithmSpec("VideoSplit", _MTS_ONLY, "Slide video split", "video", ".mp4", placeholder="sequenceId"),
    AlgorithmSpec(
        "ASR",
        _MTS_ONLY,
        "Speech recognition",
        "audio",
        ".srt",
        params=(
            Param("lang", "string", "Speech language: zh or en.", default="zh", choices=("zh", "en")),
            Param(
                "format",
                "string",
                "Transcript file format: srt or json.",
                default="srt",
                choices=("srt", "json"),
            ),
        ),
        result_doc='{"Text": "...", "Sentences": [{"start": 0.0, "end": 1.2, "text": "..."}]}',
    ),
    *(
        AlgorithmSpec(
            tts,
            _MTS_ONLY,
            title,
            "text",
            ".wav",
            input_required=False,
            params=(
                Param(
                    "text",
                    "string",
                    "The text to speak (1 to 10000 characters).",
                    required=True,
                    check=lambda f, v: _length(f, v, 1, 10000),
                ),
                Param("voice", "string", "Voice name.", default="en-us"),
                Param("speech_rate", "number", "Speaking rate multiplier.", default=1.0, min=0.5, max=2.0),
                Param("volume", "integer", "Volume.", default=50, min=0, max=100),
                Param("format", "string", "Audio format.", default="wav", choices=("wav", "mp3")),
            ),
            result_doc='{"Duration": 2.1, "Voice": "en-us", "SampleRate": 22050}',
        )
        for tts, title in (
            ("TextToSpeech", "Text to speech"),
            ("AsyncTextToSpeech", "Text to speech (async)"),
        )
    ),
)


def _length(field: str, value: Any, low: int, high: int) -> str:
    value = _string(field, value)
    if not low <= len(value) <= high:
        raise ValidationError(field, f"<{len(value)} characters>", f"{low} to {high} characters")
    return value


_BY_NAME: dict[str, AlgorithmSpec] = {s.name: s for s in _SPECS}


# "MPS" (Media Processing) is the product's name; its SDK, endpoint and our ``api`` value say "mts".
API_ALIASES: dict[str, str] = {"mps": MTS}
_MTS_HINT = ", i.e. MPS: api='mts'"


def canonical_api(api: Any) -> str:
    """``api`` as the catalog spells it, ``ice`` or ``mts``; ``mps`` and any letter case accepted."""
    name = API_ALIASES.get(api.strip().lower(), api.strip().lower()) if isinstance(api, str) else None
    if name not in APIS:
        raise ValidationError("api", api, f"one of {list(APIS)} ('mps' is accepted for 'mts')")
    return name


def names(api: str) -> list[str]:
    api = canonical_api(api)
    return [s.name for s in _SPECS if api in s.apis]


def all_specs() -> tuple[AlgorithmSpec, ...]:
    return _SPECS


def get(function_name: str, api: str) -> AlgorithmSpec:
    api = canonical_api(api)
    spec = _BY_NAME.get(function_name)
    if spec is None or api not in spec.apis:
        hint = ""
        if spec is not None:
            only = "/".join(sorted(spec.apis)).upper()
            hint = f" ({function_name} exists only in the {only} API{_MTS_HINT if only == 'MTS' else ''})"
        raise ValidationError("FunctionName", function_name, f"one of {names(api)}{hint}")
    return spec


# --------------------------------------------------------------------------------------------------
# Validation


def parse_job_params(job_params: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if job_params is None or job_params == "":
        return {}
    if isinstance(job_params, str):
        try:
            job_params = json.loads(job_params)
        except json.JSONDecodeError as err:
            raise ValidationError(
                "JobParams", job_params, f"a JSON object ({err.msg} at char {err.pos})"
            ) from None
    if not isinstance(job_params, Mapping):
        raise ValidationError("JobParams", job_params, "a JSON object")
    return dict(job_params)


def validate_job_params(
    spec: AlgorithmSpec,
    job_params: str | Mapping[str, Any] | None,
    *,
    model_id: str | None = None,
    api: str = ICE,
) -> dict[str, Any]:
    """Check JobParams against the spec; return them normalised with documented defaults filled in."""
    given = parse_job_params(job_params)
    allowed = spec.params_for(api)
    known = {p.name: p for p in allowed}
    for key in given:
        if key not in known:
            near = [p.name for p in allowed if p.name.lower() == key.lower()]
            hint = f"; did you mean {near[0]!r}?" if near else ""
            choices = [p.name for p in allowed] or "none"
            raise ValidationError(
                f"JobParams.{key}", given[key], f"a known field of {spec.name}: {choices}{hint}"
            )
    out: dict[str, Any] = {}
    for param in allowed:
        field = f"JobParams.{param.name}"
        if param.name in given and given[param.name] is not None:
            out[param.alias_of or param.name] = param.validate(given[param.name], field)
        elif param.required:
            raise ValidationError(field, None, f"required by {spec.name} ({param.description})")
        elif param.default is not None:
            out[param.name] = json.loads(json.dumps(param.default))  # a fresh copy of list defaults
    if spec.name == "VideoDetext" and "Time" in out and len(out["Time"]) > 1 and model_id != DETEXT_NEW_MODEL:
        raise ValidationError(
            "JobParams.Time", given["Time"], f"one [start, end] range unless ModelId is {DETEXT_NEW_MODEL!r}"
        )
    return out


def split_oss_url(url: str, *, field: str = "Media") -> tuple[str, str]:
    """``oss://bucket/key``, ``oss://bucket.oss-REGION.aliyuncs.com/key`` or
    ``http(s)://bucket.oss-REGION.aliyuncs.com/key`` -> (bucket, key)."""
    allowed = "oss://bucket/key or http(s)://bucket.oss-REGION.aliyuncs.com/key"
    if not isinstance(url, str):
        raise ValidationError(field, url, allowed)
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "oss":
        bucket = host.split(".oss-", 1)[0] if ".oss-" in host else host
        key = parts.path.lstrip("/")
    elif parts.scheme in ("http", "https") and ".oss-" in host and host.endswith(".aliyuncs.com"):
        bucket = host.split(".oss-", 1)[0]
        key = unquote(parts.path.lstrip("/"))
    else:
        raise ValidationError(field, url, allowed)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket):
        raise ValidationError(
            field, url, f"{allowed}, with a bucket name of 3-63 lowercase letters, digits, '-'"
        )
    if not key or key.endswith("/"):
        raise ValidationError(field, url, f"{allowed}, naming an object (not a folder)")
    return bucket, key


def validate_output(spec: AlgorithmSpec, output_url: str | None, *, field: str = "Output.Media") -> None:
    """The output path: required unless the algorithm writes no file; placeholders known and,
    where several files come out, the distinguishing placeholder present."""
    if not output_url:
        if spec.output_required:
            raise ValidationError(
                field, output_url, f"an OSS URL: {spec.name} writes {spec.output_ext} output"
            )
        return
    split_oss_url(output_url, field=field)
    for name in re.findall(r"\{([^{}]*)\}", output_url):
        if name not in PLACEHOLDERS:
            raise ValidationError(
                field, output_url, f"placeholders among {['{' + p + '}' for p in PLACEHOLDERS]}"
            )
    if spec.placeholder and "{" + spec.placeholder + "}" not in output_url:
        what = f" ({', '.join(spec.result_types)})" if spec.result_types else ""
        raise ValidationError(
            field,
            output_url,
            f"a path containing {{{spec.placeholder}}}: {spec.name} writes several files{what}",
        )


def validate_submit(
    api: str,
    *,
    function_name: str,
    job_params: str | Mapping[str, Any] | None = None,
    input_type: str | None = "OSS",
    input_media: str | None = None,
    output_type: str | None = "OSS",
    output_media: str | None = None,
    output_url: str | None = None,
    model_id: str | None = None,
    name: str | None = None,
    user_data: str | None = None,
    priority: int | str | None = None,
    pipeline_id: str | None = None,
    template_id: str | None = None,
    biz: str | None = None,
    notify_url: str | None = None,
    schedule_params: str | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every request rule of SubmitIProductionJob; returns the normalised JobParams.

    MPS has flat OSS-only ``Input`` / ``Output``: pass them as ``input_media`` / ``output_media``
    with the default types.
    """
    api = canonical_api(api)
    if not function_name:
        raise ValidationError("FunctionName", function_name, f"one of {names(api)}")
    spec = get(function_name, api)
    in_field = "Input.Media" if api == ICE else "Input"
    out_field = "Output.Media" if api == ICE else "Output"
    input_type = input_type or "OSS"
    output_type = output_type or "OSS"
    if api == MTS and (input_type != "OSS" or output_type != "OSS"):
        raise ValidationError(
            "Input" if input_type != "OSS" else "Output", "Media", "OSS URLs (MPS has no media IDs)"
        )
    if input_type not in ("OSS", "Media"):
        raise ValidationError("Input.Type", input_type, "OSS or Media")
    if not input_media:
        if spec.input_required:
            raise ValidationError(in_field, input_media, f"required: the {spec.input_kind} to process")
    elif input_type == "OSS":
        split_oss_url(input_media, field=in_field)
    if output_type not in ("OSS", "Media"):
        raise ValidationError("Output.Type", output_type, "OSS or Media")
    if output_type == "OSS":
        validate_output(spec, output_media, field=out_field)
    elif output_url:  # Media: an existing asset ID, or empty for a new asset; files go to OutputUrl
        validate_output(spec, output_url, field="Output.OutputUrl")
    if biz is not None and biz not in ("", "IMS", "VOD"):
        raise ValidationError("Output.Biz", biz, "IMS or VOD")
    if model_id and model_id not in spec.model_ids:
        allowed = f"one of {sorted(spec.model_ids)} or empty" if spec.model_ids else "empty (no other model)"
        raise ValidationError("ModelId", model_id, f"{allowed} for {spec.name}")
    if name is not None and len(name) > MAX_NAME:
        raise ValidationError("Name", f"<{len(name)} characters>", f"at most {MAX_NAME} characters")
    if user_data is not None and len(user_data) > MAX_USER_DATA:
        raise ValidationError(
            "UserData", f"<{len(user_data)} characters>", f"at most {MAX_USER_DATA} characters"
        )
    if priority is not None and priority != "":
        level = _integer("ScheduleConfig.Priority", priority)
        if not 1 <= level <= 10:
            raise ValidationError(
                "ScheduleConfig.Priority", priority, "an integer from 1 to 10 (1 runs first)"
            )
    for label, value in (("ScheduleConfig.PipelineId", pipeline_id), ("TemplateId", template_id)):
        if value is not None and (not isinstance(value, str) or len(value) > 128):
            raise ValidationError(label, value, "a string of at most 128 characters")
    _validate_mps_extras(api, notify_url, schedule_params)
    return validate_job_params(spec, job_params, model_id=model_id, api=api)


# MPS calls back through an MNS queue only: mns://<account>.mns.<region>.aliyuncs.com/queues/<name>.
_MNS_QUEUE = re.compile(r"^mns://[^/\s]+/queues/[^/\s]+$")


def _validate_mps_extras(api: str, notify_url: Any, schedule_params: Any) -> None:
    if api == ICE:
        for label, value in (("NotifyUrl", notify_url), ("ScheduleParams", schedule_params)):
            if value not in (None, ""):
                raise ValidationError(label, value, "MPS only (api='mts')")
        return
    if notify_url not in (None, "") and not (isinstance(notify_url, str) and _MNS_QUEUE.match(notify_url)):
        raise ValidationError(
            "NotifyUrl", notify_url, "an MNS queue, mns://<account>.mns.<region>.aliyuncs.com/queues/<name>"
        )
    if schedule_params in (None, ""):
        return
    parsed = schedule_params
    if isinstance(schedule_params, str):
        try:
            parsed = json.loads(schedule_params)
        except json.JSONDecodeError:
            parsed = None
    if not isinstance(parsed, Mapping):
        raise ValidationError("ScheduleParams", schedule_params, "a JSON object")
    if parsed.get("Priority") is not None:  # the one key the local engine honours
        level = _integer("ScheduleParams.Priority", parsed["Priority"])
        if not 1 <= level <= 10:
            raise ValidationError("ScheduleParams.Priority", parsed["Priority"], "an integer from 1 to 10")


# --------------------------------------------------------------------------------------------------
# Outputs, status, Result


def expand_placeholders(
    template: str,
    *,
    source: str,
    timestamp: int,
    sequence_id: int | None = None,
    result_type: str | None = None,
) -> str:
    """Fill {source} (input file name without extension), {timestamp} (Unix seconds),
    {sequenceId} (5 digits, as in the service's Cover example) and {resultType}."""
    values = {
        "source": source,
        "timestamp": str(timestamp),
        "sequenceId": f"{sequence_id:05d}" if sequence_id is not None else "",
        "resultType": result_type or "",
    }
    return re.sub(r"\{(source|timestamp|sequenceId|resultType)\}", lambda m: values[m.group(1)], template)


_STATUS_WORDS = {
    "queuing": "Queuing",
    "queued": "Queuing",
    "submitted": "Queuing",
    "init": "Queuing",
    "pending": "Queuing",
    "analyzing": "Analyzing",
    "processing": "Analyzing",
    "running": "Analyzing",
    "success": "Success",
    "succeeded": "Success",
    "finished": "Success",
    "fail": "Fail",
    "failed": "Fail",
    "error": "Fail",
    "cancelled": "Fail",
    "canceled": "Fail",
}


def normalize_status(api: str, raw: str | None) -> str:
    """ICE ``Status`` / MPS ``State`` -> Queuing | Analyzing | Success | Fail.

    An unknown word is returned unchanged so callers treat it as not finished (and their timeout
    still bounds the wait) rather than guessing an outcome.
    """
    canonical_api(api)
    return _STATUS_WORDS.get((raw or "").strip().lower(), raw or "")


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values or []]


def _coerce_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _parse_cover(data: Any) -> Any:
    return [
        {**item, "Score": float(item.get("Score", 0)), "Time": float(item.get("Time", 0))} for item in data
    ]


def _parse_clip(data: Any) -> Any:
    items = data.get("VideoSummaryList", [])
    return {
        **data,
        "VideoSummaryList": [
            {"StartTime": float(i["StartTime"]), "EndTime": float(i["EndTime"])} for i in items
        ],
    }


def _parse_beats(data: Any) -> Any:
    return {
        **data,
        "BeatList": _floats(data.get("BeatList")),
        "DownBeatList": _floats(data.get("DownBeatList")),
    }


def _parse_segments(data: Any) -> Any:
    return [{**s, "start": float(s["start"]), "end": float(s["end"])} for s in data]


def _parse_quality(data: Any) -> Any:
    keep_text = {
        "Channel",
        "Time",
        "Input",
        "Tag",
        "MOS",
        "Discontinuity",
        "Loudness",
        "Noisiness",
        "Coloration",
    }
    return [{k: v if k in keep_text else _coerce_number(v) for k, v in ch.items()} for ch in data]


_RESULT_PARSERS: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "Cover": (list, _parse_cover),
    "VideoClip": (dict, _parse_clip),
    "AudioBeatDetection": (dict, _parse_beats),
    "MusicSegmentDetect": (list, _parse_segments),
    "AudioQualityAssessment": (list, _parse_quality),
}


def parse_result(function_name: str, result: str | None) -> Any:
    """Turn the service's ``Result`` JSON string into typed, JSON-able data (numbers as floats).

    Unparseable or unexpected shapes are returned as they came rather than dropped.
    """
    if result is None or result == "":
        return {}
    try:
        data = json.loads(result) if isinstance(result, str) else result
    except json.JSONDecodeError:
        return result
    shape, parser = _RESULT_PARSERS.get(function_name, (object, lambda d: d))
    if not isinstance(data, shape):
        return data
    try:
        return parser(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return data


def describe(spec: AlgorithmSpec, api: str = ICE) -> str:
    """A short reference text for one algorithm (used in generated operator docstrings)."""
    lines = [f"{spec.title} ({spec.name}); input: {spec.input_kind}; output: {spec.output_ext or 'none'}"]
    if spec.placeholder:
        lines.append(f"The output path must contain {{{spec.placeholder}}}.")
    for p in spec.params_for(api):
        extra = f" Default {p.default!r}." if p.default not in (None, "") else ""
        lines.append(f":param {p.name}: ({p.type}) {p.description}{extra}")
    return "\n".join(lines)
