"""The algorithm table: each IProduction FunctionName, its APIs, JobParams, inputs, outputs and Result.

Everything about one algorithm lives in its ``AlgorithmSpec``, including its Result parser and any
rule across fields; nothing elsewhere special-cases an algorithm by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_iprod.catalog import params as chk
from airflow_iprod.catalog import results
from airflow_iprod.catalog.params import APIS, ICE, MTS, Param, ValidationError, canonical_api
from airflow_iprod.catalog.results import ResultParser

DETEXT_NEW_MODEL = "algo-video-detext-new"


def _detext_time_needs_model(given: Mapping[str, Any], out: dict[str, Any], model_id: str | None) -> None:
    if "Time" in out and len(out["Time"]) > 1 and model_id != DETEXT_NEW_MODEL:
        raise ValidationError(
            "JobParams.Time", given["Time"], f"one [start, end] range unless ModelId is {DETEXT_NEW_MODEL!r}"
        )


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    apis: frozenset[str]
    title: str
    input_kind: str  # video | audio | image | text  ("audio" accepts any file with an audio track)
    output_ext: str | None  # default extension of the output file; None: no output file
    params: tuple[Param, ...] = ()
    # Values an API has no field for but the algorithm needs: always their default on those APIs.
    fixed: tuple[Param, ...] = ()
    output_required: bool = True
    placeholder: str | None = None  # the placeholder the output path must contain (several files)
    result_types: tuple[str, ...] = ()
    model_ids: frozenset[str] = frozenset()
    input_formats: tuple[str, ...] | None = None  # container formats accepted, e.g. ("wav",)
    input_rates: tuple[int, ...] | None = None  # sample rates accepted, e.g. (16000, 48000)
    input_required: bool = True
    result_doc: str = "{}"
    result_parser: ResultParser | None = None  # types the Result; None: kept as the JSON came
    # A rule across fields (e.g. one JobParams value allowed only with a ModelId): called with the
    # JobParams as given, as normalised, and the ModelId; raises ValidationError.
    cross_check: Callable[[Mapping[str, Any], dict[str, Any], str | None], None] | None = None
    # The extensions the output file may have, given the normalised JobParams and the file's resultType
    # (None unless the path has {resultType}); None: ``output_ext`` alone. What each local algorithm
    # writes (local/algorithms/*); a path whose file name has no extension gets the written format.
    output_exts: Callable[[Mapping[str, Any], str | None], tuple[str, ...]] | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def params_for(self, api: str) -> tuple[Param, ...]:
        return tuple(p for p in self.params if api in p.apis)

    def writes(self, params: Mapping[str, Any], result_type: str | None = None) -> tuple[str, ...]:
        """The extensions an output file of this job may have (empty: the algorithm writes no file)."""
        if self.output_exts is not None:
            return self.output_exts(params, result_type)
        return (self.output_ext,) if self.output_ext else ()

    def media_params(self, params: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """The secondary inputs in normalised JobParams: (field label, object URL, media kind), to be
        probed like Input (AudioMixing's ``inputs[i].file``, VideoGreenScreenMatting's ``bgimage``)."""
        found: list[tuple[str, str, str]] = []
        for param in self.params:
            value = params.get(param.alias_of or param.name)
            if param.media is None or value is None:
                continue
            if isinstance(value, str):
                found.append((f"JobParams.{param.name}", value, param.media))
            else:
                for i, item in enumerate(value):
                    found.append((f"JobParams.{param.name}[{i}].file", item["file"], param.media))
        return found


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


def _by_param(
    name: str, exts: Mapping[Any, str]
) -> Callable[[Mapping[str, Any], str | None], tuple[str, ...]]:
    """The output extension chosen by one JobParams value (Cover's Model, TTS's format)."""
    return lambda params, _type: (exts[params[name]],)


def _asr_exts(params: Mapping[str, Any], result_type: str | None) -> tuple[str, ...]:
    # With {resultType} in the path ASR writes both transcripts, each under its own type.
    return (f".{result_type or params['format']}",)


def _green_screen_exts(params: Mapping[str, Any], _type: str | None) -> tuple[str, ...]:
    return (".mp4",) if params.get("bgimage") else (".webm",)  # no background: WebM with alpha


IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")  # what the image algorithms encode


def _caption_spec(name: str, apis: frozenset[str], title: str, roi: Param, lang: Param) -> AlgorithmSpec:
    """The caption extractors share fps and track; their region and language fields differ."""
    return AlgorithmSpec(name, apis, title, "video", ".srt", params=(_FPS, roi, lang, _TRACK))


_SPECS: tuple[AlgorithmSpec, ...] = (
    AlgorithmSpec(
        "Cover",
        _BOTH,
        "Smart cover",
        "video",
        ".png",
        placeholder="sequenceId",
        output_exts=_by_param("Model", {"": ".png", "gif": ".gif"}),
        params=(
            Param(
                "Model",
                "string",
                "'gif' for animated covers; empty for PNG stills.",
                default="",
                check=chk.cover_model,
            ),
        ),
        result_doc='[{"Score": 8.27, "Time": "28278.25", "Url": "oss://bucket/cover-00001.png"}]',
        result_parser=results.COVER,
    ),
    AlgorithmSpec(
        "VideoClip",
        _BOTH,
        "Video summary",
        "video",
        ".mp4",
        result_doc='{"VideoSummaryList": [{"StartTime": "0.28", "EndTime": "5.28"}]}',
        result_parser=results.CLIP,
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
                default="tv,internet",
                check=chk.logo_model,
                apis=_ICE_ONLY,
            ),
            Param(
                "Boxes",
                "list",
                "Up to two logo boxes [xmin, ymin, width, height], normalised.",
                check=chk.boxes(2),
                apis=_ICE_ONLY,
            ),
            Param(
                "Logo",
                "list",
                "Up to two logo boxes [xmin, ymin, width, height], normalised (MPS name).",
                check=chk.boxes(2),
                apis=_MTS_ONLY,
                alias_of="Boxes",
            ),
        ),
        # MPS has no LogoModel: its jobs look for both kinds of logo.
        fixed=(Param("LogoModel", "string", "Both kinds of logo.", default="tv,internet", apis=_MTS_ONLY),),
    ),
    AlgorithmSpec(
        "VideoDetext",
        _BOTH,
        "Caption removal",
        "video",
        ".mp4",
        model_ids=frozenset({DETEXT_NEW_MODEL}),
        cross_check=_detext_time_needs_model,
        params=(
            Param(
                "LimitRegion",
                "list",
                "Regions [xmin, ymin, width, height] to clean; default: bottom 30%.",
                default=[[0.0, 0.7, 1.0, 0.3]],
                check=chk.boxes(None),
            ),
            Param(
                "Time",
                "list",
                f"[start, end] seconds, or [[start, end], ...] with ModelId {DETEXT_NEW_MODEL}.",
                check=chk.time_ranges,
            ),
        ),
    ),
    _caption_spec(
        "CaptionExtraction",
        _BOTH,
        "Caption extraction",
        Param(
            "roi",
            "list",
            "[[top, bottom], [left, right]] normalised; default: bottom quarter.",
            default=[[0.75, 1.0], [0.0, 1.0]],
            check=chk.caption_roi,
        ),
        Param(
            "lang",
            "string",
            "Caption language: ch, en, or ch_ml (mixed).",
            default="ch",
            choices=("ch", "en", "ch_ml"),
        ),
    ),
    _caption_spec(
        "HybridCaptionExtraction",
        _ICE_ONLY,
        "Caption extraction (OCR + speech)",
        Param(
            "roi",
            "list",
            "[bx, by, bw, bh] normalised; default: bottom quarter.",
            default=[0.0, 0.75, 1.0, 0.25],
            check=chk.hybrid_roi,
        ),
        Param("lang", "string", "Caption language: zh or en.", default="zh", choices=("zh", "en")),
    ),
    AlgorithmSpec(
        "VideoGreenScreenMatting",
        _BOTH,
        "Green-screen matting",
        "video",
        ".mp4",
        output_exts=_green_screen_exts,
        params=(
            Param(
                "bgimage",
                "string",
                "Background image URL; without it the output is WebM with alpha (.webm).",
                check=chk.url,
                media="image",
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
                "e.g. 'whiten=20,smooth=50,face_thin=50' (each 0..100; a key left out is 0).",
                default="whiten=20,smooth=50,face_thin=50",  # the documented example
                check=chk.beauty_params,
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
        result_parser=results.SEGMENTS,
    ),
    AlgorithmSpec(
        "AudioBeatDetection",
        _BOTH,
        "Beat detection",
        "audio",
        ".json",
        result_doc='{"BeatList": [0.5, 1.0], "DownBeatList": [0.5]}',
        result_parser=results.BEATS,
    ),
    AlgorithmSpec(
        "AudioQualityAssessment",
        _ICE_ONLY,
        "Audio quality assessment",
        "audio",
        None,
        output_required=False,
        result_doc='[{"Channel": "1", "MOS(0-5)": "1.01", "Loudness(0-5)": "4.91", ...}]',
        result_parser=results.QUALITY,
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
                check=chk.mix_inputs,
                media="audio",
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
    # Matting keeps an alpha channel: PNG or WebP only.
    AlgorithmSpec(
        "ImageMatting",
        _MTS_ONLY,
        "Portrait matting",
        "image",
        ".png",
        output_exts=lambda _p, _t: (".png", ".webp"),
    ),
    *(
        AlgorithmSpec(name, _MTS_ONLY, title, "image", ".png", output_exts=lambda _p, _t: IMAGE_EXTS)
        for name, title in (
            ("ImageH2V", "Image landscape to portrait"),
            ("ImageDelogo", "Image logo removal"),
            ("ImageCartoonize", "Image cartoon style"),
        )
    ),
    AlgorithmSpec("VideoSplit", _MTS_ONLY, "Slide video split", "video", ".mp4", placeholder="sequenceId"),
    AlgorithmSpec(
        "ASR",
        _MTS_ONLY,
        "Speech recognition",
        "audio",
        ".srt",
        output_exts=_asr_exts,
        result_types=("srt", "json"),
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
            output_exts=_by_param("format", {"wav": ".wav", "mp3": ".mp3"}),
            params=(
                Param(
                    "text",
                    "string",
                    "The text to speak (1 to 10000 characters, with letters or digits to say).",
                    required=True,
                    check=lambda f, v: chk.speakable_text(f, v, 1, 10000),
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

_BY_NAME: dict[str, AlgorithmSpec] = {s.name: s for s in _SPECS}
_MTS_HINT = ", i.e. MPS: api='mts'"


def names(api: str) -> list[str]:
    api = canonical_api(api)
    return [s.name for s in _SPECS if api in s.apis]


def all_specs() -> tuple[AlgorithmSpec, ...]:
    return _SPECS


def spec_for(function_name: str, api: str) -> AlgorithmSpec:
    """The spec of ``function_name`` in ``api``, or a ValidationError listing that API's names."""
    api = canonical_api(api)
    spec = _BY_NAME.get(function_name)
    if spec is None or api not in spec.apis:
        hint = ""
        if spec is not None:
            only = "/".join(sorted(spec.apis)).upper()
            hint = f" ({function_name} exists only in the {only} API{_MTS_HINT if only == 'MTS' else ''})"
        raise ValidationError("FunctionName", function_name, f"one of {names(api)}{hint}")
    return spec


def parse_job_params(job_params: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if job_params is None or job_params == "":
        return {}
    return chk.json_object("JobParams", job_params)


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
            choices = list(known) or "none"
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
        elif param.default is not None:  # normalised like a given value, so algorithms need no defaults
            out[param.alias_of or param.name] = param.validate(json.loads(json.dumps(param.default)), field)
    for param in spec.fixed:
        if api in param.apis:
            out[param.name] = param.validate(param.default, f"JobParams.{param.name}")
    if spec.cross_check is not None:
        spec.cross_check(given, out, model_id)
    return out


def describe(spec: AlgorithmSpec, api: str = ICE) -> str:
    """A short reference text for one algorithm (used in generated operator docstrings)."""
    lines = [f"{spec.title} ({spec.name}); input: {spec.input_kind}; output: {spec.output_ext or 'none'}"]
    if spec.placeholder:
        lines.append(f"The output path must contain {{{spec.placeholder}}}.")
    for p in spec.params_for(api):
        extra = f" Default {p.default!r}." if p.default not in (None, "") else ""
        lines.append(f":param {p.name}: ({p.type}) {p.description}{extra}")
    return "\n".join(lines)


def parse_result(function_name: str, result: Any) -> Any:
    """``Result`` as typed, JSON-able data by the algorithm's own parser (as it came if none)."""
    spec = _BY_NAME.get(function_name)
    return results.decode_result(spec.result_parser if spec else None, result)
