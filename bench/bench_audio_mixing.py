"""AudioMixing speed on 60 s of 48 kHz speech mixed with a 44.1 kHz stereo music track.

Run from the repository root: ``.venv/bin/python bench/bench_audio_mixing.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _music_bench
import soundfile as sf

from airflow_iprod.local.algorithms._audio_decode import decode_audio
from airflow_iprod.local.algorithms.audio_mixing import true_peak_dbfs
from tests.mediagen.music import stereo_song
from tests.mediagen.speech import speech_clip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        voice = Path(tmp) / "voice.wav"
        sf.write(voice, speech_clip(60, rate=48000), 48000)
        music = stereo_song(seconds=60, sr=44100, seed=2).write(Path(tmp) / "music.wav")
        result = _music_bench.time_algorithm(
            "AudioMixing", voice, 60, Path(tmp), {"inputs": [{"file": str(music)}]}
        )
        mixed, _ = decode_audio(result.outputs[0].path)
    print(f"  output true peak {true_peak_dbfs(mixed):.2f} dBTP")


if __name__ == "__main__":
    main()
