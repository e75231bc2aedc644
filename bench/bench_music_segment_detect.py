"""MusicSegmentDetect: speed on a generated verse/chorus song, and chorus IoU over the song matrix.

Run from the repository root: ``.venv/bin/python bench/bench_music_segment_detect.py [full|pairwise|speed]``.
The matrix (``tests/mediagen/music_matrix.py``): form x meter x tempo x timbre. A form with a chorus
scores the IoU of the found spans with the true ones (bar 0.7); ``no-repeat`` must give an empty list
(scored 1 if empty, else 0).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import _music_bench
import numpy as np

from tests.mediagen import music_matrix
from tests.mediagen.music import verse_chorus_song

BAR = 0.7


def span_iou(found: list[tuple[float, float]], truth: list[tuple[float, float]], seconds: float) -> float:
    grid = np.arange(0, seconds, 0.01)
    f = np.zeros(grid.size, bool)
    t = np.zeros(grid.size, bool)
    for a, b in found:
        f |= (grid >= a) & (grid < b)
    for a, b in truth:
        t |= (grid >= a) & (grid < b)
    return float((f & t).sum() / max(1, (f | t).sum()))


def speed() -> None:
    song = verse_chorus_song(112, seed=1)
    seconds = song.audio.shape[1] / song.sr
    with tempfile.TemporaryDirectory() as tmp:
        src = song.write(Path(tmp) / "song.wav")
        result = _music_bench.time_algorithm("MusicSegmentDetect", src, seconds, Path(tmp)).result
    iou = span_iou([(s["start"], s["end"]) for s in result], song.choruses, seconds)
    print(f"  chorus IoU {iou:.3f}, {len(result)} found")


def matrix(cover: str) -> None:
    cells = music_matrix.song_cells(cover)
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for cell in cells:
            song = cell.song()
            seconds = song.audio.shape[1] / song.sr
            result = _music_bench.run_in_process(
                "MusicSegmentDetect", song.write(Path(tmp) / "s.wav"), Path(tmp)
            )
            spans = [(s["start"], s["end"]) for s in result]
            score = span_iou(spans, song.choruses, seconds) if song.choruses else float(not spans)
            rows.append(
                {
                    **cell.__dict__,
                    "timbre": "+".join(cell.timbre),
                    "cell": cell.name,
                    "score": score,
                    "bar": BAR,
                }
            )
            flag = "" if score >= BAR else "   <-- below the bar"
            print(f"{cell.name:48s} {len(spans)} found, score {score:.3f}{flag}", flush=True)
    print(
        f"{cover} matrix, {len(rows)} cells in {time.perf_counter() - t0:.0f} s "
        "(score: IoU, or 1 = empty where nothing repeats)"
    )
    _music_bench.summarise(rows, list(music_matrix.SONG_AXES), "score")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "full"
    if what == "speed":
        speed()
    else:
        matrix(what)
