"""Find the files an MPS IProduction job wrote.

MPS ``QueryIProductionJob`` answers with the output *template* only (``Output``), never a file list
(ICE has ``OutputFiles``). A template without placeholders names the one output; otherwise the objects
under the template's fixed prefix are listed once and kept when their key fits the template:

* ``{source}``     the input file's name without extension (any name when the job had no input file)
* ``{timestamp}``  Unix seconds (or milliseconds) within the job's lifetime, when that is known
* ``{sequenceId}`` five digits; the outputs come back in sequence order
* ``{resultType}`` a word (e.g. ``vocals``)

Objects last modified before the job was submitted are left out too (when the submit time is known),
so an earlier run's leftovers under the same names do not join this run's outputs.
The OSS SDK is imported only when a listing runs (this module is imported at DAG parse time).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from airflow_iprod import catalog

# How far the service's clock may be from ours when comparing {timestamp} and LastModified.
CLOCK_SLACK_S = 120.0
# Bounded listing: at most this many keys are read under one prefix (10 pages of 1000).
MAX_LISTED_KEYS = 10_000
PAGE_SIZE = 1000

_PLACEHOLDER = re.compile(r"\{(source|timestamp|sequenceId|resultType)\}")
_GROUPS = {
    "source": r"[^/]*?",  # when the job had no input file to name it after
    "timestamp": r"\d{9,13}",
    "sequenceId": r"\d{5}",
    "resultType": r"[A-Za-z][A-Za-z0-9_]*",
}


@dataclass(frozen=True)
class Listed:
    key: str
    last_modified: dt.datetime | None = None


def has_placeholder(template: str) -> bool:
    return bool(_PLACEHOLDER.search(template))


def source_name(input_url: str | None) -> str | None:
    """{source} of an input: its file name without the extension (None when not an OSS object)."""
    if not input_url:
        return None
    try:
        _, key = catalog.split_oss_url(input_url)
    except catalog.ValidationError:
        return None  # a media ID or something else we cannot name
    name = key.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def key_pattern(key_template: str, source: str | None) -> re.Pattern[str]:
    """The template's key as a regex; a placeholder used twice must repeat its first value."""
    pattern = ""
    seen: set[str] = set()
    pos = 0
    for match in _PLACEHOLDER.finditer(key_template):
        pattern += re.escape(key_template[pos : match.start()])
        name = match.group(1)
        if name in seen:
            pattern += f"(?P={name})"
        else:
            seen.add(name)
            body = re.escape(source) if name == "source" and source is not None else _GROUPS[name]
            pattern += f"(?P<{name}>{body})"
        pos = match.end()
    pattern += re.escape(key_template[pos:])
    return re.compile(pattern)


def _stamp_seconds(digits: str) -> float:
    value = int(digits)
    return value / 1000 if len(digits) >= 12 else float(value)  # 12-13 digits: milliseconds


def select(
    listed: Iterable[Listed],
    key_template: str,
    source: str | None,
    *,
    not_before: float | None = None,
    not_after: float | None = None,
) -> list[str]:
    """The keys that fit the template (and the job's lifetime), sorted by sequence id, then key."""
    regex = key_pattern(key_template, source)
    low = None if not_before is None else not_before - CLOCK_SLACK_S
    high = None if not_after is None else not_after + CLOCK_SLACK_S
    kept: list[tuple[int, str]] = []
    for item in listed:
        match = regex.fullmatch(item.key)
        if not match:
            continue
        groups = match.groupdict()
        if groups.get("timestamp") is not None:
            stamp = _stamp_seconds(groups["timestamp"])
            if (low is not None and stamp < low) or (high is not None and stamp > high):
                continue
        if low is not None and item.last_modified is not None and item.last_modified.timestamp() < low:
            continue  # written before this job existed
        sequence = int(groups["sequenceId"]) if groups.get("sequenceId") else 0
        kept.append((sequence, item.key))
    return [key for _, key in sorted(kept)]


def find_outputs(
    output: str,
    input_url: str | None,
    client_factory: Callable[[], Any],
    *,
    not_before: float | None = None,
    not_after: float | None = None,
    max_keys: int = MAX_LISTED_KEYS,
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """``oss://bucket/key`` of every file an MPS job with output template ``output`` wrote.

    ``client_factory`` returns an ``alibabacloud_oss_v2`` client; it is only called when a listing
    is needed (a template with no placeholder is the output itself).
    """
    bucket, key_template = catalog.split_oss_url(output, field="Output")
    if not has_placeholder(key_template):
        return [f"oss://{bucket}/{key_template}"]
    prefix = key_template[: _PLACEHOLDER.search(key_template).start()]  # type: ignore[union-attr]
    listed, complete = _list(client_factory(), bucket, prefix, max_keys)
    if not complete and warn is not None:
        warn(
            f"oss://{bucket}/{prefix} holds more than {max_keys} objects; only the first {max_keys} "
            "were searched for this job's outputs (give the output path a narrower fixed prefix)"
        )
    keys = select(listed, key_template, source_name(input_url), not_before=not_before, not_after=not_after)
    return [f"oss://{bucket}/{key}" for key in keys]


def _list(client: Any, bucket: str, prefix: str, max_keys: int) -> tuple[list[Listed], bool]:
    """Up to ``max_keys`` objects under ``prefix``; the flag says whether that was all of them."""
    import alibabacloud_oss_v2 as oss

    found: list[Listed] = []
    token: str | None = None
    while len(found) < max_keys:
        page = client.list_objects_v2(
            oss.ListObjectsV2Request(
                bucket=bucket,
                prefix=prefix,
                max_keys=min(PAGE_SIZE, max_keys - len(found)),
                continuation_token=token,
            )
        )
        found += [Listed(o.key, o.last_modified) for o in page.contents or [] if o.key]
        token = page.next_continuation_token
        if not page.is_truncated or not token:
            return found, True
    return found, False
