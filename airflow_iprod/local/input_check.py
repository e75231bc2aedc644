"""Cheap checks at Submit that the input object is the kind of media the algorithm takes.

Only the first bytes are read (container magic numbers; the WAV ``fmt`` chunk for the sample rate),
so Submit stays fast and the engine process never imports media libraries. Deep problems (a corrupt
stream) still surface when the job runs, as a Fail with the algorithm's message.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from airflow_iprod.local.service_errors import InvalidRequest

AUDIO_FORMATS = {"wav", "mp3", "flac", "ogg", "aac", "m4a", "amr", "opus"}
VIDEO_FORMATS = {"mp4", "mov", "webm", "mkv", "avi", "flv", "mpegts", "3gp"}
IMAGE_FORMATS = {"png", "jpeg", "gif", "bmp", "webp", "tiff"}
# Containers that may hold audio only (m4a inside an mp4 box, webm/mkv audio) count for audio inputs too.
AMBIGUOUS = {"mp4", "mov", "webm", "mkv", "3gp"}


class InputProblem(InvalidRequest):
    """The input object does not fit the algorithm; the message names field, value and what is allowed."""


def sniff(head: bytes) -> str | None:
    """Container format from the first bytes, or None when unknown."""
    if len(head) >= 12 and head[:4] == b"RIFF":
        kind = head[8:12]
        return {b"WAVE": "wav", b"AVI ": "avi", b"WEBP": "webp"}.get(kind)
    if head[:4] == b"RF64":
        return "wav"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "m4a"
        if brand == b"qt  ":
            return "mov"
        if brand[:3] == b"3gp":
            return "3gp"
        return "mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "mkv"
    if head[:3] == b"FLV":
        return "flv"
    if head[:1] == b"\x47" and len(head) > 188 and head[188:189] == b"\x47":
        return "mpegts"
    if head[:3] == b"ID3" or (
        len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06
    ):
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head[:64] else "ogg"
    if head[:6] == b"#!AMR\n":
        return "amr"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def wav_sample_rate(path: Path) -> int | None:
    """Sample rate from a RIFF/WAVE ``fmt`` chunk (any sample encoding), None if not found."""
    with open(path, "rb") as fh:
        header = fh.read(12)
        if len(header) < 12 or header[8:12] != b"WAVE":
            return None
        for _ in range(64):  # a handful of chunks precede fmt at most
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = fh.read(min(size, 16))
                return struct.unpack("<I", fmt[4:8])[0] if len(fmt) >= 8 else None
            fh.seek(size + (size & 1), 1)
    return None


def _kind_ok(kind: str, fmt: str | None) -> bool:
    if kind == "audio":
        return fmt in AUDIO_FORMATS or fmt in VIDEO_FORMATS  # audio algorithms take a video's soundtrack
    if kind == "video":
        return fmt in VIDEO_FORMATS
    if kind == "image":
        return fmt in IMAGE_FORMATS
    return True


def check_input(spec: Any, path: Path, url: str, field: str = "Input.Media") -> str | None:
    """Raise InputProblem when ``path`` cannot be what ``spec`` takes; return the sniffed format."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        raise InputProblem(
            f"{field}={url!r} is an empty object; {spec.name} needs a non-empty {spec.input_kind} file."
        )
    kind = getattr(spec, "input_kind", None)
    if kind == "text":
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputProblem(
                f"{field}={url!r} is not UTF-8 text; {spec.name} takes a UTF-8 text file."
            ) from None
        return "text"
    fmt = sniff(head)
    formats = tuple(getattr(spec, "input_formats", None) or ())
    if formats:
        if fmt not in formats:
            raise InputProblem(
                f"{field}={url!r} is {fmt or 'not a recognised media file'}; {spec.name} accepts "
                f"{'/'.join(formats)} files{_rates_text(spec)}."
            )
    elif kind and not _kind_ok(kind, fmt):
        raise InputProblem(
            f"{field}={url!r} is {fmt or 'not a recognised media file'}; {spec.name} needs a {kind} file "
            f"({', '.join(sorted(_allowed(kind)))})."
        )
    rates = tuple(getattr(spec, "input_rates", None) or ())
    if rates and fmt == "wav":
        rate = wav_sample_rate(path)
        if rate not in rates:
            raise InputProblem(
                f"{field}={url!r} is a WAV at {rate} Hz; {spec.name} accepts WAV at "
                f"{' or '.join(str(r) for r in rates)} Hz."
            )
    return fmt


def check_media(path: Path, url: str, field: str, kind: str, function_name: str) -> str | None:
    """Raise InputProblem unless ``path`` is a non-empty ``kind`` file (audio, image ...): a secondary
    input of ``function_name`` (a JobParams URL); return the sniffed format."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        raise InputProblem(
            f"{field}={url!r} is an empty object; {function_name} needs a non-empty {kind} file."
        )
    fmt = sniff(head)
    if not _kind_ok(kind, fmt):
        raise InputProblem(
            f"{field}={url!r} is {fmt or 'not a recognised media file'}; {function_name} needs a {kind} file "
            f"here ({', '.join(sorted(_allowed(kind)))})."
        )
    return fmt


def _rates_text(spec: Any) -> str:
    rates = tuple(getattr(spec, "input_rates", None) or ())
    return f" at {' or '.join(str(r) for r in rates)} Hz" if rates else ""


def _allowed(kind: str) -> set[str]:
    return {"audio": AUDIO_FORMATS | VIDEO_FORMATS, "video": VIDEO_FORMATS, "image": IMAGE_FORMATS}.get(
        kind, set()
    )
