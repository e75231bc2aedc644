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


def _shaped(n: int, seed: int, exponent: float, rate: int, low_hz: float) -> np.ndarray:
    """Gaussian noise whose power falls as 1/f**exponent above ``low_hz`` (flat below, so there is
    no DC drift), unit variance."""
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spec *= np.maximum(freqs, low_hz) ** (-exponent / 2)
    out = np.fft.irfft(spec, n)
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def pink(n: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Pink noise (power 1/f: equal energy per octave), unit variance."""
    return _shaped(n, seed, 1.0, rate, 20.0)


def brown(n: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Brown (red) noise (power 1/f**2, a random walk's spectrum) above 20 Hz, unit variance."""
    return _shaped(n, seed, 2.0, rate, 20.0)


def street(n: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Street-like noise: traffic rumble (brown noise below ~250 Hz whose level swells as vehicles pass,
    plus an engine hum with a drifting fundamental) under transients (tyre hiss bursts, door slams,
    short horn beeps) at random times. Unit variance; not stationary, like a real street."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    rumble = _shaped(n, seed + 1, 2.0, rate, 15.0)
    spec = np.fft.rfft(rumble)
    spec[np.fft.rfftfreq(n, 1 / rate) > 250] *= 0.05
    rumble = np.fft.irfft(spec, n)
    passes = np.zeros(n)
    for _ in range(max(1, round(n / rate / 3))):  # a vehicle every ~3 s, each swelling for 1.5-4 s
        centre, width = rng.uniform(0, n / rate), rng.uniform(0.75, 2.0)
        passes += rng.uniform(0.5, 1.5) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    f0 = 45 + 15 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 6.3))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    hum = sum(np.sin(k * phase) / k for k in range(1, 6))
    out = (0.4 + passes) * (rumble / (np.std(rumble) + 1e-12) + 0.5 * hum / (np.std(hum) + 1e-12))
    for _ in range(max(1, round(n / rate / 1.5))):  # transients
        start = int(rng.integers(0, max(1, n - rate // 2)))
        kind = rng.integers(3)
        if kind == 0:  # door slam / bump: a decaying low thud
            m = rate // 5
            env = np.exp(-np.arange(m) / (0.03 * rate))
            burst = env * _shaped(m, int(rng.integers(1 << 30)), 1.0, rate, 30.0) * 6
        elif kind == 1:  # tyre hiss: a swelling band of high noise
            m = int(rate * rng.uniform(0.3, 0.8))
            burst = np.hanning(m) * rng.standard_normal(m) * 2
        else:  # horn: two detuned square-ish tones
            m = int(rate * rng.uniform(0.15, 0.4))
            tt = np.arange(m) / rate
            f = rng.uniform(350, 500)
            burst = np.tanh(3 * (np.sin(2 * np.pi * f * tt) + np.sin(2 * np.pi * f * 1.26 * tt))) * 1.5
            burst *= np.minimum(1, np.minimum(tt, tt[::-1]) / 0.01)
        end = min(n, start + len(burst))
        out[start:end] += burst[: end - start]
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def music_bed(n: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A synthesised background-music bed: a seeded four-chord progression of soft saw-like pads, a
    plucked bass on the beat and a hi-hat tick between, at 80-120 BPM. Unit variance. Like real music
    it is harmonic, rhythmic and in the speech band, so a stationary noise estimate cannot hold it."""
    rng = np.random.default_rng(seed)
    bpm = float(rng.uniform(80, 120))
    beat = 60.0 / bpm
    roots = rng.choice([0, 2, 4, 5, 7, 9], size=4) + 48 + int(rng.integers(0, 7))  # MIDI roots
    t = np.arange(n) / rate
    out = np.zeros(n)
    bar = 4 * beat
    for b in range(int(np.ceil(n / rate / bar))):
        root = int(roots[b % 4])
        s0, s1 = round(b * bar * rate), min(n, round((b + 1) * bar * rate))
        if s0 >= n:
            break
        tt = t[s0:s1] - b * bar
        env = np.minimum(1, np.minimum(tt, bar - tt) / 0.08)
        for interval in (0, 4 if b % 2 == 0 else 3, 7, 12):  # major/minor triad plus the octave
            f = 440 * 2 ** ((root + interval - 69) / 12)
            out[s0:s1] += env * sum(np.sin(2 * np.pi * k * f * tt + k) / k**1.5 for k in range(1, 7)) * 0.3
        for q in range(4):  # bass pluck on each beat, hi-hat on the off-beat
            p0 = s0 + round(q * beat * rate)
            if p0 >= s1:
                break
            m = min(s1 - p0, round(beat * rate))
            tq = np.arange(m) / rate
            fb = 440 * 2 ** ((root - 12 - 69) / 12)
            out[p0 : p0 + m] += np.exp(-tq / 0.25) * np.sin(2 * np.pi * fb * tq) * 0.8
            h0 = p0 + round(beat * rate / 2)
            hm = min(n - h0, rate // 25)
            if hm > 0:
                out[h0 : h0 + hm] += np.exp(-np.arange(hm) / (0.008 * rate)) * rng.standard_normal(hm) * 0.3
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


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
