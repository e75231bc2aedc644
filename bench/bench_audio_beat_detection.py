"""AudioBeatDetection speed and accuracy on a generated 60 s song (120 BPM, 4/4).

Run from the repository root: ``.venv/bin/python bench/bench_audio_beat_detection.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _music_bench
import mir_eval
import numpy as np

from tests.mediagen.music import beat_song


def main() -> None:
    song = beat_song(120, seconds=60, seed=1, jitter=0.01)
    with tempfile.TemporaryDirectory() as tmp:
        src = song.write(Path(tmp) / "song.wav")
        result = _music_bench.time_algorithm("AudioBeatDetection", src, 60, Path(tmp)).result
    beat_f = mir_eval.beat.f_measure(song.beats, np.array(result["BeatList"]), 0.07)
    down_f = mir_eval.beat.f_measure(song.downbeats, np.array(result["DownBeatList"]), 0.07)
    print(f"  beat F1 {beat_f:.3f}, downbeat F1 {down_f:.3f} (+-70 ms)")


if __name__ == "__main__":
    main()
