"""Timed text cues and the SubRip (SRT) format, shared by the caption and speech algorithms."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float  # seconds
    text: str

    def as_dict(self) -> dict[str, object]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}


def format_timestamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(cues: Iterable[Cue]) -> str:
    blocks = [
        f"{i}\n{format_timestamp(c.start)} --> {format_timestamp(c.end)}\n{c.text}\n"
        for i, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def write_srt(cues: Iterable[Cue], path: Path) -> None:
    path.write_text(to_srt(cues), encoding="utf-8")


_TIME = r"(\d+):(\d{2}):(\d{2})[,.](\d{3})"
_BLOCK = re.compile(rf"^\s*\d+\s*\n{_TIME}\s*-->\s*{_TIME}[^\n]*\n(.*?)(?:\n\s*\n|\Z)", re.S | re.M)


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text: str) -> list[Cue]:
    """Parse SRT text (as written by ``to_srt`` or by the cloud service) into cues."""
    cues = []
    for match in _BLOCK.finditer(text.replace("\r\n", "\n").lstrip("\ufeff")):
        groups = match.groups()
        cues.append(Cue(_seconds(*groups[0:4]), _seconds(*groups[4:8]), groups[8].strip()))
    return cues
