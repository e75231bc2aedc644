"""CaptionExtraction: burnt-in captions inside ``roi`` read by OCR into a timed SRT file.

JobParams: ``fps`` (samples per second, 2..10, default 5), ``roi`` ([[top, bottom], [left, right]]
normalised, default the bottom quarter), ``lang`` (``ch``, ``en`` or ``ch_ml``, default ``ch``),
``track`` (``main``: only the dominant caption track; absent: every caption in the region).

A cue starts at the first sample its text was seen in and ends one sample interval after the last,
so both ends are within ``1 / fps`` of the truth. Result is ``{}`` as documented; the SRT is the output.
"""

from __future__ import annotations

from airflow_iprod.local.algorithms._caption_ocr import CaptionOcr
from airflow_iprod.local.algorithms._caption_tracks import Track, build_tracks, main_track
from airflow_iprod.local.algorithms._captions import (
    CaptionReader,
    Reading,
    roi_pixels,
    sample_frames,
    video_size,
)
from airflow_iprod.local.algorithms._srt import Cue, write_srt
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext


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
    # The catalog has checked every field and filled fps, roi and lang with their defaults.
    fps = ctx.params["fps"]
    (top, bottom), (left, right) = ctx.params["roi"]
    main_only = ctx.params.get("track") == "main"
    tracks, _ = read_captions(ctx, fps, (top, bottom, left, right), ctx.params["lang"], main_only)
    target = ctx.new_output(ext=".srt")
    write_srt(to_cues(tracks, fps), target.path)
    return AlgorithmResult(outputs=[target], result={})
