"""Render a ``music_score.Score`` with a drum kit and a pitched instrument set into a ``music.Song``.

Each group (drums; bass; chords; lead) is rendered alone and set to a fixed RMS share of the mix, so
a timbre changes the sound but not the balance; section loudness rides on the note velocities.
"""

from __future__ import annotations

import numpy as np

from tests.mediagen import music_timbres as timbres
from tests.mediagen.music import SR, Song
from tests.mediagen.music_score import DRUM_PARTS, Score

LEVELS = {"drums": 0.5, "bass": 0.22, "chords": 0.2, "lead": 0.16}  # RMS share of each group
_GM_DRUMS = {"kick": 36, "snare": 38, "hat": 42}


def _place(buf: np.ndarray, t: float, sound: np.ndarray, sr: int) -> None:
    i = round(t * sr)
    if i >= buf.size:
        return
    j = min(buf.size, i + sound.size)
    buf[i:j] += sound[: j - i]


def _normalise(x: np.ndarray, rms: float) -> np.ndarray:
    cur = float(np.sqrt(np.mean(x**2)))
    return x * (rms / cur) if cur > 1e-9 else x


def _drums(score: Score, kit: str, rng: np.random.Generator, sr: int, n: int) -> np.ndarray:
    notes = [x for x in score.notes if x.part in DRUM_PARTS]
    if kit == "gm":
        events = [(x.t, x.dur, 9, _GM_DRUMS[x.part], int(20 + 107 * x.vel)) for x in notes]
        return timbres.render_gm(events, {}, n, sr)
    out = np.zeros(n)
    samples = {p: [timbres.drum(kit, p, rng, sr) for _ in range(4)] for p in DRUM_PARTS}
    for x in notes:  # a few takes of each hit, so no two are identical
        _place(out, x.t, x.vel * samples[x.part][int(rng.integers(4))], sr)
    return out


def _pitched(score: Score, kind: str, part: str, rng: np.random.Generator, sr: int, n: int) -> np.ndarray:
    notes = [x for x in score.notes if x.part == part]
    if kind in timbres.GM_PROGRAMS:
        out = np.zeros(n)
        programs = [timbres.GM_PROGRAMS[kind][part]]
        if part in timbres.GM_EXTRA.get(kind, {}):
            programs.append(timbres.GM_EXTRA[kind][part])
        for ch, prog in enumerate(programs):
            events = [(x.t, x.dur, ch, x.pitch, int(20 + 107 * x.vel)) for x in notes]
            out += timbres.render_gm(events, {ch: prog}, n, sr)
        return out
    out = np.zeros(n)
    cache: dict[tuple[int, int], np.ndarray] = {}
    for x in notes:
        key = (x.pitch, round(x.dur * 100))
        if key not in cache or (kind == "additive" and part == "lead"):
            cache[key] = timbres.pitched(
                kind, part, x.pitch, x.dur + (0.3 if kind != "additive" else 0.0), rng, sr
            )
        _place(out, x.t, x.vel * cache[key], sr)
    return out


def render(
    score: Score, drums: str = "synth", pitched: str = "additive", seed: int = 0, sr: int = SR
) -> Song:
    rng = np.random.default_rng(seed + 1000)
    n = int(score.seconds * sr)
    mix = _normalise(_drums(score, drums, rng, sr, n), LEVELS["drums"])
    for part in ("bass", "chords", "lead"):
        mix += _normalise(_pitched(score, pitched, part, rng, sr, n), LEVELS[part])
    mix += 0.002 * rng.standard_normal(n)
    mix /= np.max(np.abs(mix)) * 1.1
    return Song(mix[None, :], sr, score.beats, score.downbeats, list(score.choruses))
