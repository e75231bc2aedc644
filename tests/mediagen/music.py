"""Synthetic music with known ground truth: beats and downbeats, chorus spans, and separate stems.

Everything is plain numpy with a seeded generator, so a test can rebuild the same reference at will.
The sounds are crude but carry the cues real music has: kick/snare/hi-hat patterns, chord changes at
bar lines, a bass on the root, a louder and busier chorus, a centre-panned vibrato "voice".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SR = 22050

# Triads as semitone offsets from A (A=0); roots picked so the progressions sound like pop.
_MAJOR = (0, 4, 7)
_MINOR = (0, 3, 7)


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def _env(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    env = np.exp(-t / decay)
    a = max(1, int(attack * sr))
    env[:a] *= np.linspace(0, 1, a)
    return env


def _add(buf: np.ndarray, start_s: float, sound: np.ndarray, sr: int) -> None:
    i = round(start_s * sr)
    if i >= buf.shape[-1]:
        return
    j = min(buf.shape[-1], i + sound.shape[-1])
    buf[..., i:j] += sound[..., : j - i]


def kick(sr: int = SR) -> np.ndarray:
    n = int(0.35 * sr)
    t = np.arange(n) / sr
    freq = 50 + 90 * np.exp(-t / 0.04)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return 0.9 * np.sin(phase) * _env(n, sr, 0.002, 0.12)


def snare(rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    n = int(0.2 * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal(n) * _env(n, sr, 0.001, 0.06)
    tone = np.sin(2 * np.pi * 190 * t) * _env(n, sr, 0.001, 0.05)
    return 0.35 * noise + 0.4 * tone


def hihat(rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    n = int(0.06 * sr)
    noise = np.diff(rng.standard_normal(n + 1))  # first difference: a crude high-pass
    return 0.12 * noise * _env(n, sr, 0.0005, 0.015)


def tone(freq: float, seconds: float, sr: int = SR, harmonics: int = 6, decay: float = 0.8) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    out = np.zeros(n)
    for h in range(1, harmonics + 1):
        if freq * h < sr / 2:
            out += np.sin(2 * np.pi * freq * h * t) / h**1.2
    return out * _env(n, sr, 0.01, decay)


def chord(root: int, quality: tuple[int, ...], seconds: float, sr: int = SR, octave: int = 57) -> np.ndarray:
    """A triad as summed harmonic tones; ``root`` is semitones above A, ``octave`` the MIDI of that A."""
    return sum(tone(_midi_hz(octave + root + iv), seconds, sr, decay=seconds * 0.7) for iv in quality) / 3


def sung_note(
    freq: float, seconds: float, rng: np.random.Generator, sr: int = SR, vowel: int = 0
) -> np.ndarray:
    """A voice-like note: vibrato after the attack, a formant envelope (two vowels), a breath of noise."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    depth = np.clip((t - 0.12) / 0.2, 0, 1) * 0.025  # vibrato grows in, +-2.5 % (~ +-40 cents)
    f0 = freq * (1 + depth * np.sin(2 * np.pi * 5.6 * t + rng.uniform(0, 6.28)))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    formants = ((730, 1090, 2440), (300, 2300, 3000))[vowel % 2]
    out = np.zeros(n)
    for h in range(1, int(4000 / freq)):
        fh = freq * h
        gain = sum(np.exp(-0.5 * ((fh - fm) / 120) ** 2) for fm in formants) + 0.08 / h
        out += gain * np.sin(h * phase)
    a, r = int(0.04 * sr), int(0.06 * sr)
    env = np.ones(n)
    env[:a] = np.linspace(0, 1, a)
    env[-r:] *= np.linspace(1, 0, r)
    out = out / (np.max(np.abs(out)) + 1e-9)
    return (out + 0.01 * rng.standard_normal(n)) * env


@dataclass
class Song:
    """A generated piece and its ground truth (all times in seconds)."""

    audio: np.ndarray  # (channels, samples) float in [-1, 1]
    sr: int
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    downbeats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    choruses: list[tuple[float, float]] = field(default_factory=list)
    stems: dict[str, np.ndarray] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        import soundfile as sf

        sf.write(path, self.audio.T, self.sr, subtype="PCM_16")
        return path


_POP = [(0, _MINOR), (8, _MAJOR), (3, _MAJOR), (10, _MAJOR)]  # Am F C G


def _drums(bar_s: float, beats_per_bar: int, rng: np.random.Generator, sr: int, level: float) -> np.ndarray:
    beat = bar_s / beats_per_bar
    bar = np.zeros(int(bar_s * sr) + sr)
    for b in range(beats_per_bar):
        # kick on 1 (and 3 in 4/4), snare on the others: the drums alone do not say where the bar starts
        if b == 0 or (beats_per_bar == 4 and b == 2):
            _add(bar, b * beat, kick(sr), sr)
        else:
            _add(bar, b * beat, snare(rng, sr), sr)
        _add(bar, b * beat, hihat(rng, sr), sr)
        _add(bar, (b + 0.5) * beat, 0.7 * hihat(rng, sr), sr)
    return level * bar


def beat_song(
    bpm: float,
    seconds: float = 16.0,
    beats_per_bar: int = 4,
    sr: int = SR,
    seed: int = 0,
    jitter: float = 0.0,
) -> Song:
    """Drums, a chord per bar and a bass on the root, with a silent lead-in so the first beat is not at 0.

    ``jitter`` (seconds) moves every bar by a random amount up to that much, like a human drummer.
    """
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    bar_s = beat * beats_per_bar
    offset = rng.uniform(0.2, 0.6)
    n_bars = int((seconds - offset) / bar_s)
    audio = np.zeros(int(seconds * sr) + 2 * sr)
    beats, downbeats = [], []
    for k in range(n_bars):
        t0 = offset + k * bar_s + (rng.uniform(-jitter, jitter) if jitter else 0.0)
        root, quality = _POP[k % 4]
        _add(audio, t0, _drums(bar_s, beats_per_bar, rng, sr, 0.8), sr)
        _add(audio, t0, 0.35 * chord(root, quality, bar_s, sr), sr)
        for b in range(beats_per_bar):
            beats.append(t0 + b * beat)
            if b % 2 == 0:
                _add(audio, t0 + b * beat, 0.3 * tone(_midi_hz(33 + root), beat * 0.9, sr, 3, 0.3), sr)
        downbeats.append(t0)
    audio = audio[: int(seconds * sr)]
    audio += 0.003 * rng.standard_normal(audio.size)
    audio /= np.max(np.abs(audio)) * 1.1
    return Song(audio[None, :], sr, np.array(beats), np.array(downbeats))


_CHORUS = [(8, _MAJOR), (10, _MAJOR), (3, _MAJOR), (7, _MAJOR)]  # F G C E
_BRIDGE = [(5, _MINOR), (7, _MINOR), (8, _MAJOR), (10, _MAJOR)]  # Dm Em F G


def _section(
    kind: str, bars: int, t0: float, bar_s: float, rng: np.random.Generator, sr: int, out: np.ndarray
) -> None:
    beat = bar_s / 4
    prog = {"verse": _POP, "chorus": _CHORUS, "bridge": _BRIDGE, "intro": _POP, "outro": _POP}[kind]
    loud = {"chorus": 1.0, "verse": 0.55, "bridge": 0.6, "intro": 0.4, "outro": 0.4}[kind]
    # the chorus tune is fixed (it repeats); verse tunes are redrawn each time over the same chords
    tune = np.random.default_rng(7) if kind == "chorus" else rng
    for k in range(bars):
        t = t0 + k * bar_s
        root, quality = prog[k % 4]
        _add(out, t, loud * _drums(bar_s, 4, rng, sr, 0.7), sr)
        _add(out, t, loud * 0.4 * chord(root, quality, bar_s, sr), sr)
        if kind == "chorus":  # a second, higher chord voicing: busier and brighter
            _add(out, t + 2 * beat, 0.3 * chord(root, quality, 2 * beat, sr, octave=69), sr)
        _add(out, t, loud * 0.35 * tone(_midi_hz(33 + root), bar_s * 0.9, sr, 3, 0.6), sr)
        if kind in ("verse", "chorus", "bridge"):
            base = 69 if kind == "chorus" else 64
            scale = np.array([0, 2, 3, 5, 7, 8, 10, 12])
            for b in range(4):
                note = base + root % 12 - 12 * (root % 12 > 6) + int(tune.choice(scale))
                _add(out, t + b * beat, loud * 0.25 * sung_note(_midi_hz(note), beat * 0.9, tune, sr), sr)


def verse_chorus_song(bpm: float = 140.0, sr: int = SR, seed: int = 0) -> Song:
    """intro V C V C bridge C outro, 4 bars a section (2 for intro/outro); choruses are the truth."""
    rng = np.random.default_rng(seed)
    bar_s = 4 * 60.0 / bpm
    plan = [
        ("intro", 2),
        ("verse", 4),
        ("chorus", 4),
        ("verse", 4),
        ("chorus", 4),
        ("bridge", 4),
        ("chorus", 4),
        ("outro", 2),
    ]
    total = sum(b for _, b in plan) * bar_s + 0.5
    out = np.zeros(int(total * sr) + 2 * sr)
    t, choruses = 0.25, []
    for kind, bars in plan:
        _section(kind, bars, t, bar_s, rng, sr, out)
        if kind == "chorus":
            choruses.append((t, t + bars * bar_s))
        t += bars * bar_s
    out = out[: int(total * sr)]
    out += 0.003 * rng.standard_normal(out.size)
    out /= np.max(np.abs(out)) * 1.1
    return Song(out[None, :], sr, choruses=choruses)


def through_composed_song(bpm: float = 140.0, bars: int = 28, sr: int = SR, seed: int = 0) -> Song:
    """Same instruments and drum loop, but a fresh random chord and tune every bar: nothing repeats."""
    rng = np.random.default_rng(seed)
    bar_s = 4 * 60.0 / bpm
    beat = bar_s / 4
    out = np.zeros(int((bars * bar_s + 0.5) * sr) + 2 * sr)
    roots = rng.permutation(np.tile(np.arange(12), 3))[:bars]
    for k in range(bars):
        t = 0.25 + k * bar_s
        root, quality = int(roots[k]), (_MAJOR, _MINOR)[int(rng.integers(2))]
        loud = rng.uniform(0.5, 1.0)
        _add(out, t, loud * _drums(bar_s, 4, rng, sr, 0.7), sr)
        _add(out, t, loud * 0.4 * chord(root, quality, bar_s, sr), sr)
        _add(out, t, loud * 0.35 * tone(_midi_hz(33 + root), bar_s * 0.9, sr, 3, 0.6), sr)
        for b in range(4):
            note = 62 + int(rng.integers(0, 14))
            _add(out, t + b * beat, loud * 0.25 * sung_note(_midi_hz(note), beat * 0.9, rng, sr), sr)
    out = out[: int((bars * bar_s + 0.5) * sr)]
    out /= np.max(np.abs(out)) * 1.1
    return Song(out[None, :], sr)


def _pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan, position -1 (left) .. +1 (right)."""
    angle = (position + 1) * np.pi / 4
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono])


def stereo_song(
    seconds: float = 12.0, bpm: float = 110.0, sr: int = SR, seed: int = 0, vocal: np.ndarray | None = None
) -> Song:
    """A stereo mix with known stems: a centre voice over panned chords, an arpeggio, bass and drums.

    ``vocal`` (mono, at ``sr``) replaces the synthetic sung melody, e.g. with espeak-ng speech.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    bar_s = 4 * 60.0 / bpm
    beat = bar_s / 4
    chords_l, arp_r, bass, kicks, snares, hats = (np.zeros(n + 2 * sr) for _ in range(6))
    voice = np.zeros(n + 2 * sr)
    for k in range(int(seconds / bar_s) + 1):
        t = k * bar_s
        root, quality = _POP[k % 4]
        _add(chords_l, t, 0.35 * chord(root, quality, bar_s, sr), sr)
        for s in range(8):  # eighth-note arpeggio an octave up
            iv = quality[s % 3] + 12 * (s // 3 % 2)
            _add(arp_r, t + s * beat / 2, 0.18 * tone(_midi_hz(57 + root + iv), beat / 2, sr, 4, 0.15), sr)
        _add(bass, t, 0.4 * tone(_midi_hz(33 + root), bar_s * 0.9, sr, 4, 0.8), sr)
        for b in range(4):
            _add(
                kicks if b % 2 == 0 else snares, t + b * beat, kick(sr) if b % 2 == 0 else snare(rng, sr), sr
            )
            _add(hats, t + b * beat, hihat(rng, sr), sr)
            _add(hats, t + (b + 0.5) * beat, hihat(rng, sr), sr)
        if vocal is None and k % 2 == 0:  # two-bar phrases: sing one bar, rest one bar
            scale = np.array([0, 2, 3, 5, 7, 8, 10, 12])
            pos = 0.0
            while pos < bar_s * 1.0:
                dur = beat * float(rng.choice([0.5, 1.0, 1.5]))
                note = 64 + int(rng.choice(scale))
                _add(voice, t + pos, 0.35 * sung_note(_midi_hz(note), dur, rng, sr, vowel=int(pos * 3)), sr)
                pos += dur
    accomp = (
        _pan(chords_l, -0.6)
        + _pan(arp_r, 0.6)
        + _pan(bass, 0.1)
        + _pan(0.8 * kicks, 0.0)
        + _pan(0.6 * snares, -0.2)
        + _pan(hats, 0.5)
    )[:, :n]
    if vocal is not None:
        # a lead voice sits about 4 dB under the band in RMS, like the sung melody does
        voice[: min(n, vocal.size)] = vocal[:n]
        level = np.sqrt(np.mean(accomp**2)) / (np.sqrt(np.mean(voice[:n] ** 2 * 0.5)) + 1e-12)
        voice *= 0.63 * level
    vocals = _pan(voice, 0.0)[:, :n]
    mix = accomp + vocals
    scale = 1.0 / (np.max(np.abs(mix)) * 1.1)
    return Song(mix * scale, sr, stems={"vocals": vocals * scale, "accompaniment": accomp * scale})
