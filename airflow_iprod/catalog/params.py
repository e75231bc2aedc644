"""JobParams and request field checkers: each normalises one value or raises ValidationError.

Pure Python (imported while DAGs are parsed): nothing heavy may be imported here.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

ICE = "ice"
MTS = "mts"
APIS = (ICE, MTS)


class ValidationError(ValueError):
    """A request value the service would refuse: names the field, the value and what is allowed."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={_show(value)} is not valid: {allowed}")


class MissingField(ValidationError):
    """A required request field that is absent altogether (the service answers MissingParameter)."""

    def __init__(self, field: str, allowed: str = "required") -> None:
        super().__init__(field, None, allowed)


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return "<deeply nested value>"
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
    # The value names a media object the job reads besides Input (a URL, or a list of {"file": URL}):
    # its kind (audio, image ...), so the engine can probe it at Submit like Input.
    media: str | None = None

    def validate(self, value: Any, field: str) -> Any:
        if self.check is not None:
            value = self.check(field, value)
        elif self.type == "integer":  # JobParams travel as JSON: "5" is text, not the integer 5
            value = integer(field, value, text=False)
        elif self.type == "number":
            value = number(field, value, text=False)
        elif self.type == "string":
            value = string(field, value)
        if self.choices is not None and value not in self.choices:
            raise ValidationError(field, value, f"one of {list(self.choices)}")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ValidationError(field, value, f"a value in [{self.min:g}, {self.max:g}]")
        return value


def _as_float(field: str, value: Any, kind: str, text: bool) -> float:
    """``value`` as a float if it is a number (numeric text only with ``text``), else the refusal."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | str)
        or (isinstance(value, str) and not text)
    ):
        raise ValidationError(field, value, kind + ("" if text else " (a JSON number, not text)"))
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise ValidationError(field, value, kind) from None


def integer(field: str, value: Any, *, text: bool = True) -> int:
    """An integer; numeric text such as ``"5"`` only with ``text`` (CLI flags, rendered templates)."""
    number = _as_float(field, value, "an integer", text)
    if not number.is_integer():
        raise ValidationError(field, value, "an integer")
    return int(number)


def number(field: str, value: Any, *, text: bool = True) -> float:
    """A finite number; numeric text only with ``text``."""
    result = _as_float(field, value, "a number", text)
    if not math.isfinite(result):
        raise ValidationError(field, value, "a finite number")
    return result


def string(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, value, "a string")
    return value


def json_list(field: str, value: Any) -> list[Any]:
    """Lists may come as JSON text (the docs show Boxes as a string)."""
    if isinstance(value, str):
        value = json_value(field, value, "a JSON list")
    if not isinstance(value, list):
        raise ValidationError(field, value, "a list")
    return value


def unit_numbers(field: str, value: Any, count: int, shape: str) -> list[float]:
    if not isinstance(value, list) or len(value) != count:
        raise ValidationError(field, value, f"a list {shape} of {count} numbers in [0, 1]")
    numbers = [number(field, v, text=False) for v in value]
    if any(not 0 <= n <= 1 for n in numbers):
        raise ValidationError(field, value, f"{shape} with every value in [0, 1] (normalised)")
    return numbers


def box(field: str, value: Any) -> list[float]:
    """[xmin, ymin, width, height], normalised, inside the frame, non-empty."""
    x, y, w, h = unit_numbers(field, value, 4, "[xmin, ymin, width, height]")
    if w <= 0 or h <= 0 or x + w > 1 + 1e-9 or y + h > 1 + 1e-9:
        raise ValidationError(
            field, value, "a box [xmin, ymin, width, height] with width, height > 0 inside [0, 1]"
        )
    return [x, y, w, h]


def boxes(max_boxes: int | None) -> Callable[[str, Any], list[list[float]]]:
    def check(field: str, value: Any) -> list[list[float]]:
        boxes = json_list(field, value)
        if boxes and not isinstance(boxes[0], list):
            boxes = [boxes]  # a single box given flat
        if not boxes:
            raise ValidationError(field, value, "at least one box [xmin, ymin, width, height]")
        if max_boxes is not None and len(boxes) > max_boxes:
            raise ValidationError(field, value, f"at most {max_boxes} boxes")
        return [box(f"{field}[{i}]", b) for i, b in enumerate(boxes)]

    return check


def logo_model(field: str, value: Any) -> str:
    parts = [p.strip() for p in string(field, value).split(",")]
    if not parts or any(p not in ("tv", "internet") for p in parts):
        raise ValidationError(field, value, "tv, internet, or both comma-separated ('tv,internet')")
    return ",".join(dict.fromkeys(parts))


def time_ranges(field: str, value: Any) -> list[list[float]]:
    """[start, end] or [[start, end], ...] seconds; always returned 2-D. The 2-D form's model rule is
    checked in ``validate_job_params`` since it depends on ModelId."""
    ranges = json_list(field, value)
    if ranges and not isinstance(ranges[0], list):
        ranges = [ranges]
    if not ranges:
        raise ValidationError(field, value, "[start, end] in seconds, or a list of such ranges")
    out = []
    for i, item in enumerate(ranges):
        if not isinstance(item, list) or len(item) != 2:
            raise ValidationError(f"{field}[{i}]", item, "[start, end] in seconds")
        start, end = (number(f"{field}[{i}]", v, text=False) for v in item)
        if start < 0 or end <= start:
            raise ValidationError(f"{field}[{i}]", item, "0 <= start < end (seconds)")
        out.append([start, end])
    return out


def caption_roi(field: str, value: Any) -> list[list[float]]:
    """[[top, bottom], [left, right]], normalised."""
    value = json_list(field, value)
    shape = "[[top, bottom], [left, right]]"
    if len(value) != 2 or not all(isinstance(v, list) for v in value):
        raise ValidationError(field, value, f"{shape}, normalised to [0, 1]")
    (top, bottom), (left, right) = (unit_numbers(field, v, 2, shape) for v in value)
    if top >= bottom or left >= right:
        raise ValidationError(field, value, f"{shape} with top < bottom and left < right")
    return [[top, bottom], [left, right]]


def hybrid_roi(field: str, value: Any) -> list[float]:
    return box(field, json_list(field, value))


_BEAUTY_KEYS = ("whiten", "smooth", "face_thin")


def beauty_params(field: str, value: Any) -> dict[str, int]:
    """ "whiten=20,smooth=50,face_thin=50" -> {"whiten": 20, ...}; each 0..100."""
    out: dict[str, int] = {}
    for part in string(field, value).split(","):
        if not part.strip():
            continue
        key, sep, number = part.partition("=")
        key = key.strip()
        if not sep or key not in _BEAUTY_KEYS:
            raise ValidationError(
                field, value, f"comma-separated key=value pairs with keys {list(_BEAUTY_KEYS)}"
            )
        level = integer(f"{field}.{key}", number.strip())
        if not 0 <= level <= 100:
            raise ValidationError(f"{field}.{key}", level, "an integer in [0, 100]")
        out[key] = level
    if not out:
        raise ValidationError(
            field, value, "at least one of " + ", ".join(f"{k}=0..100" for k in _BEAUTY_KEYS)
        )
    return out


def mix_inputs(field: str, value: Any) -> list[dict[str, str]]:
    items = json_list(field, [value] if isinstance(value, dict) else value)
    if len(items) != 1:
        raise ValidationError(field, value, 'exactly one track: [{"file": "oss://bucket/key"}]')
    item = items[0]
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise ValidationError(f"{field}[0]", item, 'an object {"file": "<OSS URL>"}')
    split_oss_url(item["file"], field=f"{field}[0].file")
    return [{"file": item["file"]}]


def url(field: str, value: Any) -> str:
    """An object URL: an OSS URL (checked like Input, key rules included), or another http(s) URL."""
    value = string(field, value)
    if _names_oss(value):
        split_oss_url(value, field=field)
        return value
    if len(value) > 4096 or not re.fullmatch(r"https?://[^/\s]+/\S+", value):
        raise ValidationError(field, value, "an oss:// or http(s):// URL of an object")
    return value


def _names_oss(value: str) -> bool:
    if value.startswith("oss://"):
        return True
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return False
    return ".oss-" in host and host.endswith(".aliyuncs.com")


def cover_model(field: str, value: Any) -> str:
    value = string(field, value)
    if value not in ("", "gif"):
        raise ValidationError(field, value, "'gif' for an animated cover, or empty for PNG stills")
    return value


def length(field: str, value: Any, low: int, high: int) -> str:
    value = string(field, value)
    if not low <= len(value) <= high:
        raise ValidationError(field, f"<{len(value)} characters>", f"{low} to {high} characters")
    return value


MAX_KEY_BYTES = 1023  # OSS: an object name is 1 to 1023 bytes of UTF-8
MAX_JSON_DEPTH = 64  # deeper JSON is refused rather than recursed into
MAX_JSON_TEXT = 256 * 1024  # characters of one JSON field (JobParams, ScheduleParams ...)
_TOO_DEEP = f"a JSON value nested at most {MAX_JSON_DEPTH} deep"
_OSS_URL = "oss://bucket/key or http(s)://bucket.oss-REGION.aliyuncs.com/key"


def object_key_problem(key: str) -> str | None:
    """Why ``key`` cannot name an object, or None: the one rule for every key, at Submit (Input, Output,
    secondary inputs) and in the engine's object store.

    OSS: 1..1023 UTF-8 bytes, not starting with ``/`` or ``\\``. Also refused: NUL and control
    characters and ``.``/``..`` segments (split on ``/`` and ``\\``), so a key copied to a file system
    cannot climb out of its folder.
    """
    if not isinstance(key, str) or key == "":
        return "an object name must not be empty"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "an object name must be valid UTF-8"
    if size > MAX_KEY_BYTES:
        return f"an object name has at most {MAX_KEY_BYTES} bytes, this has {size}"
    if key[0] in "/\\":
        return "an object name must not start with '/' or '\\'"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        return "an object name must not contain NUL or control characters"
    if any(part in (".", "..") for part in re.split(r"[/\\]", key)):
        return "an object name must not contain '.' or '..' path segments"
    return None


def split_oss_url(url: str, *, field: str = "Media") -> tuple[str, str]:
    """``oss://bucket/key``, ``oss://bucket.oss-REGION.aliyuncs.com/key`` or
    ``http(s)://bucket.oss-REGION.aliyuncs.com/key`` -> (bucket, key); the key must be a valid object
    name (``object_key_problem``). An ``oss://`` key is taken as written (``?`` and ``#`` included)."""
    if not isinstance(url, str):
        raise ValidationError(field, url, _OSS_URL)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):  # before urlsplit, which drops some silently
        raise ValidationError(field, url, f"{_OSS_URL}, without NUL or control characters")
    if url.startswith("oss://"):
        host, _, key = url[len("oss://") :].partition("/")
        bucket = host.split(".oss-", 1)[0] if ".oss-" in host else host
    else:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            raise ValidationError(field, url, _OSS_URL) from None
        if parts.scheme not in ("http", "https") or ".oss-" not in host or not host.endswith(".aliyuncs.com"):
            raise ValidationError(field, url, _OSS_URL)
        bucket = host.split(".oss-", 1)[0]
        key = unquote(parts.path.lstrip("/"))
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket):
        raise ValidationError(
            field, url, f"{_OSS_URL}, with a bucket name of 3-63 lowercase letters, digits, '-'"
        )
    if not key or key.endswith("/"):
        raise ValidationError(field, url, f"{_OSS_URL}, naming an object (not a folder)")
    problem = object_key_problem(key)
    if problem:
        raise ValidationError(field, url, f"{_OSS_URL} with a valid object key: {problem}")
    return bucket, key


def json_value(field: str, text: str, what: str = "JSON") -> Any:
    """Parse JSON text of at most MAX_JSON_TEXT characters, nested at most MAX_JSON_DEPTH deep."""
    if len(text) > MAX_JSON_TEXT:
        raise ValidationError(
            field, f"<{len(text)} characters>", f"{what} of at most {MAX_JSON_TEXT} characters"
        )
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValidationError(field, text, f"{what} ({err.msg} at char {err.pos})") from None
    except RecursionError:
        raise ValidationError(field, "<deeply nested JSON>", _TOO_DEEP) from None
    check_depth(field, parsed)
    return parsed


def check_depth(field: str, value: Any) -> None:
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValidationError(field, "<deeply nested JSON>", _TOO_DEEP)


def _depth(value: Any, limit: int = MAX_JSON_DEPTH + 1) -> int:
    """Nesting depth of containers, counted no further than ``limit`` (so never a deep recursion)."""
    if limit <= 0 or not isinstance(value, Mapping | list | tuple):
        return 0
    children = value.values() if isinstance(value, Mapping) else value
    return 1 + max((_depth(c, limit - 1) for c in children), default=0)


def json_object(field: str, value: Any) -> dict[str, Any]:
    """A dict, or JSON text of an object; within the size and depth limits."""
    parsed = json_value(field, value, "a JSON object") if isinstance(value, str) else value
    if not isinstance(parsed, Mapping):
        raise ValidationError(field, value, "a JSON object")
    check_depth(field, parsed)
    if (
        not isinstance(value, str)
        and len(json.dumps(parsed, ensure_ascii=False, default=str)) > MAX_JSON_TEXT
    ):
        raise ValidationError(
            field, "<a large object>", f"a JSON object of at most {MAX_JSON_TEXT} characters"
        )
    return dict(parsed)


def speakable_text(field: str, value: Any, low: int, high: int) -> str:
    """Text to speak: ``low``..``high`` characters, with at least one letter or digit to say."""
    value = length(field, value, low, high)
    if not any(unicodedata.category(ch)[0] in "LN" for ch in value):
        raise ValidationError(
            field,
            value,
            "text with something to speak (letters or digits), not only whitespace, "
            "punctuation, symbols or control characters",
        )
    return value


# "MPS" (Media Processing) is the product's name; its SDK, endpoint and our ``api`` value say "mts".
API_ALIASES: dict[str, str] = {"mps": MTS}


def canonical_api(api: Any) -> str:
    """``api`` as the catalog spells it, ``ice`` or ``mts``; ``mps`` and any letter case accepted."""
    name = API_ALIASES.get(api.strip().lower(), api.strip().lower()) if isinstance(api, str) else None
    if name not in APIS:
        raise ValidationError("api", api, f"one of {list(APIS)} ('mps' is accepted for 'mts')")
    return name
