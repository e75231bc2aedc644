"""ASR speed on 60 s of espeak-ng speech: median of 3 runs, as x real time, plus plain decoding time.

Run from the repo root: ``.venv/bin/python bench/bench_asr.py`` (the recogniser uses one thread).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from airflow_iprod.local.algorithms import asr
from airflow_iprod.local.algorithms._audio_decode import load_mono
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget
from tests.mediagen import speech
from tests.mediagen.wer import wer

SECONDS = 60.0


def main() -> None:
    # whole sentences with 0.6 s pauses, padded with silence to exactly 60 s, so WER has a clean reference
    parts, spoken, filled = [], [], 0
    gap = np.zeros(9600, np.float32)
    for i in range(len(speech.SENTENCES) * 3):
        sentence = speech.SENTENCES[i % len(speech.SENTENCES)]
        said = speech.speak(sentence)
        if filled + len(said) + len(gap) > SECONDS * 16000:
            break
        parts += [said, gap]
        spoken.append(sentence)
        filled += len(said) + len(gap)
    audio = np.concatenate([*parts, np.zeros(round(SECONDS * 16000) - filled, np.float32)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        sf.write(str(path), audio, 16000, subtype="PCM_16")

        def new_output(sequence_id=None, result_type=None, ext=None) -> OutputTarget:
            out = Path(tmp) / f"out-{result_type}{ext}"
            return OutputTarget(out, f"oss://bench/out-{result_type}{ext}", sequence_id, result_type)

        ctx = JobContext("ASR", "mts", path, {"lang": "en"}, None, Path(tmp), new_output, Path)
        times, text = [], ""
        for _ in range(3):
            start = time.perf_counter()
            text = asr.run(ctx).result["Text"]
            times.append(time.perf_counter() - start)
        decode = []
        for _ in range(3):
            start = time.perf_counter()
            load_mono(path, 16000)
            decode.append(time.perf_counter() - start)
    median = statistics.median(times)
    speed = SECONDS / median
    print(f"ASR on {SECONDS:.0f} s of speech, one thread: median {median:.2f} s = {speed:.2f}x real time")
    print(f"  plain decode of the WAV: {statistics.median(decode) * 1000:.1f} ms")
    print(f"  WER over {len(spoken)} sentences: {wer(' '.join(spoken), text):.3f}")


if __name__ == "__main__":
    main()
