"""Beats, bar lines (downbeats) and meter of music, shared by AudioBeatDetection and MusicSegmentDetect.

Beats: librosa's onset envelope and dynamic-programming tracker, run at the metrical levels related to
its tempo estimate that the envelope really repeats at; the level chosen is the one a drummer counts
(every pulse accented, subdivisions weaker), climbing from a subdivision to the beat when the
kick/bass band accents only every 2nd or 3rd pulse of it. The beats are then re-walked at both ends
(the tracker trims weak beats at the edges, which real songs with a soft intro still have, and bends
its last beats towards the last onset). Downbeats: each beat gets
a "bar starts here" strength from the harmonic change around it (chords mostly change at bar lines) and
its low-frequency accent (kick and bass land on the one); the meter (3 or 4 beats) and the phase are
the ones whose comb over that strength stands out most, and a Viterbi pass over bar positions lets the
phase recover where the tracker skipped or doubled a beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SR = 22050
HOP = 512


@dataclass
class Rhythm:
    tempo: float  # beats per minute
    beat_frames: np.ndarray  # onset-envelope frames (hop HOP at SR)
    beat_times: np.ndarray  # seconds
    downbeat_index: np.ndarray  # indices into beat_times
    meter: int  # beats per bar

    @property
    def downbeat_times(self) -> np.ndarray:
        return self.beat_times[self.downbeat_index]


def _trim_unsteady_ends(beats: np.ndarray) -> np.ndarray:
    """Drop beats at either end whose gap to the next one is off the median period by over 8%.

    At the end of a piece (a last chord ringing on, no more drums) the tracker, bound to reach the
    last onset, squeezes or stretches its final beats; ``_extend_edges`` then re-walks that stretch
    at the song's own period.
    """
    if beats.size < 6:
        return beats
    gaps = np.diff(beats).astype(float)
    period = float(np.median(gaps))
    steady = np.abs(gaps - period) <= 0.08 * period
    lo, hi = 0, gaps.size
    while lo < hi and not steady[lo]:
        lo += 1
    while hi > lo and not steady[hi - 1]:
        hi -= 1
    return beats[lo : hi + 1] if hi - lo >= 3 else beats


def _extend_edges(env: np.ndarray, beats: np.ndarray, floor: float) -> np.ndarray:
    """Add beats before the first / after the last tracked one while the envelope still pulses there."""
    if beats.size < 4:
        return beats
    period = float(np.median(np.diff(beats)))
    slack = max(1, round(period / 8))

    def walk(start: int, step: float) -> list[int]:
        found, pos = [], float(start)
        while True:
            pos += step
            lo, hi = round(pos) - slack, round(pos) + slack + 1
            if lo < 0 or hi > env.size:
                return found
            k = lo + int(np.argmax(env[lo:hi]))
            if env[k] < floor:
                return found
            found.append(k)
            pos = float(k)

    before = walk(int(beats[0]), -period)[::-1]
    after = walk(int(beats[-1]), period)
    return np.concatenate([np.array(before, int), beats, np.array(after, int)]).astype(int)


# Metrical levels tried around librosa's tempo estimate (which leans to 120 BPM and so picks the
# eighth note of slow songs and the half note of fast ones, and a dotted level in 6/8). 3/4 and 4/3
# reach the dotted-quarter beat of 6/8 from an estimate of four eighths (a half-bar-and-an-eighth
# pulse that the bass and broken chords of compound time often make the strongest periodicity).
_LEVELS = (1 / 3, 1 / 2, 2 / 3, 3 / 4, 1.0, 4 / 3, 3 / 2, 2.0, 3.0)
# 200 BPM and up is a double-time count of a song nearer 100 (a tempo prior helped there but lost more
# cells at 60 BPM than it won)
MIN_BPM, MAX_BPM = 50.0, 200.0
# A level is only tried if the onset envelope really repeats at its period: its autocorrelation
# (tempogram) there at least this share of that at librosa's estimate. The tracker follows any tempo
# it is given, and an off-grid track can look evenly accented to ``level_score``.
MIN_SALIENCE = 0.5
# A level is a subdivision of the beat when nothing sounds between its pulses (the mix's accent
# halfway or a third of the way between them under EMPTY x its pulses': it is the fastest pulse in the
# music) and, grouping its pulses in 2s (or 3s), the kick/bass band accents one pulse of each group
# only (the others below LOW x it) and the mix as a whole does too (the others below MIX x). The mix
# bar is looser for 3s: broken chords and hats on every eighth of 6/8 keep the eighths nearly level in
# the mix, where only the low band still tells. A real beat is nearly always divided by something
# (hats, strums, a walking line), and a 4/4 beat with the kick on 1 and 3 only keeps a backbeat.
EMPTY = 0.06
_SUBDIVISION = {2: (0.6, 0.65), 3: (0.3, 0.8)}  # k: (LOW, MIX)


def _accent_at(accent: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Peak accent within +-2 frames (+-46 ms) of each (fractional) frame position."""
    out = [
        accent[max(0, round(p) - 2) : round(p) + 3].max(initial=0.0)
        for p in positions
        if 0 <= p < accent.size
    ]
    return np.asarray(out, float)


def level_score(bands: list[np.ndarray], frames: np.ndarray) -> float:
    """How much ``frames`` look like *the* beat: every pulse accented, the subdivisions weaker.

    The beat a drummer counts is the fastest pulse accented on every beat (kick or snare on each one,
    hi-hats between). A level too fast alternates strong and weak pulses (low uniformity); a level too
    slow has a strong pulse half or a third of the way between its beats. ``bands`` are onset
    envelopes of frequency bands; a pulse's accent is its strongest band, each band scaled by its
    strongest phase, so a boomy kick and a thin clap both count as accented.
    """
    if frames.size < 6:
        return 0.0
    gaps = np.diff(frames).astype(float)
    on_all, sub_all = [], []
    for env in bands:
        on_b = _accent_at(env, frames)
        ref = max(float(np.median(on_b[p::k])) for k in (2, 3) for p in range(k)) + 1e-9
        on_all.append(on_b / ref)
        sub_all.append([_accent_at(env, frames[:-1] + gaps * f) / ref for f in (1 / 2, 1 / 3, 2 / 3)])
    on = np.max(on_all, axis=0)
    sub = max(float(np.median(np.max([s[i] for s in sub_all], axis=0))) for i in range(3)) / (
        float(np.median(on)) + 1e-9
    )
    uniform = min(
        min(float(np.median(on[p::k])) for p in range(k))
        / (max(float(np.median(on[p::k])) for p in range(k)) + 1e-9)
        for k in (2, 3)
    )
    return uniform * max(0.0, 1.0 - sub)


def accent_envelopes(y: np.ndarray, sr: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(onset envelope, accent bands): librosa's mel-flux onset strength over all bands, and the
    flux of the low bands below ~250 Hz (kick and bass) beside it."""
    import librosa

    mel = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=sr, hop_length=HOP, n_mels=64, fmax=8000)
    )
    env = librosa.onset.onset_strength(S=mel, sr=sr, hop_length=HOP)
    low = librosa.onset.onset_strength(S=mel[:8], sr=sr, hop_length=HOP)
    return env, [env, low]


def _group_contrast(env: np.ndarray, frames: np.ndarray, k: int) -> float:
    """Grouping ``frames`` in ``k``s: median accent off the strongest phase / median accent on it."""
    on = _accent_at(env, frames)
    if on.size < 2 * k:
        return 1.0
    best = int(np.argmax([on[p::k].mean() for p in range(k)]))
    off = np.delete(on, np.arange(best, on.size, k))
    return float(np.median(off)) / (float(np.median(on[best::k])) + 1e-9)


def _between(env: np.ndarray, frames: np.ndarray) -> float:
    """Accent halfway / a third / two thirds between pulses (the strongest of the three), relative to
    the pulses' own; medians over the piece."""
    if frames.size < 3:
        return 1.0
    gaps = np.diff(frames).astype(float)
    on = float(np.median(_accent_at(env, frames))) + 1e-9
    inner = (_accent_at(env, frames[:-1] + gaps * f) for f in (1 / 2, 1 / 3, 2 / 3))
    return max(float(np.median(a)) for a in inner) / on


def _up_to_the_beat(tracks: dict[float, np.ndarray], bpm: float, env: np.ndarray, low: np.ndarray) -> float:
    """From a chosen level, step to the level 2 or 3 times slower while the chosen one is a subdivision
    (see ``_SUBDIVISION``) and that slower level was tracked."""
    for _ in range(len(tracks)):
        for k, (low_bar, mix_bar) in _SUBDIVISION.items():
            slower = [b for b in tracks if abs(b * k / bpm - 1) < 0.06]
            frames = tracks[bpm]
            if (
                slower
                and _between(env, frames) < EMPTY
                and _group_contrast(low, frames, k) < low_bar
                and _group_contrast(env, frames, k) < mix_bar
            ):
                bpm = slower[0]
                break
        else:
            return bpm
    return bpm


def track_beats(y: np.ndarray, sr: int = SR) -> tuple[float, np.ndarray, np.ndarray]:
    """(tempo in BPM, beat frames, onset envelope) of mono ``y``.

    librosa's tracker runs at each metrical level related to its tempo estimate (``_LEVELS`` within
    50-200 BPM) that is a real periodicity of the envelope; the level whose beats score best in
    ``level_score`` wins, then ``_up_to_the_beat`` climbs from a subdivision to the beat it divides.
    """
    import librosa

    env, accent = accent_envelopes(y, sr)
    if y.size < sr or not np.any(env > 0):
        return 0.0, np.zeros(0, int), env
    win = int(librosa.time_to_frames(8.0, sr=sr, hop_length=HOP))  # librosa.feature.tempo's ac_size
    tg = librosa.feature.tempogram(onset_envelope=env, sr=sr, hop_length=HOP, win_length=win)
    base = float(np.atleast_1d(librosa.feature.tempo(tg=tg, sr=sr, hop_length=HOP))[0])
    periodicity = tg.mean(axis=1)
    lag_bpm = librosa.tempo_frequencies(tg.shape[0], sr=sr, hop_length=HOP)

    def salience(bpm: float) -> float:
        # the lags within 3% of the period, and at least the two whole lags around it (at 180 BPM
        # one frame of lag is 7% of the period)
        lag = 60.0 * sr / (HOP * bpm)
        near = (lag_bpm >= 0.97 * bpm) & (lag_bpm <= 1.03 * bpm)
        near[int(np.floor(lag)) : int(np.ceil(lag)) + 1] = True
        return float(periodicity[near].max(initial=0.0))

    floor = MIN_SALIENCE * salience(base)
    tracks: dict[float, np.ndarray] = {}
    scores: dict[float, float] = {}
    for ratio in _LEVELS:
        bpm = base * ratio
        if not MIN_BPM <= bpm <= MAX_BPM or salience(bpm) < floor:
            continue
        _, cand = librosa.beat.beat_track(
            onset_envelope=env, sr=sr, hop_length=HOP, bpm=bpm, tightness=200, units="frames"
        )
        tracks[bpm] = np.asarray(cand, int)
        scores[bpm] = level_score(accent, tracks[bpm])
    frames = np.zeros(0, int)
    if tracks:
        chosen = max(scores, key=lambda b: scores[b])  # the first of equal scores: _LEVELS order
        frames = tracks[_up_to_the_beat(tracks, chosen, env, accent[1])]
    if frames.size:
        strength = env[frames]
        frames = _extend_edges(env, _trim_unsteady_ends(frames), floor=0.3 * float(np.median(strength)))
    bpm = base
    if frames.size >= 2:
        bpm = 60.0 / float(np.median(np.diff(frames)) * HOP / sr)
    return bpm, frames, env


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x))
    return (x - float(np.mean(x))) / sd if sd > 1e-9 else np.zeros_like(x)


def downbeat_strength(y: np.ndarray, sr: int, frames: np.ndarray) -> np.ndarray:
    """Per beat: how much it looks like the first beat of a bar (z-scored, higher = more likely)."""
    import librosa

    n_frames = int(np.ceil(y.size / HOP)) + 1
    bounds = librosa.util.fix_frames(frames, x_min=0, x_max=n_frames)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, hop_length=HOP, n_fft=4096)
    sync = librosa.util.sync(chroma, bounds, aggregate=np.median)
    # bounds start at 0: sync column k+1 is the span that starts at beat k
    if bounds[0] != frames[0]:
        sync = sync[:, 1:]
    sync = sync[:, : frames.size]
    sync = sync / (np.linalg.norm(sync, axis=0, keepdims=True) + 1e-9)
    # harmonic change: chroma of the beat after vs the two beats before (a chord held through the bar
    # gives near-zero change inside it)
    change = np.zeros(frames.size)
    for i in range(1, frames.size):
        before = sync[:, max(0, i - 2) : i].mean(axis=1)
        after = sync[:, i : i + 2].mean(axis=1)
        denom = np.linalg.norm(before) * np.linalg.norm(after) + 1e-9
        change[i] = 1.0 - float(before @ after) / denom
    change[0] = np.median(change[1:]) if frames.size > 1 else 0.0
    # low-frequency accent: onset strength restricted to the lowest mel bands (kick, bass entries)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, hop_length=HOP, n_mels=64, fmax=8000)
    low = librosa.onset.onset_strength(S=librosa.power_to_db(mel[:6]), sr=sr, hop_length=HOP)
    span = 2
    accent = np.array([low[max(0, f - span) : f + span + 1].max(initial=0.0) for f in frames])
    return _zscore(change) + 0.5 * _zscore(accent)


def _comb_contrast(strength: np.ndarray, meter: int) -> tuple[float, int]:
    """Best phase of a ``meter``-beat comb over ``strength`` and how far it stands above the rest."""
    best, phase = -np.inf, 0
    for p in range(meter):
        on = strength[p::meter]
        off = np.delete(strength, np.arange(p, strength.size, meter))
        if on.size == 0 or off.size == 0:
            continue
        score = float(on.mean() - off.mean())
        if score > best:
            best, phase = score, p
    return best, phase


def _viterbi_positions(strength: np.ndarray, meter: int, phase: int) -> np.ndarray:
    """Bar position of every beat; mostly +1 per beat, with a rare reset where the evidence insists."""
    n = strength.size
    emit = np.zeros((n, meter))
    emit[:, 0] = strength  # log-likelihood ratio-like: a downbeat state is rewarded by the strength
    log_keep, log_jump = np.log(0.98), np.log(0.02 / max(1, meter - 1))
    score = np.full(meter, log_jump)
    score[(-phase) % meter] = 0.0  # the global comb's phase is the prior for the first beat
    score += emit[0]
    back = np.zeros((n, meter), int)
    for i in range(1, n):
        # from state s the expected next state is (s + 1) % meter
        trans = np.full((meter, meter), log_jump)
        trans[np.arange(meter), (np.arange(meter) + 1) % meter] = log_keep
        cand = score[:, None] + trans
        back[i] = np.argmax(cand, axis=0)
        score = cand[back[i], np.arange(meter)] + emit[i]
    states = np.zeros(n, int)
    states[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        states[i - 1] = back[i, states[i]]
    return states


def analyse(y: np.ndarray, sr: int = SR) -> Rhythm:
    tempo, frames, _ = track_beats(y, sr)
    times = np.asarray(frames * HOP / sr, float)
    if frames.size < 6:
        return Rhythm(tempo, frames, times, np.zeros(0, int), 4)
    strength = downbeat_strength(y, sr, frames)
    candidates = {m: _comb_contrast(strength, m) for m in (3, 4)}
    # 4/4 is far more common: 3/4 must beat it clearly before it is believed
    meter = 3 if candidates[3][0] > 1.25 * candidates[4][0] else 4
    states = _viterbi_positions(strength, meter, candidates[meter][1])
    return Rhythm(tempo, frames, times, np.flatnonzero(states == 0), meter)
