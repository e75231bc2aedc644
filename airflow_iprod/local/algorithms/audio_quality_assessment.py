"""AudioQualityAssessment: per-channel speech quality figures, no output file.

The cloud service scores audio with a learned (DNSMOS-like) model. The local engine has no such model
offline, so every figure here is a documented signal measurement, mapped to the same 0-5 scales and
word grades (Excellent >= 4 > Good >= 3 > Fair >= 2 > Poor >= 1 > Bad). The figures are comparable
between files scored by this engine, not with the cloud's numbers.

Per channel (all values strings, as the service returns them):

* ``Loudness(-90dB-0dB)``: active speech level, RMS over the frames WebRTC VAD marks as speech, dBFS.
* ``Integrated Loudness(LUFS)`` (local extra key): ITU-R BS.1770-4 gated integrated loudness of the
  channel alone (pyloudnorm), matching ffmpeg's ebur128 filter on a mono file.
* ``Loudness(0-5)``: 5 within 3 LU of -20 LUFS (broadcast/streaming speech), 0.4 per LU less beyond.
* ``Noisiness(0-5)``: estimated SNR from a minimum-statistics noise floor (10th percentile of band
  powers over time) against the speech frames' band powers; 0 dB -> 0, 40 dB -> 5, linear between.
* ``Coloration(0-5)``: bandwidth and balance of the speech spectrum: the frequency under which 99 %
  of speech energy lies (7 kHz or more scores 5, telephone band about 2.5) less a penalty when the
  low/high band balance is far from typical speech (muffled or tinny).
* ``Discontinuity(0-5)``: dropouts, i.e. stretches of digital silence (>= 20 ms below -80 dBFS)
  that cut abruptly into speech (above -30 dBFS in the 5 ms touching each side, and the samples at
  the edges still a tenth of that RMS, where a natural pause fades to zero);
  5 with none, minus 1.5 per dropout per 10 s.
* ``Bad Mute Ratio(%)``: share of the duration inside such dropouts.
* ``Saturated Ratio(%)``: share of samples in runs of 2+ consecutive samples at >= 99 % of full
  scale (hard clipping). Clipping also lowers the MOS.
* ``Speech Ratio``: share of 30 ms frames WebRTC VAD (mode 2, on a 16 kHz copy) marks as speech, %.
* ``Double Talk Ratio(%)``: share of this channel's speech frames during which another channel
  also has speech (both call parties talking); 0 for mono, where overlapping talkers in one channel
  cannot be told apart by these measurements.
* ``MOS(0-5)``: 0.45 Noisiness + 0.2 Coloration + 0.2 Discontinuity + 0.15 Loudness, less 0.1 per
  % saturated samples (at most 3).
* ``Worst ...``: the lowest value of that score over 3 s windows (1.5 s hop) holding speech.
* ``Tag``: ``Valid`` when the channel lasts at least 1 s and has speech, else ``Invalid``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

VAD_RATE = 16000
VAD_FRAME = 480  # 30 ms at 16 kHz
WINDOW_S = 3.0
HOP_S = 1.5
MUTE_DBFS = -80.0
MIN_MUTE_S = 0.02
SPEECH_EDGE_DBFS = -30.0
EDGE_S = 0.005
CLIP_LEVEL = 0.99
TARGET_LUFS = -20.0


@dataclass
class ChannelReport:
    duration: float
    lufs: float
    speech_level_dbfs: float
    speech_ratio: float  # %
    saturated_ratio: float  # %
    bad_mute_ratio: float  # %
    dropouts: list[tuple[float, float]] = field(default_factory=list)  # (start s, end s)
    clipped_regions: list[tuple[float, float]] = field(default_factory=list)
    speech_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # per 30 ms frame
    scores: dict[str, float] = field(default_factory=dict)
    worst: dict[str, float] = field(default_factory=dict)
    snr_db: float = 0.0
    double_talk: float = 0.0


def grade(score: float) -> str:
    for limit, word in ((4, "Excellent"), (3, "Good"), (2, "Fair"), (1, "Poor")):
        if score >= limit:
            return word
    return "Bad"


def decode(path: Path) -> tuple[np.ndarray, int]:
    """Any audio soundfile or FFmpeg (PyAV) can read -> float32 (samples, channels), rate."""
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        return audio, int(rate)
    except Exception:
        pass
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AlgorithmError("Input: the file has no audio stream; an audio file is required")
            stream = container.streams.audio[0]
            chunks = []
            rate = stream.codec_context.sample_rate
            for frame in container.decode(stream):
                data = frame.to_ndarray()
                data = data.T if frame.format.is_planar else data.reshape(-1, len(frame.layout.channels))
                chunks.append(data.astype(np.float32, copy=False))
    except AlgorithmError:
        raise
    except Exception as exc:
        raise AlgorithmError(
            f"Input: cannot decode audio ({exc}); any format FFmpeg reads is allowed"
        ) from exc
    if not chunks:
        raise AlgorithmError("Input: the audio stream holds no samples")
    audio = np.concatenate(chunks)
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio / float(np.iinfo(audio.dtype).max)
    return audio.astype(np.float32), int(rate)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of True runs."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _vad(x16: np.ndarray) -> np.ndarray:
    import webrtcvad

    vad = webrtcvad.Vad(2)
    pcm = (np.clip(x16, -1, 1) * 32767).astype(np.int16)
    n = len(pcm) // VAD_FRAME
    return np.array(
        [vad.is_speech(pcm[i * VAD_FRAME : (i + 1) * VAD_FRAME].tobytes(), VAD_RATE) for i in range(n)]
    )


def _dbfs(power: float) -> float:
    return float(10 * np.log10(max(power, 1e-12)))


def _band_scores(x16: np.ndarray, speech: np.ndarray) -> tuple[float, float, float]:
    """(SNR dB, noisiness 0-5, coloration 0-5) from a 16 kHz signal and its 30 ms speech mask."""
    n = min(len(speech), len(x16) // VAD_FRAME)
    if n == 0 or not speech[:n].any():
        return 0.0, 0.0, 0.0
    frames = x16[: n * VAD_FRAME].reshape(n, VAD_FRAME) * np.hanning(VAD_FRAME)
    power = np.abs(np.fft.rfft(frames, n=512, axis=1)) ** 2  # 31.25 Hz bins
    edges = np.geomspace(100, 8000, 25)
    bins = np.fft.rfftfreq(512, 1 / VAD_RATE)
    bands = np.stack([power[:, (bins >= lo) & (bins < hi)].sum(1) for lo, hi in itertools.pairwise(edges)], 1)
    noise = np.percentile(bands, 10, axis=0) + 1e-12
    spc = bands[speech[:n]].mean(0)
    sig = np.maximum(spc - noise, 1e-12)
    snr = _dbfs(sig.sum()) - _dbfs(noise.sum())
    noisiness = float(np.clip(snr / 8.0, 0, 5))
    # Coloration: 99 % energy bandwidth of the speech spectrum and its low/high balance.
    spec = np.maximum(power[speech[:n]].mean(0) - np.percentile(power, 10, axis=0), 0)
    cum = np.cumsum(spec) / (spec.sum() + 1e-12)
    bandwidth = float(bins[min(int(np.searchsorted(cum, 0.99)), len(bins) - 1)])
    bw_score = float(np.clip(5 * np.log(max(bandwidth, 300) / 300) / np.log(7000 / 300), 0, 5))
    low = spec[(bins >= 100) & (bins < 1000)].sum() + 1e-12
    high = spec[(bins >= 1000) & (bins < 8000)].sum() + 1e-12
    balance = 10 * np.log10(low / high)  # typical speech: about +5 to +20 dB
    penalty = max(0.0, abs(balance - 12.0) - 10.0) * 0.15
    return snr, noisiness, float(np.clip(bw_score - penalty, 0, 5))


def _loudness_score(lufs: float) -> float:
    if not np.isfinite(lufs):
        return 0.0
    return float(np.clip(5 - 0.4 * max(0.0, abs(lufs - TARGET_LUFS) - 3), 0, 5))


def _dropouts(x: np.ndarray, rate: int) -> list[tuple[int, int]]:
    """Runs of digital silence cut abruptly into speech-level signal.

    A natural pause fades out and in; a dropout is loud right up to its edges, so the level is taken
    over the few milliseconds that touch the gap on each side.
    """
    quiet = np.abs(x) < 10 ** (MUTE_DBFS / 20)
    edge = int(EDGE_S * rate)
    out = []
    for start, stop in _runs(quiet):
        if stop - start < MIN_MUTE_S * rate or start < edge or stop > len(x) - edge:
            continue
        before = float(np.sqrt(np.mean(x[start - edge : start] ** 2)))
        after = float(np.sqrt(np.mean(x[stop : stop + edge] ** 2)))
        loud = min(before, after) > 10 ** (SPEECH_EDGE_DBFS / 20)
        # The signal jumps to/from zero instead of decaying: edge samples are a fair part of the RMS.
        jump = abs(float(x[start - 1])) + abs(float(x[stop])) > 0.1 * (before + after) / 2
        if loud and jump:
            out.append((start, stop))
    return out


def _clipped(x: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    hot = np.abs(x) >= CLIP_LEVEL
    mask = np.zeros(len(x), bool)
    runs = [(a, b) for a, b in _runs(hot) if b - a >= 2]
    for a, b in runs:
        mask[a:b] = True
    return mask, runs


def _merge(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _mos(noise: float, color: float, disc: float, loud: float, saturated_pct: float) -> float:
    base = 0.45 * noise + 0.2 * color + 0.2 * disc + 0.15 * loud
    return float(np.clip(base - min(3.0, 0.1 * saturated_pct), 0, 5))


def _disc_score(count: int, seconds: float) -> float:
    return float(np.clip(5 - 1.5 * count * 10 / max(seconds, 1.0), 0, 5))


def analyse_channel(x: np.ndarray, rate: int) -> ChannelReport:
    import pyloudnorm
    import soxr

    duration = len(x) / rate
    x16 = x if rate == VAD_RATE else soxr.resample(x, rate, VAD_RATE).astype(np.float32)
    speech = _vad(x16) if len(x16) >= VAD_FRAME else np.zeros(0, bool)
    lufs = float("-inf")
    if duration >= 0.4:
        lufs = float(pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64)))
    speech_samples = np.repeat(speech, VAD_FRAME)
    level = _dbfs(float(np.mean(x16[: len(speech_samples)][speech_samples] ** 2))) if speech.any() else -90.0
    clip_mask, clip_runs = _clipped(x)
    drops = _dropouts(x, rate)
    snr, noisiness, coloration = _band_scores(x16, speech)
    loud = _loudness_score(lufs)
    disc = _disc_score(len(drops), duration)
    saturated = 100.0 * clip_mask.mean() if len(x) else 0.0
    report = ChannelReport(
        duration=duration,
        lufs=lufs,
        speech_level_dbfs=float(np.clip(level, -90, 0)),
        speech_ratio=100.0 * float(speech.mean()) if speech.size else 0.0,
        saturated_ratio=saturated,
        bad_mute_ratio=100.0 * sum(b - a for a, b in drops) / max(len(x), 1),
        dropouts=[(a / rate, b / rate) for a, b in drops],
        clipped_regions=[(a / rate, b / rate) for a, b in _merge(clip_runs, int(0.05 * rate))],
        speech_mask=speech,
        snr_db=snr,
    )
    report.scores = {
        "Noisiness": noisiness,
        "Coloration": coloration,
        "Discontinuity": disc,
        "Loudness": loud,
        "MOS": _mos(noisiness, coloration, disc, loud, saturated),
    }
    report.worst = dict(report.scores)
    win, hop = int(WINDOW_S * rate), int(HOP_S * rate)
    win16, hop16 = int(WINDOW_S * VAD_RATE), int(HOP_S * VAD_RATE)
    per_frame = VAD_FRAME
    if len(x) > win:
        for k, start in enumerate(range(0, len(x) - win + 1, hop)):
            s16 = k * hop16
            seg_speech = speech[s16 // per_frame : (s16 + win16) // per_frame]
            if not seg_speech.any():
                continue
            _, n_w, c_w = _band_scores(x16[s16 : s16 + win16], seg_speech)
            seg = x[start : start + win]
            d_w = _disc_score(sum(1 for a, _ in drops if start <= a < start + win), WINDOW_S)
            sat_w = 100.0 * clip_mask[start : start + win].mean()
            m_w = _mos(n_w, c_w, d_w, _loudness_score(_dbfs(float(np.mean(seg**2))) - 0.691), sat_w)
            for key, value in (("Noisiness", n_w), ("Coloration", c_w), ("Discontinuity", d_w), ("MOS", m_w)):
                report.worst[key] = min(report.worst[key], value)
    return report


def assess(audio: np.ndarray, rate: int) -> list[ChannelReport]:
    reports = [analyse_channel(audio[:, ch].astype(np.float32), rate) for ch in range(audio.shape[1])]
    if len(reports) > 1:
        for i, rep in enumerate(reports):
            others = [r.speech_mask for j, r in enumerate(reports) if j != i]
            n = min(len(rep.speech_mask), *(len(o) for o in others))
            mine = rep.speech_mask[:n]
            overlap = mine & np.logical_or.reduce([o[:n] for o in others])
            rep.double_talk = 100.0 * overlap.sum() / max(int(mine.sum()), 1)
    return reports


def _f(value: float) -> str:
    return f"{value:.2f}"


_DIMENSIONS = ("MOS", "Discontinuity", "Loudness", "Noisiness", "Coloration")  # in the Result's order


def to_result(reports: list[ChannelReport], input_name: str) -> list[dict[str, str]]:
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    rows = []
    for ch, rep in enumerate(reports, start=1):
        s, w = rep.scores, rep.worst
        row: dict[str, Any] = {"Channel": str(ch)}
        for dim in _DIMENSIONS:  # grade, score, then the worst window (Loudness: the speech level)
            row[dim] = grade(s[dim])
            row[f"{dim}(0-5)"] = _f(s[dim])
            if dim == "Loudness":
                row["Loudness(-90dB-0dB)"] = _f(rep.speech_level_dbfs)
            else:
                row[f"Worst {dim}(0-5)"] = _f(w[dim])
        rows.append(
            {
                **row,
                "Speech Ratio": _f(rep.speech_ratio),
                "Saturated Ratio(%)": _f(rep.saturated_ratio),
                "Bad Mute Ratio(%)": _f(rep.bad_mute_ratio),
                "Double Talk Ratio(%)": _f(rep.double_talk),
                "Total Duration": _f(rep.duration),
                "Tag": "Valid" if rep.duration >= 1.0 and rep.speech_ratio > 0 else "Invalid",
                "Time": now,
                "Input": input_name,
                "Integrated Loudness(LUFS)": _f(rep.lufs) if np.isfinite(rep.lufs) else "-inf",
            }
        )
    return rows


def run(ctx: JobContext) -> AlgorithmResult:
    audio, rate = decode(ctx.input_path)
    if audio.size == 0:
        raise AlgorithmError("Input: the audio holds no samples; AudioQualityAssessment needs audio")
    ctx.log(f"assessing {audio.shape[1]} channel(s), {len(audio) / rate:.2f} s at {rate} Hz")
    # The cloud names the input object here; the engine's scratch path is no business of the user's.
    name = ctx.input_url or ctx.input_path.name
    return AlgorithmResult(outputs=[], result=to_result(assess(audio, rate), name))
