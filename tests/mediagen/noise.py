"""Noise for tests and mixing at a chosen SNR.

SNR is taken over the whole clip (mean power of the clean signal, pauses included, against the
noise's mean power), which is how most denoising papers quote "SNR of the mixture".
"""

from __future__ import annotations

import numpy as np

from tests.mediagen.speech import SENTENCES, VOICES, speak


def white(n: int, seed: int = 0) -> np.ndarray:
    """Gaussian white noise, unit variance, float32."""
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32)


def babble(n: int, rate: int = 16000, talkers: int = 6, seed: int = 0, skip: int = 0) -> np.ndarray:
    """Several espeak voices saying different sentences at once, each looped with a random offset,
    normalised to unit variance. ``skip`` shifts which sentences are used so the babble does not
    contain the target sentence a test is denoising."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n, np.float64)
    for t in range(talkers):
        voice = VOICES[t % len(VOICES)]
        # Two sentences per talker keep long clips from looping too audibly.
        idx = skip + 1 + 2 * t
        talk = np.concatenate(
            [speak(SENTENCES[(idx + k) % len(SENTENCES)], rate=rate, voice=voice) for k in range(2)]
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
