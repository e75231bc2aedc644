"""CaptionExtraction: burnt-in captions inside ``roi`` read by OCR into a timed SRT file.

JobParams: ``fps`` (samples per second, 2..10, default 5), ``roi`` ([[top, bottom], [left, right]]
normalised, default the bottom quarter), ``lang`` (``ch``, ``en`` or ``ch_ml``, default ``ch``),
``track`` (``main``: only the dominant caption track; absent: every caption in the region).

A cue starts at the first sample its text was seen in and ends one sample interval after the last,
so both ends are within ``1 / fps`` of the truth. Result is ``{}`` as documented; the SRT is the output.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_iprod.local.algorithms._captions import (
    CaptionOcr,
    CaptionReader,
    Reading,
    Track,
    build_tracks,
    main_track,
    roi_pixels,
    sample_frames,
    video_size,
)
from airflow_iprod.local.algorithms._srt import Cue, write_srt
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

DEFAULT_ROI = [[0.75, 1.0], [0.0, 1.0]]
LANGS = ("ch", "en", "ch_ml")


def fps_param(params: dict[str, Any]) -> int:
    fps = params.get("fps", 5)
    if isinstance(fps, str) and fps.strip().isdigit():
        fps = int(fps)
    if isinstance(fps, bool) or not isinstance(fps, int) or not 2 <= fps <= 10:
        raise AlgorithmError(f"fps: {fps!r} is not allowed; an integer in [2, 10]")
    return fps


def track_param(params: dict[str, Any]) -> bool:
    """True when only the main track is wanted."""
    track = params.get("track")
    if track in (None, ""):
        return False
    if track != "main":
        raise AlgorithmError(f"track: {track!r} is not allowed; 'main' or absent")
    return True


def _roi(params: dict[str, Any]) -> tuple[float, float, float, float]:
    """(top, bottom, left, right) from [[top, bottom], [left, right]]."""
    value = params.get("roi") or DEFAULT_ROI
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    try:
        (top, bottom), (left, right) = ((float(a), float(b)) for a, b in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise AlgorithmError(
            f"roi: {params.get('roi')!r} is not allowed; [[top, bottom], [left, right]] normalised to [0, 1]"
        ) from None
    if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
        raise AlgorithmError(
            f"roi: {value!r} is not allowed; [[top, bottom], [left, right]] in [0, 1] "
            "with top < bottom and left < right"
        )
    return top, bottom, left, right


def read_captions(
    ctx: JobContext, fps: int, box: tuple[float, float, float, float], lang: str, main_only: bool
) -> tuple[list[Track], list[Reading]]:
    """Sample, read and merge the captions of ``ctx.input_path`` inside ``box`` (top, bottom, left, right)."""
    width, height = video_size(ctx.input_path)
    roi = roi_pixels(width, height, *box)
    reader = CaptionReader(CaptionOcr(ctx.threads), lang)
    readings: list[Reading] = []
    for t, crop in sample_frames(ctx.input_path, fps, roi, ctx.threads):
        lines, backdated = reader.read(crop)
        if backdated and readings:
            readings[-1] = Reading(readings[-1].t, readings[-1].lines + backdated)
        readings.append(Reading(t, lines))
    reader.finish()
    if not readings:
        raise AlgorithmError("Input: the video has no decodable frames; a video with frames is required")
    stats = reader.stats
    ctx.log(
        f"{stats.samples} samples, {stats.detections} detector runs, {stats.recognitions} lines recognised"
    )
    tracks = build_tracks(readings, 1.0 / fps)
    return (main_track(tracks) if main_only else tracks), readings


def to_cues(tracks: list[Track], fps: int) -> list[Cue]:
    return [Cue(tr.start, tr.last + 1.0 / fps, tr.text) for tr in tracks]


def run(ctx: JobContext) -> AlgorithmResult:
    fps = fps_param(ctx.params)
    lang = ctx.params.get("lang") or "ch"
    if lang not in LANGS:
        raise AlgorithmError(f"lang: {lang!r} is not allowed; one of {', '.join(LANGS)}")
    tracks, _ = read_captions(ctx, fps, _roi(ctx.params), lang, track_param(ctx.params))
    target = ctx.new_output(ext=".srt")
    write_srt(to_cues(tracks, fps), target.path)
    return AlgorithmResult(outputs=[target], result={})
