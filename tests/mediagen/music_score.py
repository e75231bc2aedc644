"""Seeded scores (note lists) with their ground truth: beats, bar lines and chorus spans.

A score says *what* is played, not how it sounds: ``music_timbres`` and ``music_render`` turn it into
audio with one of several drum kits and pitched instrument sets. The axes a score varies:

* tempo (the BPM of the annotated beat) and meter: 4/4, 3/4 (waltz comping), 6/8 (the beat is the
  dotted quarter, two a bar, three eighths each) and swing (4/4, off-beat eighths at 2/3 of the beat);
* song form: verse/chorus, verse/chorus with a bridge, AABA, and through-composed (nothing repeats).

The annotated beat is the level the drums accent on every pulse (kick or snare/backbeat on each beat,
hi-hats only on the subdivisions), so the truth is the one a drummer would count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Meter:
    beats: int  # beats a bar
    offsets: tuple[float, ...]  # subdivision onsets inside a beat, as fractions of the beat
    kick: tuple[int, ...]  # beats of the bar with a kick
    snare: tuple[int, ...]  # beats of the bar with a snare


METERS = {
    "4/4": Meter(4, (0.0, 0.5), (0, 2), (1, 3)),
    "3/4": Meter(3, (0.0, 0.5), (0,), (1, 2)),
    "6/8": Meter(2, (0.0, 1 / 3, 2 / 3), (0,), (1,)),
    "swing": Meter(4, (0.0, 2 / 3), (0, 2), (1, 3)),
}

# parts: "kick", "snare", "hat" (drums) and "bass", "chords", "lead" (pitched); pitch is MIDI
DRUM_PARTS = ("kick", "snare", "hat")


@dataclass
class Note:
    t: float  # onset, seconds
    dur: float  # seconds
    part: str
    pitch: int
    vel: float  # 0..1


@dataclass
class Score:
    notes: list[Note]
    seconds: float
    beats: np.ndarray
    downbeats: np.ndarray
    choruses: list[tuple[float, float]] = field(default_factory=list)
    sections: list[tuple[str, float, float]] = field(default_factory=list)


_MAJ, _MIN = (0, 4, 7), (0, 3, 7)
# progressions as (root semitones above C, quality); four chords, one a bar
PROGRESSIONS = {
    "verse": [(9, _MIN), (5, _MAJ), (0, _MAJ), (7, _MAJ)],  # Am F C G
    "chorus": [(5, _MAJ), (7, _MAJ), (0, _MAJ), (4, _MAJ)],  # F G C E
    "bridge": [(2, _MIN), (4, _MIN), (5, _MAJ), (7, _MAJ)],  # Dm Em F G
    "A": [(0, _MAJ), (9, _MIN), (2, _MIN), (7, _MAJ)],  # C Am Dm G
    "B": [(5, _MAJ), (5, _MIN), (4, _MIN), (9, _MAJ)],  # F Fm Em A
}
PROGRESSIONS["intro"] = PROGRESSIONS["outro"] = PROGRESSIONS["verse"]
LOUDNESS = {"chorus": 1.0, "A": 0.9, "verse": 0.6, "B": 0.65, "bridge": 0.65, "intro": 0.45, "outro": 0.45}

FORMS = {
    # (section kind, is it the chorus); every section is one "phrase" long (see ``phrase_bars``)
    "verse-chorus": [("intro", 0), ("verse", 0), ("chorus", 1), ("verse", 0), ("chorus", 1), ("outro", 0)],
    "bridge": [("verse", 0), ("chorus", 1), ("verse", 0), ("chorus", 1), ("bridge", 0), ("chorus", 1)],
    # AABA: the A strain carries the hook and repeats; it is the refrain the service should report
    "aaba": [("A", 1), ("A", 1), ("B", 0), ("A", 1)],
    "no-repeat": [("free", 0)] * 6,
}


def phrase_bars(bpm: float, meter: Meter) -> int:
    """Bars in a section: 8, or 4 where 8 would run past 24 s (slow 4/4)."""
    bar_s = meter.beats * 60.0 / bpm
    return 8 if 8 * bar_s <= 24.0 else 4


def _drum_bar(t0: float, beat: float, m: Meter, vel: float, out: list[Note]) -> None:
    for b in range(m.beats):
        tb = t0 + b * beat
        if b in m.kick:
            out.append(Note(tb, 0.2, "kick", 36, vel))
        if b in m.snare:
            out.append(Note(tb, 0.2, "snare", 38, vel * 0.9))
        for k, off in enumerate(m.offsets):
            out.append(Note(tb + off * beat, 0.05, "hat", 42, vel * (0.6 if k == 0 else 0.4)))


def _comp_bar(
    t0: float, beat: float, m: Meter, root: int, quality: tuple[int, ...], vel: float, out: list[Note]
) -> None:
    """Bass and chords for one bar, in the idiom of the meter."""
    bar = beat * m.beats
    bass = 36 + root
    if m.beats == 3:  # waltz: bass on one, chord on two and three
        out.append(Note(t0, beat * 0.9, "bass", bass, vel))
        for b in (1, 2):
            out.extend(Note(t0 + b * beat, beat * 0.8, "chords", 60 + root + iv, vel * 0.8) for iv in quality)
        return
    if len(m.offsets) == 3:  # 6/8: bass on each beat, the chord broken over the eighths
        for b in range(m.beats):
            out.append(Note(t0 + b * beat, beat * 0.9, "bass", bass + 7 * (b % 2), vel))
            for k, off in enumerate(m.offsets):
                iv = quality[k % 3] + (12 if b % 2 else 0)
                out.append(Note(t0 + (b + off) * beat, beat / 3, "chords", 60 + root + iv, vel * 0.7))
        return
    # 4/4 and swing: bass on one and three, a chord held through the bar, re-struck on the backbeats
    for b in (0, 2):
        out.append(Note(t0 + b * beat, beat * 1.8, "bass", bass + (7 if b == 2 else 0), vel))
    out.extend(Note(t0, bar * 0.95, "chords", 60 + root + iv, vel * 0.6) for iv in quality)
    for b in (1, 3):
        out.extend(Note(t0 + b * beat, beat * 0.5, "chords", 72 + root + iv, vel * 0.5) for iv in quality)


def _tune(rng: np.random.Generator, m: Meter, bars: int) -> list[list[tuple[float, float, int]]]:
    """A melody as (beat position, length in beats, scale degree) per bar, redrawn only when asked."""
    out = []
    steps = [off for b in range(m.beats) for off in (b + o for o in m.offsets)]
    for _ in range(bars):
        picks = sorted(rng.choice(len(steps), size=min(len(steps), m.beats + 1), replace=False))
        bar = []
        for i, s in enumerate(picks):
            end = steps[picks[i + 1]] if i + 1 < len(picks) else m.beats
            bar.append((steps[s], end - steps[s], int(rng.integers(0, 8))))
        out.append(bar)
    return out


_SCALE = np.array([0, 2, 4, 5, 7, 9, 11, 12])


def _section(
    kind: str,
    bars: int,
    t0: float,
    beat: float,
    m: Meter,
    rng: np.random.Generator,
    tunes: dict[str, list],
    out: list[Note],
) -> None:
    if kind == "free":  # through-composed: random chords, loudness and tune every bar
        prog = [(int(rng.integers(12)), (_MAJ, _MIN)[int(rng.integers(2))]) for _ in range(bars)]
        tune = _tune(rng, m, bars)
        loud = [float(rng.uniform(0.5, 1.0)) for _ in range(bars)]
    else:
        prog = PROGRESSIONS[kind]
        if kind not in tunes:  # a section kind keeps its tune: verses and choruses repeat as in songs
            tunes[kind] = _tune(rng, m, bars)
        tune = tunes[kind]
        loud = [LOUDNESS[kind]] * bars
    bar_s = beat * m.beats
    lead_base = 72 if kind in ("chorus", "A") else 67
    for k in range(bars):
        t = t0 + k * bar_s
        root, quality = prog[k % len(prog)]
        _drum_bar(t, beat, m, loud[k], out)
        _comp_bar(t, beat, m, root, quality, loud[k], out)
        if kind in ("intro", "outro"):
            continue
        for pos, length, degree in tune[k % len(tune)]:
            out.append(
                Note(t + pos * beat, length * beat * 0.9, "lead", lead_base + int(_SCALE[degree]), loud[k])
            )


def _humanise(notes: list[Note], rng: np.random.Generator, jitter: float) -> None:
    for n in notes:
        n.t = max(0.0, n.t + float(rng.normal(0.0, jitter)))
        n.vel = float(np.clip(n.vel * rng.uniform(0.85, 1.1), 0.05, 1.0))


def groove(bpm: float, meter: str, seconds: float = 14.0, seed: int = 0, jitter: float = 0.006) -> Score:
    """A loop of the verse progression for ``seconds``, with a lead; beats and downbeats are the truth."""
    rng = np.random.default_rng(seed)
    m = METERS[meter]
    beat = 60.0 / bpm
    bar_s = beat * m.beats
    offset = float(rng.uniform(0.2, 0.6))
    bars = int((seconds - offset) / bar_s)
    notes: list[Note] = []
    tunes: dict[str, list] = {}
    for k in range(0, bars, 4):
        _section("verse", min(4, bars - k), offset + k * bar_s, beat, m, rng, tunes, notes)
    _humanise(notes, rng, jitter)
    beats = offset + beat * np.arange(bars * m.beats)
    return Score(notes, seconds, beats, beats[:: m.beats])


def song(bpm: float, meter: str, form: str, seed: int = 0, jitter: float = 0.006) -> Score:
    """A whole song in ``form``; ``choruses`` holds the spans of the sections the service calls chorus."""
    rng = np.random.default_rng(seed)
    m = METERS[meter]
    beat = 60.0 / bpm
    bar_s = beat * m.beats
    bars = phrase_bars(bpm, m)
    notes: list[Note] = []
    tunes: dict[str, list] = {}
    t = 0.3
    choruses, sections = [], []
    for kind, is_chorus in FORMS[form]:
        n = max(2, bars // 2) if kind in ("intro", "outro") else bars
        _section(kind, n, t, beat, m, rng, tunes, notes)
        sections.append((kind, t, t + n * bar_s))
        if is_chorus:
            choruses.append((t, t + n * bar_s))
        t += n * bar_s
    _humanise(notes, rng, jitter)
    beats = 0.3 + beat * np.arange(round((t - 0.3) / beat))
    return Score(notes, t + 1.0, beats, beats[:: m.beats], _merge_adjacent(choruses), sections)


def _merge_adjacent(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Back-to-back chorus sections (AA of AABA) are one occurrence, as a listener hears them."""
    out: list[tuple[float, float]] = []
    for a, b in spans:
        if out and abs(out[-1][1] - a) < 1e-6:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
