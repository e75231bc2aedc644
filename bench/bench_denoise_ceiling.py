"""How far can a single-channel mask go on the tests' babble? SI-SDR gains of the local engine's
SpeechDenoise next to masks that are given part of the truth, on the same generated mixtures.

Each row is the median (and range) over five clips: espeak speech (five voices, different sentences)
mixed at 5 dB SNR with 24-talker babble, speech-shaped noise or white noise, 16 kHz. The rows:

* ``engine``: SpeechDenoise as shipped (OM-LSA).
* ``engine, true long-term noise``: the same gains told the *true* noise power per frequency averaged
  over the clip instead of estimating it: the ceiling of this estimator, and of every estimator that
  treats the noise as stationary (OM-LSA, minimum statistics, MCRA all do, between updates). The
  rows "over N ms" tell the same gains the true noise power smoothed over N ms: what tracking the
  babble's level changes at that resolution would be worth.
* ``wiener, true long-term noise``: a plain Wiener gain (power minus that noise, over power) told the same.
* ``wiener, true noise over N ms``: the true noise power smoothed over N ms windows: what tracking the
  babble's level changes at that time resolution would be worth. Telling those changes from the
  target talker's own needs a trained speech model.
* ``oracle wiener / psm``: masks computed from the true speech and noise (the usual upper bounds).

Run from the repository root: ``.venv/bin/python bench/bench_denoise_ceiling.py`` (about 1 minute).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import istft, stft

from airflow_iprod.local.algorithms import speech_denoise
from tests.mediagen import metrics, noise, speech

RATE = 16000
SECONDS = 6
FRAME = 768  # 48 ms, the engine's frame length
HOP = FRAME // 4
CLIPS = [("en-us", 0), ("en-gb", 3), ("en-us+m3", 6), ("en-us+f3", 5), ("en-gb+f2", 9)]

Masker = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (mix, speech, noise) STFTs -> gain


def _stft(x: np.ndarray) -> np.ndarray:
    return stft(x, nperseg=FRAME, noverlap=FRAME - HOP)[2]


def _apply(mix: np.ndarray, gain: np.ndarray) -> np.ndarray:
    return istft(_stft(mix) * gain, nperseg=FRAME, noverlap=FRAME - HOP)[1][: len(mix)]


def _wiener_true_noise(frames: int) -> Masker:
    def mask(x: np.ndarray, _s: np.ndarray, n: np.ndarray) -> np.ndarray:
        power = np.abs(x) ** 2
        n_pow = np.abs(n) ** 2
        if frames:
            n_pow = uniform_filter1d(n_pow, frames, axis=1)
        else:
            n_pow = np.broadcast_to(n_pow.mean(axis=1, keepdims=True), power.shape)
        s_pow = np.maximum(power - n_pow, 0)
        return s_pow / (s_pow + n_pow + 1e-20)

    return mask


def _oracle_wiener(_x: np.ndarray, s: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.abs(s) ** 2 / (np.abs(s) ** 2 + np.abs(n) ** 2 + 1e-20)


def _oracle_psm(x: np.ndarray, s: np.ndarray, _n: np.ndarray) -> np.ndarray:
    return np.clip(np.real(s * np.conj(x)) / (np.abs(x) ** 2 + 1e-20), 0, 1)


def _engine_true_noise(mix: np.ndarray, clean: np.ndarray, ms: float = 0) -> np.ndarray:
    """The engine's gains with its noise estimate replaced by the noise's true periodogram, taken with
    the engine's own frames, averaged over the clip (6 s clips are one block) or over ``ms``."""
    n = round(speech_denoise.FRAME_SECONDS * RATE)
    window = np.sqrt(np.hanning(n + 1)[:-1])
    padded = np.pad((mix - clean).astype(np.float64), (n, 2 * n))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n)[:: n // speech_denoise.HOPS_PER_FRAME]
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    hops = max(1, round(ms / 1000 * RATE / (n // speech_denoise.HOPS_PER_FRAME)))
    true_noise = (uniform_filter1d(power, hops, axis=0) if ms else power.mean(axis=0)).astype(np.float32)
    estimate = speech_denoise.estimate_noise
    speech_denoise.estimate_noise = lambda _power: true_noise
    try:
        return speech_denoise.enhance_channel(mix, RATE)
    finally:
        speech_denoise.estimate_noise = estimate


def _frames(ms: float) -> int:
    return max(1, round(ms / 1000 * RATE / HOP))


MASKS: dict[str, Masker] = {
    "wiener, true long-term noise": _wiener_true_noise(0),
    "wiener, true noise over 240 ms": _wiener_true_noise(_frames(240)),
    "wiener, true noise over 80 ms": _wiener_true_noise(_frames(80)),
    "wiener, true noise per 12 ms frame": _wiener_true_noise(1),
    "oracle wiener": _oracle_wiener,
    "oracle psm": _oracle_psm,
}


def main() -> None:
    kinds = {
        "babble": lambda n, i: noise.babble(n, RATE, seed=20 + i),
        "speech-shaped": lambda n, i: noise.speech_shaped(n, RATE, seed=20 + i),
        "white": lambda n, i: noise.white(n, seed=20 + i),
    }
    rows: dict[str, dict[str, list[float]]] = {}
    for kind, make_noise in kinds.items():
        for i, (voice, first) in enumerate(CLIPS):
            clean = speech.speech_clip(SECONDS, RATE, voice=voice, first=first)
            mix = noise.mix_at_snr(clean, make_noise(len(clean), i), 5.0)
            before = metrics.si_sdr(clean, mix)
            outs = {
                "engine": speech_denoise.enhance_channel(mix, RATE),
                "engine, true long-term noise": _engine_true_noise(mix, clean),
                "engine, true noise over 240 ms": _engine_true_noise(mix, clean, 240),
                "engine, true noise over 80 ms": _engine_true_noise(mix, clean, 80),
            }
            x, s, n = _stft(mix), _stft(clean), _stft(mix - clean)
            outs |= {name: _apply(mix, mask(x, s, n)) for name, mask in MASKS.items()}
            for name, out in outs.items():
                rows.setdefault(name, {}).setdefault(kind, []).append(metrics.si_sdr(clean, out) - before)
    print(f"SI-SDR gain (dB) at 5 dB SNR, {len(CLIPS)} clips of {SECONDS} s, median [min, max]")
    print(f"| {'mask':36} | " + " | ".join(f"{k:18}" for k in kinds) + " |")
    for name, per_kind in rows.items():
        cells = [
            f"{statistics.median(g):5.2f} [{min(g):.2f}, {max(g):.2f}]" for g in (per_kind[k] for k in kinds)
        ]
        print(f"| {name:36} | " + " | ".join(f"{c:18}" for c in cells) + " |")


if __name__ == "__main__":
    main()
