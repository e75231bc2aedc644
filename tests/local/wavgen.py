"""Tiny WAV files for job-flow tests of the engine (stdlib ``wave`` + numpy; a tone in noise)."""

from __future__ import annotations

import io
import wave

import numpy as np


def noisy_tone_wav(seconds: float = 1.0, rate: int = 16000, seed: int = 0) -> bytes:
    """16-bit mono WAV: a 440 Hz tone under white noise (something for SpeechDenoise to chew on)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()
