"""AudioQualityAssessment speed: median of 3 runs on a generated 60 s noisy speech WAV, as x real time."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from airflow_iprod.local.algorithms import load
from bench._speech_bench import decode_seconds, noisy_speech

SECONDS = 60


def main() -> None:
    for rate in (16000, 48000):
        with noisy_speech("AudioQualityAssessment", SECONDS, rate, 15.0) as job:
            run = load("AudioQualityAssessment")
            run(job.ctx)  # first call imports pyloudnorm/soxr/webrtcvad; not what a job repeats
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                row = run(job.ctx).result[0]
                times.append(time.perf_counter() - t0)
            decode = decode_seconds(job.src)
        med = statistics.median(times)
        print(
            f"AudioQualityAssessment {rate} Hz, {SECONDS} s mono: median {med:.2f} s = {SECONDS / med:.1f}x "
            f"real time; decode alone {decode * 1000:.0f} ms; MOS {row['MOS(0-5)']}, "
            f"{row['Integrated Loudness(LUFS)']} LUFS"
        )


if __name__ == "__main__":
    main()
