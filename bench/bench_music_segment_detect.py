"""MusicSegmentDetect speed and chorus IoU on a generated 60 s verse/chorus song (112 BPM).

Run from the repository root: ``.venv/bin/python bench/bench_music_segment_detect.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _music_bench
import numpy as np

from tests.mediagen.music import verse_chorus_song


def main() -> None:
    song = verse_chorus_song(112, seed=1)
    seconds = song.audio.shape[1] / song.sr
    with tempfile.TemporaryDirectory() as tmp:
        src = song.write(Path(tmp) / "song.wav")
        result = _music_bench.time_algorithm("MusicSegmentDetect", src, seconds, Path(tmp)).result
    grid = np.arange(0, seconds, 0.01)
    found = np.zeros(grid.size, bool)
    truth = np.zeros(grid.size, bool)
    for s in result:
        found |= (grid >= s["start"]) & (grid < s["end"])
    for a, b in song.choruses:
        truth |= (grid >= a) & (grid < b)
    print(f"  chorus IoU {(found & truth).sum() / max(1, (found | truth).sum()):.3f}, {len(result)} found")


if __name__ == "__main__":
    main()
