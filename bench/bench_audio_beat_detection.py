"""AudioBeatDetection: speed on a generated 60 s song, and beat F1 over the music test-material matrix.

Run from the repository root: ``.venv/bin/python bench/bench_audio_beat_detection.py [full|pairwise]``.
The matrix (``tests/mediagen/music_matrix.py``): tempo x meter x drum kit x pitched set, 14 s each,
scored with mir_eval's F-measure at +-70 ms against the score's beats and bar lines.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import _music_bench
import mir_eval
import numpy as np

from tests.mediagen import music_matrix
from tests.mediagen.music import beat_song

BAR = 0.95


def speed() -> None:
    song = beat_song(120, seconds=60, seed=1, jitter=0.01)
    with tempfile.TemporaryDirectory() as tmp:
        src = song.write(Path(tmp) / "song.wav")
        result = _music_bench.time_algorithm("AudioBeatDetection", src, 60, Path(tmp)).result
    beat_f = mir_eval.beat.f_measure(song.beats, np.array(result["BeatList"]), 0.07)
    print(f"  beat F1 {beat_f:.3f} on the 60 s song")


def matrix(cover: str) -> None:
    cells = music_matrix.beat_cells(cover)
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for cell in cells:
            song = cell.song()
            result = _music_bench.run_in_process(
                "AudioBeatDetection", song.write(Path(tmp) / "s.wav"), Path(tmp)
            )
            beat_f = mir_eval.beat.f_measure(song.beats, np.array(result["BeatList"]), 0.07)
            down_f = mir_eval.beat.f_measure(song.downbeats, np.array(result["DownBeatList"]), 0.07)
            row = {**cell.__dict__, "cell": cell.name, "beat_f": beat_f, "down_f": down_f, "bar": BAR}
            rows.append(row)
            flag = "" if beat_f >= BAR else "   <-- below 0.95"
            print(f"{cell.name:40s} beat F1 {beat_f:.3f} downbeat F1 {down_f:.3f}{flag}", flush=True)
    print(f"{cover} matrix, {len(rows)} cells in {time.perf_counter() - t0:.0f} s")
    _music_bench.summarise(rows, list(music_matrix.BEAT_AXES), "beat_f")
    print("  downbeats:", end="")
    _music_bench.summarise([{**r, "bar": 0} for r in rows], ["meter"], "down_f")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "full"
    if what == "speed":
        speed()
    else:
        matrix(what)
