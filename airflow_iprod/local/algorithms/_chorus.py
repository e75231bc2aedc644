"""Chorus finding by repetition (after Goto's RefraiD), on beat-synchronous features.

1. Beat-synchronous chroma, stacked over a few beats so a match means "the same chord *sequence*".
2. Self-similarity of those stacks; for every lag, runs of beats whose similarity to the beat ``lag``
   earlier stays high over at least ``MIN_BEATS`` beats (counting the beats the last stack spans) are
   repeated sections (a pair of intervals).
3. The run endpoints and the section boundaries (timbre novelty, steps in loudness) cut the song into
   pieces; each piece counts how many repetitions cover it.
4. The chorus is the repeated piece with the best (repetition count x loudness, loudness averaged over a
   bar and compared as power), grown over its repeated neighbours at its level; it and every interval a
   run maps it to are the chorus occurrences. No run at all -> no chorus.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from airflow_iprod.local.algorithms import _rhythm

STACK = 4  # beats of context in each feature column
SIMILAR = 0.8  # cosine similarity of stacked chroma that counts as "the same music", at least...
SIMILAR_Z = 2.0  # ...and this many standard deviations above the song's mean similarity, at most...
SIMILAR_MAX = 0.95  # ...this: drums and a steady bass make every bar of a song alike in chroma
MIN_BEATS = 16  # a chorus spans at least four 4/4 bars
BAR = 4  # beats over which loudness is averaged before sections are compared
STEP_DB = 2.5  # a change of level this large between the 8 beats either side is a section boundary
GAP = 2  # beats of dissimilarity tolerated inside a run (a fill, a changed note)


@dataclass(frozen=True)
class Run:
    start: int  # beat index of the later occurrence
    end: int  # exclusive
    lag: int  # the earlier occurrence is [start - lag, end - lag)


def beat_chroma(y: np.ndarray, sr: int, frames: np.ndarray) -> np.ndarray:
    """Unit-norm chroma per beat span, stacked over ``STACK`` beats: (12 * STACK, beats)."""
    import librosa

    # from C3 up: a long 808 kick or a droning bass below would make every bar look alike
    chroma = librosa.feature.chroma_cqt(
        y=y, sr=sr, hop_length=_rhythm.HOP, fmin=float(librosa.note_to_hz("C3")), n_octaves=5
    )
    bounds = librosa.util.fix_frames(frames, x_min=0, x_max=chroma.shape[1])
    sync = librosa.util.sync(chroma, bounds, aggregate=np.median)
    if bounds[0] != frames[0]:
        sync = sync[:, 1:]
    sync = sync[:, : frames.size]
    sync = sync / (np.linalg.norm(sync, axis=0, keepdims=True) + 1e-9)
    stacked = librosa.feature.stack_memory(sync, n_steps=STACK, delay=-1, mode="edge")
    return stacked / (np.linalg.norm(stacked, axis=0, keepdims=True) + 1e-9)


def beat_loudness(y: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """RMS in dB over each beat span."""
    edges = np.append(frames * _rhythm.HOP, y.size)
    out = np.array([np.sqrt(np.mean(y[a:b] ** 2)) if b > a else 0.0 for a, b in itertools.pairwise(edges)])
    return 20 * np.log10(out + 1e-6)


def _runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open intervals where ``mask`` is true, after closing gaps up to ``GAP`` long."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    runs, start, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if i - prev > GAP + 1:
            runs.append((int(start), int(prev) + 1))
            start = i
        prev = i
    runs.append((int(start), int(prev) + 1))
    return runs


def find_runs(features: np.ndarray) -> list[Run]:
    n = features.shape[1]
    sim = features.T @ features
    off = sim[np.triu_indices(n, MIN_BEATS // 2)]
    if off.size == 0:
        return []
    similar = float(np.clip(off.mean() + SIMILAR_Z * off.std(), SIMILAR, SIMILAR_MAX))
    found: list[Run] = []
    diag_means = {}
    for lag in range(MIN_BEATS // 2, n - MIN_BEATS + 1):
        diag = np.diagonal(sim, -lag)  # diag[k] = sim[k + lag, k]
        diag_means[lag] = diag
    for lag, diag in diag_means.items():
        for a, b in _runs_of(diag >= similar):
            # column k stacks beats k..k+STACK-1: a run of columns [a, b) is the beats [a, b + STACK - 1)
            if b - a + STACK - 1 < MIN_BEATS:
                continue
            strength = float(diag[a:b].mean())
            # a tracker off by a beat smears one repetition over neighbouring lags: keep the strongest
            neighbours = [
                diag_means[lag + d][max(0, a - d) : b].mean()
                for d in (-2, -1, 1, 2)
                if lag + d in diag_means and diag_means[lag + d][max(0, a - d) : b].size
            ]
            if neighbours and strength < max(neighbours):
                continue
            found.append(Run(a + lag, min(n, b + STACK - 1 + lag), lag))
    return found


def chorus_intervals(
    features: np.ndarray, loudness: np.ndarray, boundaries: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """Beat-index intervals of every chorus occurrence (sorted, non-overlapping), or [] if none."""
    n = features.shape[1]
    runs = find_runs(features)
    if not runs:
        return []
    cover = np.zeros(n)
    # section changes cut too: a verse and chorus that always come together repeat as one block
    cuts = {0, n} | {int(b) for b in (boundaries if boundaries is not None else [])}
    for r in runs:
        for a, b in ((r.start, r.end), (r.start - r.lag, r.end - r.lag)):
            cover[a:b] += 1
            cuts.update((a, b))
    edges = sorted(cuts)
    # merge cut points closer than a bar: boundaries of two runs of the same section rarely agree exactly
    merged = [edges[0]]
    for e in edges[1:]:
        if e - merged[-1] >= 4:
            merged.append(e)
        else:
            merged[-1] = e if e == n else merged[-1]
    pieces = [(a, b) for a, b in itertools.pairwise(merged) if b - a >= 4]
    # a chorus is the loud repeated part: 3 dB quieter halves the weight, and repeats count only up to
    # two (a verse progression that loops inside the verse and the intro is not more of a chorus).
    # Loudness is averaged over a bar first: a melody note or a chord voicing is not a section.
    loudness = 10 * np.log10(np.convolve(10 ** (loudness / 10), np.ones(BAR) / BAR, mode="same") + 1e-12)
    levels = {p: _level(loudness[p[0] : p[1]]) for p in pieces}
    top = _level(loudness)
    best, best_score = None, 0.0
    for a, b in pieces:
        count = float(np.mean(cover[a:b]))
        if count < 1:
            continue
        score = min(count, 2.0) * float(2.0 ** ((levels[(a, b)] - top) / 3.0))
        if score > best_score:
            best, best_score = (a, b), score
    if best is None:
        return []
    # grow over neighbouring repeated pieces at the chorus's level: nearer to it than to the song's typical
    # (median) level, and 1.5-3 dB under it at most. A section change or a loop of its progression cut
    # the chorus where its own halves differ by a dB or two, while a verse sits several dB under it.
    typical = float(np.median(np.repeat(list(levels.values()), [b - a for a, b in pieces])))
    floor = float(np.clip((levels[best] + typical) / 2, levels[best] - 3.0, levels[best] - 1.5))
    index = pieces.index(best)
    group = [best]
    for step in (-1, 1):
        k = index + step
        while 0 <= k < len(pieces):
            pa, pb = pieces[k]
            if np.mean(cover[pa:pb]) < 1 or levels[pieces[k]] < floor:
                break
            group.append(pieces[k])
            k += step
    found = list(group)
    for a, b in group:
        for r in runs:
            # map the piece through every run that covers most of it, in either direction
            for src, shift in (((r.start, r.end), -r.lag), ((r.start - r.lag, r.end - r.lag), r.lag)):
                overlap = min(b, src[1]) - max(a, src[0])
                if overlap >= 0.6 * (b - a):
                    found.append((max(0, a + shift), min(n, b + shift)))
    return _merge(found)


def _level(loudness: np.ndarray) -> float:
    """The loudness of a stretch in dB, from its mean power: quiet off-beats do not drag it down."""
    return float(10 * np.log10(np.mean(10 ** (loudness / 10)) + 1e-12))


def timbre_features(y: np.ndarray, sr: int, frames: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Per-beat MFCC, chroma and loudness, each block z-scored: what changes at a section boundary."""
    import librosa

    mfcc = librosa.feature.mfcc(y=y, sr=sr, hop_length=_rhythm.HOP, n_mfcc=13)
    bounds = librosa.util.fix_frames(frames, x_min=0, x_max=mfcc.shape[1])
    sync = librosa.util.sync(mfcc, bounds, aggregate=np.mean)
    if bounds[0] != frames[0]:
        sync = sync[:, 1:]
    sync = sync[:, : frames.size]
    loud = beat_loudness(y, frames)[None, :]
    # per-row z-scores; loudness counts as much as a whole block (a chorus is louder, first of all)
    blocks = [(sync[1:], 1.0), (chroma[:12], 1.0), (loud, 3.0)]
    out = [w * (b - b.mean(axis=1, keepdims=True)) / (b.std(axis=1, keepdims=True) + 1e-9) for b, w in blocks]
    return np.vstack(out)


def novelty(features: np.ndarray, loudness: np.ndarray, half: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Foote-style novelty (how different the ``half`` beats after each beat are from those before),
    split into a curve for section starts (where it does not get quieter) and one for ends."""
    n = features.shape[1]
    out, rise = np.zeros(n), np.zeros(n)
    for i in range(1, n):
        before = features[:, max(0, i - half) : i].mean(axis=1)
        after = features[:, i : i + half].mean(axis=1)
        out[i] = float(np.linalg.norm(after - before))
        rise[i] = float(loudness[i : i + half].mean() - loudness[max(0, i - half) : i].mean())
    return out * (rise > -1.0), out * (rise < 1.0)


def boundaries(curve: np.ndarray, half: int = 8) -> np.ndarray:
    """Beats where the novelty ``curve`` peaks over +-``half`` beats, above the song's median."""
    floor = 1.1 * float(np.median(curve))
    peaks = [
        i
        for i in range(1, curve.size)
        if curve[i] >= floor and curve[i] == curve[max(0, i - half) : i + half + 1].max()
    ]
    return np.asarray(peaks, int)


def loudness_steps(loudness: np.ndarray, half: int = 8, step_db: float = STEP_DB) -> np.ndarray:
    """Beats where the level of the ``half`` beats after differs from that before by ``step_db`` or more,
    the largest such step within +-``half`` beats: sections change dynamics at their edges (a chorus
    comes in louder), which the timbre novelty can miss when the instruments stay the same."""
    n = loudness.size
    step = np.zeros(n)
    for i in range(half, n - half + 1):
        step[i] = abs(_level(loudness[i : i + half]) - _level(loudness[i - half : i]))
    peaks = [
        i
        for i in range(1, n)
        if step[i] >= step_db and step[i] == step[max(0, i - half) : i + half + 1].max()
    ]
    return np.asarray(peaks, int)


def snap(
    intervals: list[tuple[int, int]],
    starts: np.ndarray,
    ends: np.ndarray,
    steps: np.ndarray | None = None,
    reach: int = 8,
) -> list[tuple[int, int]]:
    """Move every boundary to the strongest novelty within ``reach`` beats (sections start at changes),
    or onto a loudness step (``loudness_steps``) within a bar of it: a change of level is the surer cue."""
    n = starts.size
    steps = np.asarray(steps if steps is not None else [], int)

    def best(curve: np.ndarray, i: int) -> int:
        near = steps[np.abs(steps - i) <= BAR]
        if near.size:
            return int(near[np.argmin(np.abs(near - i))])
        lo, hi = max(0, i - reach), min(n, i + reach + 1)
        return lo + int(np.argmax(curve[lo:hi])) if hi > lo else i

    out = []
    for a, b in intervals:
        a2 = best(starts, a) if a > 0 else 0
        b2 = best(ends, b) if b < n else n
        out.append((a2, b2) if b2 - a2 >= MIN_BEATS // 2 else (a, b))
    return _merge(out)


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of intervals that overlap by more than half the shorter one, or touch (one chorus found
    as two halves: its progression loops inside it)."""
    out: list[list[int]] = []
    for a, b in sorted(intervals):
        if out and (
            (a <= out[-1][1] + 1 and a >= out[-1][1] - 1)
            or min(b, out[-1][1]) - a > 0.5 * min(b - a, out[-1][1] - out[-1][0])
        ):
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]
