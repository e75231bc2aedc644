"""SpeechDenoise: quality over the full speech-and-noise matrix, and speed on 60 s of noisy speech.

``--matrix`` (the default) runs every cell of ``tests/mediagen/speech_matrix.py`` (6 voices x 6
noises x 0/5/10 dB SNR, 6 s clips at 16 kHz) and prints the SI-SDR gain of each cell for the two
enhancers side by side, OM-LSA alone and DTLN alone, and for the engine (their average, which is
what ``speech_denoise.denoise_channel`` returns at 16 kHz); then, for the engine, the worst cell per
noise x SNR, per axis value, and the worst cell of the whole matrix (the figures the README quotes).
``--speed`` times the job on a 60 s WAV at 16 and 48 kHz: median of 3 runs, as x real time, with the
1-minute load average (on this 2-core machine wall time is only meaningful when the load is well
under 2, so the process CPU time is printed too) and the time to decode the WAV alone.

Run from the repository root: ``.venv/bin/python bench/bench_speech_denoise.py [--matrix] [--speed]``
(the matrix takes about 2 minutes on a quiet machine, most of it espeak synthesis of the babble).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import soundfile as sf

from airflow_iprod.local.algorithms import _dtln, load, speech_denoise
from bench._speech_bench import decode_seconds, noisy_speech
from tests.mediagen import metrics, speech_matrix

SECONDS = 60
MATRIX_SECONDS = 6.0
RATE = 16000


def gain_db(clean: np.ndarray, noisy: np.ndarray, out: np.ndarray) -> float:
    return metrics.si_sdr(clean, out) - metrics.si_sdr(clean, noisy)


def matrix(cells: list[speech_matrix.Cell]) -> dict[speech_matrix.Cell, float]:
    gains, alone = {}, {"OM-LSA": [], "DTLN": []}
    print(f"  {'cell':28s} {'OM-LSA':>7s} {'DTLN':>7s} {'engine':>7s}  (dB)")
    for cell in cells:
        clean, noisy = cell.mixture(MATRIX_SECONDS, RATE)
        statistical = speech_denoise.enhance_channel(noisy, RATE)
        network = _dtln.enhance(noisy)
        g_stat, g_net = gain_db(clean, noisy, statistical), gain_db(clean, noisy, network)
        gains[cell] = gain_db(clean, noisy, 0.5 * (statistical + network))
        alone["OM-LSA"].append(g_stat)
        alone["DTLN"].append(g_net)
        print(f"  {cell.id:28s} {g_stat:7.2f} {g_net:7.2f} {gains[cell]:7.2f}", flush=True)
    for name, vals in alone.items():
        print(f"{name} alone: worst {min(vals):.2f} dB, median {statistics.median(vals):.2f} dB")
    print(f"engine: worst {min(gains.values()):.2f} dB, median {statistics.median(gains.values()):.2f} dB")
    return gains


def report(gains: dict[speech_matrix.Cell, float]) -> None:
    by_noise_snr: dict[tuple[str, float], list[tuple[float, str]]] = defaultdict(list)
    for cell, g in gains.items():
        by_noise_snr[(cell.noise, cell.snr)].append((g, cell.voice))
    print("\nworst voice per noise x SNR (SI-SDR gain, dB; median in brackets):")
    print("noise    " + "".join(f"{s:>22g} dB" for s in speech_matrix.SNRS))
    for kind in speech_matrix.NOISES:
        row = []
        for snr in speech_matrix.SNRS:
            vals = by_noise_snr[(kind, snr)]
            worst = min(vals)
            row.append(f"{worst[0]:6.2f} ({statistics.median(v for v, _ in vals):5.2f}) {worst[1]:>9s}")
        print(f"{kind:8s} " + " ".join(f"{r:>24s}" for r in row))
    for axis in ("voice", "noise", "snr"):
        worst: dict[object, tuple[float, str]] = {}
        for cell, g in gains.items():
            key = getattr(cell, axis)
            if key not in worst or g < worst[key][0]:
                worst[key] = (g, cell.id)
        print(
            f"worst cell per {axis}: "
            + "; ".join(f"{k}: {g:.2f} dB ({cid})" for k, (g, cid) in worst.items())
        )
    bar = [(g, c.id) for c, g in gains.items() if c.noise in speech_matrix.STATIONARY and c.snr == 5.0]
    print(f"stationary noise at 5 dB SNR: worst {min(bar)[0]:.2f} dB ({min(bar)[1]}), bar 6 dB")
    g, cell = min((g, c.id) for c, g in gains.items())
    print(f"worst cell of the matrix: {g:.2f} dB ({cell})")


def speed() -> None:
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
            gain = gain_db(job.clean, job.noisy, result)
        med, med_cpu = statistics.median(times), statistics.median(cpu)
        print(
            f"SpeechDenoise {rate} Hz, {SECONDS} s mono: median {med:.2f} s = {SECONDS / med:.1f}x real time "
            f"(CPU {med_cpu:.2f} s = {SECONDS / med_cpu:.0f}x; load {load_avg:.2f}); "
            f"decode alone {decode * 1000:.0f} ms; SI-SDR gain {gain:.2f} dB (white, 5 dB SNR)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", action="store_true", help="every cell of the speech-and-noise matrix")
    parser.add_argument("--pairwise", action="store_true", help="only the CI's pairwise cover")
    parser.add_argument("--speed", action="store_true", help="x real time on 60 s at 16 and 48 kHz")
    args = parser.parse_args()
    if not (args.matrix or args.pairwise or args.speed):
        args.matrix = True
    if args.matrix or args.pairwise:
        cells = speech_matrix.full() if args.matrix else speech_matrix.pairwise()
        print(f"SpeechDenoise SI-SDR gain, {len(cells)} cells, {MATRIX_SECONDS:g} s at {RATE} Hz:")
        report(matrix(cells))
    if args.speed:
        speed()


if __name__ == "__main__":
    main()
