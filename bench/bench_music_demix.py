"""MusicDemix speed and vocal SDR improvement on a generated 60 s stereo song at 44.1 kHz.

Run from the repository root: ``.venv/bin/python bench/bench_music_demix.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _music_bench
import soundfile as sf

from tests.mediagen.metrics import snr
from tests.mediagen.music import stereo_song


def main() -> None:
    song = stereo_song(seconds=60, sr=44100, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        src = song.write(Path(tmp) / "song.wav")
        result = _music_bench.time_algorithm("MusicDemix", src, 60, Path(tmp))
        vocals, _ = sf.read(result.outputs[0].path, dtype="float32", always_2d=True)
    truth = song.stems["vocals"]
    gain = snr(truth, vocals.T) - snr(truth, song.audio)
    print(f"  vocal SDR improvement {gain:.2f} dB over the mix")


if __name__ == "__main__":
    main()
