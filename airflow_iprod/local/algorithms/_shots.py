"""Hard-cut shot detection for Cover and VideoClip (our own; scenedetect is not used).

Every decoded frame, shrunk to a thumbnail, gives a change score against the previous frame:
half the L1 distance of HSV colour histograms, plus the mean absolute luma difference, plus the
edge change ratio (edge pixels that appear or vanish). A cut is a score that is a local maximum and
stands well above its neighbourhood (adaptive: median + k * MAD of a sliding window) and above an
absolute floor, so steady motion, zooms and flicker inside a shot do not fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

THUMB = (128, 72)  # width, height of the analysis thumbnail


def _features(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [12, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    hist /= max(1.0, float(hist.sum()))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    edges = cv2.dilate(cv2.Canny(gray, 60, 160), np.ones((3, 3), np.uint8)) > 0
    return hist, gray.astype(np.float32), edges


def _ecr(prev: np.ndarray, cur: np.ndarray) -> float:
    """Edge change ratio: the larger of the fractions of entering and exiting edge pixels."""
    n_prev, n_cur = int(prev.sum()), int(cur.sum())
    if n_prev + n_cur < 20:
        return 0.0
    entering = float((cur & ~prev).sum()) / max(1, n_cur)
    exiting = float((prev & ~cur).sum()) / max(1, n_prev)
    return max(entering, exiting)


@dataclass
class ShotDetector:
    """Feed thumbnails in frame order with ``add``; then ``cuts()`` gives the first frame of each new shot."""

    floor: float = 0.5  # no cut below this score whatever the neighbourhood
    k: float = 6.0  # how many MADs above the local median a cut must stand
    window: int = 12  # frames either side for the local statistics
    scores: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    hists: list[np.ndarray] = field(default_factory=list)  # per frame, to compare shots later
    detail: list[float] = field(default_factory=list)  # per frame edge density (how much is shown)
    _prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, thumb_bgr: np.ndarray, t: float) -> float:
        feats = _features(thumb_bgr)
        score = 0.0
        if self._prev is not None:
            hist_d = 0.5 * float(np.abs(feats[0] - self._prev[0]).sum())
            pix_d = float(np.abs(feats[1] - self._prev[1]).mean()) / 255.0
            score = hist_d + 2.0 * pix_d + 0.5 * _ecr(self._prev[2], feats[2])
        self._prev = feats
        self.hists.append(feats[0].astype(np.float32))
        self.detail.append(float(feats[2].mean()))
        self.scores.append(score)
        self.times.append(t)
        return score

    def cuts(self) -> list[int]:
        s = np.asarray(self.scores, np.float64)
        n = len(s)
        found: list[int] = []
        for i in range(1, n):
            if s[i] < self.floor:
                continue
            lo, hi = max(1, i - self.window), min(n, i + self.window + 1)
            local = np.concatenate([s[lo : max(lo, i - 1)], s[min(hi, i + 2) : hi]])
            if s[i] < s[max(1, i - 2) : i + 3].max():
                continue  # not the peak of its neighbourhood
            if local.size:
                med = float(np.median(local))
                mad = float(np.median(np.abs(local - med))) + 0.01
                if s[i] < med + self.k * mad or s[i] < 2.5 * med:
                    continue
            if found and i - found[-1] < 3:
                continue  # two cuts within 3 frames: keep the first
            found.append(i)
        return found

    def shots(self, duration: float) -> list[tuple[float, float]]:
        """[start, end) in seconds of every shot, covering the whole video."""
        if not self.times:
            return []
        bounds = [0.0, *(self.times[i] for i in self.cuts()), max(duration, self.times[-1])]
        return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] > bounds[i]]


def detect(path: Path, threads: int = 1) -> ShotDetector:
    """Decode every frame of ``path`` as a thumbnail and run the detector over it."""
    from airflow_iprod.local.algorithms._video import iter_frames

    detector = ShotDetector()
    for frame in iter_frames(path, threads=threads, size=THUMB):
        detector.add(frame.image, frame.time)
    return detector
