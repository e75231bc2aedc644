"""Output paths, job statuses and Result parsing: what comes back from a job, for both APIs.

Each algorithm's spec names its Result parser (see ``specs``); ``decode_result`` applies one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_iprod.catalog.params import canonical_api

STATUSES = ("Queuing", "Analyzing", "Success", "Fail")
TERMINAL_STATUSES = frozenset({"Success", "Fail"})
PLACEHOLDERS = ("source", "timestamp", "sequenceId", "resultType")


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


def parse_cover(data: Any) -> Any:
    return [
        {**item, "Score": float(item.get("Score", 0)), "Time": float(item.get("Time", 0))} for item in data
    ]


def parse_clip(data: Any) -> Any:
    items = data.get("VideoSummaryList", [])
    return {
        **data,
        "VideoSummaryList": [
            {"StartTime": float(i["StartTime"]), "EndTime": float(i["EndTime"])} for i in items
        ],
    }


def parse_beats(data: Any) -> Any:
    return {
        **data,
        "BeatList": _floats(data.get("BeatList")),
        "DownBeatList": _floats(data.get("DownBeatList")),
    }


def parse_segments(data: Any) -> Any:
    return [{**s, "start": float(s["start"]), "end": float(s["end"])} for s in data]


def parse_quality(data: Any) -> Any:
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


@dataclass(frozen=True)
class ResultParser:
    """Types one algorithm's Result: applied only when the JSON has the expected top-level shape."""

    shape: type
    parse: Callable[[Any], Any]


COVER = ResultParser(list, parse_cover)
CLIP = ResultParser(dict, parse_clip)
BEATS = ResultParser(dict, parse_beats)
SEGMENTS = ResultParser(list, parse_segments)
QUALITY = ResultParser(list, parse_quality)


def decode_result(parser: ResultParser | None, result: Any) -> Any:
    """The service's ``Result`` JSON string as typed, JSON-able data (numbers as floats).

    Unparseable or unexpected shapes are returned as they came rather than dropped.
    """
    if result is None or result == "":
        return {}
    try:
        data = json.loads(result) if isinstance(result, str) else result
    except json.JSONDecodeError:
        return result
    if parser is None or not isinstance(data, parser.shape):
        return data
    try:
        return parser.parse(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return data
