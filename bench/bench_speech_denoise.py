"""SpeechDenoise speed: median of 3 runs on a generated 60 s noisy speech WAV, as x real time.

Prints the 1-minute load average before each rate: on this 2-core machine wall time is only
meaningful when the load is well under 2, so the process CPU time is printed too.

Run from the repository root: ``.venv/bin/python -m bench.bench_speech_denoise`` (or with the path).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import soundfile as sf

from airflow_iprod.local.algorithms import load
from bench._speech_bench import decode_seconds, noisy_speech
from tests.mediagen import metrics

SECONDS = 60


def main() -> None:
    for rate in (16000, 48000):
        with noisy_speech("SpeechDenoise", SECONDS, rate, 5.0) as job:
            load("SpeechDenoise")(job.ctx)  # warm-up: imports, scipy/numpy first calls
            load_avg = os.getloadavg()[0]
            times, cpu = [], []
            for _ in range(3):
                t0, c0 = time.perf_counter(), time.process_time()
                load("SpeechDenoise")(job.ctx)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            decode = decode_seconds(job.src)
            result, _ = sf.read(str(job.out), dtype="float32")
            gain = metrics.si_sdr(job.clean, result) - metrics.si_sdr(job.clean, job.noisy)
        med, med_cpu = statistics.median(times), statistics.median(cpu)
        print(
            f"SpeechDenoise {rate} Hz, {SECONDS} s mono: median {med:.2f} s = {SECONDS / med:.1f}x real time "
            f"(CPU {med_cpu:.2f} s = {SECONDS / med_cpu:.0f}x; load {load_avg:.2f}); "
            f"decode alone {decode * 1000:.0f} ms; SI-SDR gain {gain:.2f} dB (white, 5 dB SNR)"
        )


if __name__ == "__main__":
    main()
