"""AudioBeatDetection: beat and downbeat times of a piece of music.

Writes one JSON file ``{"BeatList": [...], "DownBeatList": [...]}`` (seconds, millisecond precision) and
returns the same object as the job's Result. Beats come from librosa's onset envelope and tracker,
downbeats from the meter/phase analysis in ``_rhythm``. No JobParams.
"""

from __future__ import annotations

import json

from airflow_iprod.local.algorithms import _rhythm
from airflow_iprod.local.algorithms._audio_decode import load_mono
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext


def run(ctx: JobContext) -> AlgorithmResult:
    y = load_mono(ctx.input_path, _rhythm.SR)
    if y.size < _rhythm.SR * 2:
        raise AlgorithmError(
            f"Input: the audio lasts {y.size / _rhythm.SR:.2f} s; beat detection needs at least 2 s of music"
        )
    rhythm = _rhythm.analyse(y, _rhythm.SR)
    ctx.log(f"tempo {rhythm.tempo:.1f} BPM, {rhythm.beat_times.size} beats, {rhythm.meter} beats a bar")
    result = {
        "BeatList": [round(float(t), 3) for t in rhythm.beat_times],
        "DownBeatList": [round(float(t), 3) for t in rhythm.downbeat_times],
    }
    target = ctx.new_output(ext=".json")
    target.path.write_text(json.dumps(result), encoding="utf-8")
    return AlgorithmResult(outputs=[target], result=result)
