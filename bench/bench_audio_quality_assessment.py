"""AudioQualityAssessment speed: median of 3 runs on a generated 60 s noisy speech WAV, as x real time."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import soundfile as sf

from airflow_iprod.local.algorithms import load
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget
from tests.mediagen import noise, speech

SECONDS = 60


def main() -> None:
    for rate in (16000, 48000):
        clean = speech.speech_clip(SECONDS, rate)
        noisy = noise.mix_at_snr(clean, noise.white(len(clean), seed=1), 15.0)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in.wav"
            sf.write(str(src), noisy, rate)
            ctx = JobContext(
                "AudioQualityAssessment", "ice", src, {}, None, Path(tmp),
                lambda **_: OutputTarget(Path(tmp) / "x", "oss://b/x"), Path, threads=2,
            )  # fmt: skip
            run = load("AudioQualityAssessment")
            run(ctx)  # first call imports pyloudnorm/soxr/webrtcvad; not what a job repeats
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                row = run(ctx).result[0]
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sf.read(str(src), dtype="float32")
            decode = time.perf_counter() - t0
        med = statistics.median(times)
        print(
            f"AudioQualityAssessment {rate} Hz, {SECONDS} s mono: median {med:.2f} s = {SECONDS / med:.1f}x "
            f"real time; decode alone {decode * 1000:.0f} ms; MOS {row['MOS(0-5)']}, "
            f"{row['Integrated Loudness(LUFS)']} LUFS"
        )


if __name__ == "__main__":
    main()
