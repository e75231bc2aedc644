"""Noise for tests and mixing at a chosen SNR.

SNR is taken over the whole clip (mean power of the clean signal, pauses included, against the
noise's mean power), which is how most denoising papers quote "SNR of the mixture".
"""

from __future__ import annotations

import numpy as np

from tests.mediagen.speech import SENTENCES, speak


def white(n: int, seed: int = 0) -> np.ndarray:
    """Gaussian white noise, unit variance, float32."""
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32)


# Dialects x voice variants for babble talkers: many different-sounding speakers.
_BABBLE_DIALECTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us-nyc", "en-gb-x-rp")
_BABBLE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")


def babble(n: int, rate: int = 16000, talkers: int = 24, seed: int = 0, skip: int = 0) -> np.ndarray:
    """Babble noise as in the speech-enhancement literature (NOISEX-92 "babble", a crowded canteen):
    many talkers at once, so that no single voice is intelligible and the sum is quasi-stationary
    with a speech spectrum and speech-like modulation.

    Each of ``talkers`` (default 24) is a different espeak dialect/variant with its own speaking rate
    (130-200 wpm) and pitch (20-80), saying two sentences that are looped from a random offset and
    brought to the same RMS, so no talker dominates. With only a few talkers (e.g. ``talkers=3``) this
    is competing speech instead, a separation problem rather than noise. ``skip`` shifts which
    sentences are used. Output has unit variance, float32."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n, np.float64)
    for t in range(talkers):
        variant = _BABBLE_VARIANTS[rng.integers(len(_BABBLE_VARIANTS))]
        voice = f"{_BABBLE_DIALECTS[t % len(_BABBLE_DIALECTS)]}+{variant}"
        wpm, pitch = int(rng.integers(130, 201)), int(rng.integers(20, 81))
        idx = skip + 1 + 2 * t
        talk = np.concatenate(
            [
                speak(SENTENCES[(idx + k) % len(SENTENCES)], rate=rate, voice=voice, wpm=wpm, pitch=pitch)
                for k in range(2)
            ]
        )
        talk = talk / (np.std(talk) + 1e-9)
        reps = int(np.ceil((n + len(talk)) / len(talk)))
        looped = np.tile(talk, reps)
        start = int(rng.integers(0, len(talk)))
        out += looped[start : start + n]
    out /= np.std(out) + 1e-12
    return out.astype(np.float32)


def speech_shaped(n: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Stationary noise with the long-term spectrum of the espeak sentences, unit variance."""
    ref = np.concatenate([speak(s, rate=rate) for s in SENTENCES[:6]])
    spec = np.abs(np.fft.rfft(ref, n=max(n, len(ref))))
    phase = np.exp(2j * np.pi * np.random.default_rng(seed).random(spec.shape))
    noise = np.fft.irfft(spec * phase)[:n]
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean + g*noise`` with g chosen so that the mixture has ``snr_db`` (whole-clip powers)."""
    noise = noise[: len(clean)]
    p_clean = float(np.mean(clean.astype(np.float64) ** 2))
    p_noise = float(np.mean(noise.astype(np.float64) ** 2))
    gain = np.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))
    return (clean + gain * noise).astype(np.float32)
