"""MusicSegmentDetect: where the chorus of a song is.

Result (and the JSON output file): ``[{"start": s, "end": s, "title": "副歌"}, ...]`` for each chorus
occurrence, seconds with two decimals as the service shows, ``[]`` when nothing repeats. The chorus is the
most repeated, loudest section (``_chorus``); its boundaries are snapped to a step in loudness within a bar,
else to the nearest strong change of timbre/harmony/loudness, so they land on section starts rather than
where the chord sequence first matches.
No JobParams.
"""

from __future__ import annotations

import json

import numpy as np

from airflow_iprod.local.algorithms import _chorus, _rhythm
from airflow_iprod.local.algorithms._audio_decode import load_mono
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

CHORUS_TITLE = "副歌"  # the service labels every chorus with this title


def run(ctx: JobContext) -> AlgorithmResult:
    sr = _rhythm.SR
    y = load_mono(ctx.input_path, sr)
    if y.size < sr * 5:
        raise AlgorithmError(
            f"Input: the audio lasts {y.size / sr:.2f} s; chorus detection needs at least 5 s of music"
        )
    _, frames, _ = _rhythm.track_beats(y, sr)
    sections: list[dict[str, object]] = []
    if frames.size >= 2 * _chorus.MIN_BEATS:
        chroma = _chorus.beat_chroma(y, sr, frames)
        loudness = _chorus.beat_loudness(y, frames)
        starts, ends = _chorus.novelty(_chorus.timbre_features(y, sr, frames, chroma), loudness)
        steps = _chorus.loudness_steps(loudness)
        cuts = np.union1d(_chorus.boundaries(np.maximum(starts, ends)), steps)
        intervals = _chorus.chorus_intervals(chroma, loudness, cuts)
        if intervals:
            intervals = _chorus.snap(intervals, starts, ends, steps)
        times = np.append(frames * _rhythm.HOP / sr, y.size / sr)
        sections = [
            {"start": round(float(times[a]), 2), "end": round(float(times[b]), 2), "title": CHORUS_TITLE}
            for a, b in intervals
        ]
    ctx.log(f"{frames.size} beats, {len(sections)} chorus occurrence(s)")
    target = ctx.new_output(ext=".json")
    target.path.write_text(json.dumps(sections, ensure_ascii=False), encoding="utf-8")
    return AlgorithmResult(outputs=[target], result=sections)
