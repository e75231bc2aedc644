"""VideoClip: a video summary made of whole shots.

Shots come from our hard-cut detector (``_shots``). Each shot gets an information score (edge
density = detail shown, colour-histogram entropy, motion inside the shot) and shots are picked
greedily by score times novelty (colour distance to shots already picked) until about 30% of the
duration is used. The picked shots are cut out in their original order into one MP4 with audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from airflow_iprod.local.algorithms import _shots, _video
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

SUMMARY_SHARE = 0.30  # of the source duration
MIN_SHOT = 0.4  # seconds; shorter shots are flashes, not content


@dataclass
class Shot:
    start: float
    end: float
    info: float
    hist: np.ndarray

    @property
    def length(self) -> float:
        return self.end - self.start


def _describe(det: _shots.ShotDetector, spans: list[tuple[float, float]]) -> list[Shot]:
    times = np.asarray(det.times)
    scores = np.asarray(det.scores)
    detail = np.asarray(det.detail)
    hists = np.stack(det.hists)
    out: list[Shot] = []
    for a, b in spans:
        idx = np.nonzero((times >= a - 1e-6) & (times < b - 1e-6))[0]
        if idx.size == 0:
            continue
        h = hists[idx].mean(axis=0)
        entropy = float(-(h[h > 0] * np.log2(h[h > 0])).sum()) / np.log2(h.size)
        motion = float(np.median(scores[idx[1:]])) if idx.size > 1 else 0.0
        info = float(detail[idx].mean()) * 4 + entropy + min(motion, 0.3)
        out.append(Shot(a, b, info, h))
    return out


def select_shots(shots: list[Shot], budget: float) -> list[Shot]:
    """Greedy: best information x novelty first, while the total stays within ``budget`` seconds."""
    chosen: list[Shot] = []
    used = 0.0
    candidates = [s for s in shots if s.length >= MIN_SHOT] or list(shots)
    while True:
        best: tuple[float, Shot] | None = None
        for shot in candidates:
            if shot in chosen or used + shot.length > budget + 1e-6:
                continue
            novelty = min((0.5 * float(np.abs(shot.hist - c.hist).sum()) for c in chosen), default=1.0)
            gain = shot.info * (0.3 + novelty)
            if best is None or gain > best[0]:
                best = (gain, shot)
        if best is None:
            break
        chosen.append(best[1])
        used += best[1].length
    return sorted(chosen, key=lambda s: s.start)


def run(ctx: JobContext) -> AlgorithmResult:
    info = _video.probe(ctx.input_path)
    if info.duration <= 0:
        raise AlgorithmError("Input: video duration is unknown or zero; a video with frames is required")
    det = _shots.detect(ctx.input_path, ctx.threads)
    if not det.times:
        raise AlgorithmError("Input: no video frame could be decoded")
    end = max(info.duration, det.times[-1] + 1.0 / float(info.fps))
    shots = _describe(det, det.shots(end))
    ctx.log(f"{len(shots)} shots in {end:.2f} s")
    budget = SUMMARY_SHARE * end
    picked = select_shots(shots, budget)
    if not picked:
        # Every shot is longer than the budget (e.g. a single-shot video): the only honest summary
        # shorter than the source is the middle of the most informative shot.
        best = max(shots, key=lambda s: s.info)
        mid = (best.start + best.end) / 2
        picked = [
            Shot(max(best.start, mid - budget / 2), min(best.end, mid + budget / 2), best.info, best.hist)
        ]
    target = ctx.new_output(ext=".mp4")
    _video.cut_segments(ctx.input_path, target.path, [(s.start, s.end) for s in picked], threads=ctx.threads)
    summary = [{"StartTime": f"{s.start:.2f}", "EndTime": f"{s.end:.2f}"} for s in picked]
    return AlgorithmResult(outputs=[target], result={"VideoSummaryList": summary})
