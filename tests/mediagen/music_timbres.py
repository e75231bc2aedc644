"""Instrument sounds for ``music_render``: several synthesis methods, and General MIDI through FluidSynth.

Drum kits: ``synth`` (sine kick, noise snare: the sounds of ``music.py``), ``electro`` (808-style long
boom, hand clap, metallic hat) and ``gm`` (the soundfont's standard kit). Pitched sets (bass, chords,
lead): ``additive`` (harmonic partials, voice-like lead), ``pluck`` (Karplus-Strong strings), ``fm``
(two-operator FM electric piano) and ``gm-piano`` / ``gm-strings`` (soundfont piano, bass and sax; steel
guitar, strings and violin). GM sounds need the ``fluidsynth`` CLI and a GM soundfont (Debian's
``fluidsynth`` and ``timgm6mb-soundfont``); ``gm_available()`` says whether they are here.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tests.mediagen import music

SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
)
DRUM_KITS = ("synth", "electro", "gm")
PITCHED_SETS = ("additive", "pluck", "fm", "gm-piano", "gm-strings")
# GM programs (0-based) for bass, chords, lead
GM_PROGRAMS = {
    "gm-piano": {"bass": 33, "chords": 0, "lead": 65},
    "gm-strings": {"bass": 32, "chords": 48, "lead": 40},
}
GM_EXTRA = {"gm-strings": {"chords": 25}}  # a second chord instrument: steel guitar strums over the pad


def soundfont() -> Path | None:
    return next((p for p in SOUNDFONTS if p.exists()), None)


def gm_available() -> bool:
    return soundfont() is not None and shutil.which("fluidsynth") is not None


def hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


# ---- synthesized drums --------------------------------------------------------------------------


def drum(kit: str, part: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    if kit == "synth":
        return {
            "kick": music.kick,
            "snare": lambda s: music.snare(rng, s),
            "hat": lambda s: music.hihat(rng, s),
        }[part](sr)
    n = int({"kick": 0.6, "snare": 0.25, "hat": 0.05}[part] * sr)
    t = np.arange(n) / sr
    if part == "kick":  # 808: a long sine whose pitch falls from 150 to 45 Hz
        phase = 2 * np.pi * np.cumsum(45 + 105 * np.exp(-t / 0.03)) / sr
        return 0.9 * np.sin(phase) * np.exp(-t / 0.35)
    if part == "snare":  # hand clap: three quick bursts then a tail of band-limited noise
        noise = np.convolve(rng.standard_normal(n), [1, 0, -1], "same")
        env = np.exp(-t / 0.08)
        for k in range(3):
            env += (t >= k * 0.011) * np.exp(-np.clip(t - k * 0.011, 0, None) / 0.004)
        return 0.25 * noise * env
    # hat: six detuned square waves, high-passed by a first difference
    sq = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (205, 304, 369, 522, 540, 800))
    return 0.08 * np.diff(sq, prepend=0.0) * np.exp(-t / 0.012)


# ---- synthesized pitched instruments ------------------------------------------------------------


def _adsr(n: int, sr: int, attack: float, decay: float, release: float = 0.03) -> np.ndarray:
    t = np.arange(n) / sr
    env = np.exp(-t / decay)
    a, r = max(1, int(attack * sr)), min(n, max(1, int(release * sr)))
    env[:a] *= np.linspace(0, 1, a)
    env[n - r :] *= np.linspace(1, 0, r)
    return env


def pluck(freq: float, seconds: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Karplus-Strong: a noise burst through a damped comb filter tuned to ``freq``."""
    from scipy.signal import lfilter

    n = max(1, int(seconds * sr))
    p = max(2, round(sr / freq))
    x = np.zeros(n)
    x[: min(p, n)] = rng.uniform(-1, 1, min(p, n))
    a = np.zeros(p + 2)
    a[0], a[p], a[p + 1] = 1.0, -0.497, -0.497
    return lfilter([1.0], a, x) * _adsr(n, sr, 0.001, 10.0)


def fm_piano(freq: float, seconds: float, sr: int) -> np.ndarray:
    """Two-operator FM, 1:1 with a fast-decaying index plus a faint 14:1 tine: a Rhodes-like key."""
    n = max(1, int(seconds * sr))
    t = np.arange(n) / sr
    index = 2.5 * np.exp(-t / 0.25) + 0.3
    body = np.sin(2 * np.pi * freq * t + index * np.sin(2 * np.pi * freq * t))
    tine = 0.3 * np.sin(2 * np.pi * 14 * freq * t) * np.exp(-t / 0.02)
    return (body + tine) * _adsr(n, sr, 0.002, 0.9)


def pitched(
    kind: str, part: str, pitch: int, seconds: float, rng: np.random.Generator, sr: int
) -> np.ndarray:
    f = hz(pitch)
    if kind == "additive":
        if part == "lead":
            return music.sung_note(f, seconds, rng, sr, vowel=pitch)
        return music.tone(
            f, seconds, sr, harmonics=4 if part == "bass" else 6, decay=max(0.15, seconds * 0.7)
        )
    if kind == "pluck":
        return pluck(f, seconds, rng, sr)
    if kind == "fm":
        return fm_piano(f, seconds, sr)
    raise ValueError(f"pitched set {kind!r}: one of {PITCHED_SETS}")


# ---- General MIDI through the fluidsynth CLI ----------------------------------------------------

_TICKS = 960  # ticks a quarter note at the default 120 BPM: one tick is 1/1920 s


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_file(events: list[tuple[float, float, int, int, int]], programs: dict[int, int]) -> bytes:
    """A type-0 Standard MIDI File from (onset s, length s, channel, pitch, velocity 1-127) tuples."""
    timeline: list[tuple[int, int, bytes]] = []
    for ch, prog in programs.items():
        timeline.append((0, 0, bytes([0xC0 | ch, prog])))
    for t, dur, ch, pitch, vel in events:
        on = round(t * 2 * _TICKS)
        off = max(on + 1, round((t + dur) * 2 * _TICKS))
        timeline.append((on, 2, bytes([0x90 | ch, pitch, vel])))
        timeline.append((off, 1, bytes([0x80 | ch, pitch, 0])))  # offs before ons at the same tick
    timeline.sort(key=lambda e: (e[0], e[1]))
    track, now = bytearray(), 0
    for tick, _, msg in timeline:
        track += _vlq(tick - now) + msg
        now = tick
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
    header += _TICKS.to_bytes(2, "big")
    return header + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track)


def render_gm(
    events: list[tuple[float, float, int, int, int]], programs: dict[int, int], samples: int, sr: int
) -> np.ndarray:
    """Mono float audio of the events rendered offline by fluidsynth with the GM soundfont."""
    import soundfile as sf

    sf2 = soundfont()
    if sf2 is None or shutil.which("fluidsynth") is None:
        raise RuntimeError(
            "GM timbres need the fluidsynth CLI and a GM soundfont (apt: fluidsynth timgm6mb-soundfont)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "score.mid", Path(tmp) / "score.wav"
        mid.write_bytes(midi_file(events, programs))
        subprocess.run(
            [
                "fluidsynth",
                "-ni",
                "-q",
                "-g",
                "0.5",
                "-r",
                str(sr),
                "-o",
                "synth.reverb.active=0",
                "-o",
                "synth.chorus.active=0",
                "-F",
                str(wav),
                "-T",
                "wav",
                str(sf2),
                str(mid),
            ],
            check=True,
            capture_output=True,
        )
        audio, _ = sf.read(wav, dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)
    out = np.zeros(samples)
    out[: min(out.size, mono.size)] = mono[: out.size]
    return out
