"""Frontal face detection and tracking for the local video/image algorithms (FaceBeauty, H2V, matting).

OpenCV 5 (the only OpenCV here) dropped the Haar/LBP ``CascadeClassifier`` and its ``FaceDetectorYN``
needs a model file no installed wheel carries. scikit-image ships OpenCV's LBP frontal-face cascade
inside its wheel (``skimage.data.lbp_frontal_face_cascade_filename()``) and runs it with its own
``Cascade`` class, so faces are found offline. An LBP cascade fires several times around a true face
and sometimes once on clutter, so hits of two scans with different scale steps are grouped and a
face needs both to agree plus some skin-coloured pixels (what OpenCV's ``minNeighbors`` did).
It finds frontal faces only, roughly upright, >= ~24 px at the analysis scale; the cloud's learned
detectors also find profiles.

Cost: the exhaustive scan (window step 1) of a whole frame took 0.4-1.3 s of CPU. A full scan is now a
coarse candidate pass (window step 2, one hit enough) over the skin-coloured regions, then the
exhaustive two-grid scan only around each candidate, which alone decides (on 90 test images it
found every face the whole-frame scan found and 4 fewer false hits, at ~1/4 of the CPU). Video uses
``FaceTracker``: full scans every 2 s and, in between, the exhaustive scan around each tracked face.
The grey image the cascade reads is computed once per frame (``FrameFaces``) and sliced per scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

ANALYSIS_SIDE = 400  # long side of the image the cascade scans (cost grows with the area)
MIN_FACE = 24  # smallest face side at the analysis scale, pixels
SCALE_FACTORS = (1.1, 1.2)  # two scale grids whose hits must agree
COARSE = ((1.1, 2.0, 1),)  # candidate passes: scale factor, window step ratio, hits needed
CANDIDATE_SIZES = (0.6, 1.7)  # sizes a candidate's confirming scan tries, x the candidate's size
NEAR_SIZES = (0.6, 1.7)  # sizes a tracked face is searched at in the next sample, x its size
NEAR_MARGIN = 0.5  # how far (x its size) a tracked face is searched around where it should be


@dataclass(frozen=True)
class Face:
    x: float
    y: float
    w: float
    h: float
    hits: int  # raw cascade hits grouped into this face (confidence)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def scaled(self, s: float) -> Face:
        return Face(self.x * s, self.y * s, self.w * s, self.h * s, self.hits)


@lru_cache(maxsize=1)
def _cascade() -> Any:
    from skimage import data
    from skimage.feature import Cascade

    return Cascade(data.lbp_frontal_face_cascade_filename())


def iou(a: Face, b: Face) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def skin_mask(bgr: np.ndarray) -> np.ndarray:
    """Skin-coloured pixels (uint8 0/255) by the classic YCrCb box; loose on purpose (all skin tones)."""
    ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    return cv2.inRange(ycc, (30, 133, 77), (255, 180, 135))


def _group(raw: list[Face], min_hits: int) -> list[Face]:
    groups: list[list[Face]] = []
    for f in sorted(raw, key=lambda f: -f.w):
        for g in groups:
            if iou(g[0], f) > 0.3 or (abs(g[0].cx - f.cx) < g[0].w / 3 and abs(g[0].cy - f.cy) < g[0].h / 3):
                g.append(f)
                break
        else:
            groups.append([f])
    out = []
    for g in groups:
        if len(g) >= min_hits:
            arr = np.array([[f.x, f.y, f.w, f.h] for f in g])
            x, y, w, h = np.median(arr, axis=0)
            out.append(Face(float(x), float(y), float(w), float(h), len(g)))
    return out


def _skin_regions(skin: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) around skin-coloured blobs big enough to hold a face, padded for hair/edges.

    Scanning only these is what keeps the cascade affordable on video: its cost grows with the
    scanned area, and a face without skin-coloured pixels is rejected anyway.
    """
    h, w = skin.shape
    blobs = cv2.dilate(skin, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(blobs)
    boxes: list[list[int]] = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < 0.25 * MIN_FACE * MIN_FACE or max(bw, bh) < MIN_FACE * 0.7:
            continue
        pad = int(MIN_FACE * 1.5)  # hair, forehead and cheeks in shade around the skin blob
        boxes.append([max(0, x - pad), max(0, y - pad), min(w, x + bw + pad), min(h, y + bh + pad)])
    merged = True
    while merged:  # overlapping scan boxes would scan the same pixels twice
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [(a, b, c, d) for a, b, c, d in boxes]


def _snap(size: float, factor: float) -> float:
    """``size`` rounded down onto the scale grid a full scan uses (24 px x factor**k), so that a local
    scan tries the same window sizes as a full one and finds the same hits."""
    k = np.floor(np.log(max(size, MIN_FACE) / MIN_FACE) / np.log(factor) + 1e-6)
    return float(MIN_FACE * factor**k)


class FrameFaces:
    """One image prepared for face search: the analysis-scale copy, its grey (the cascade's own
    luminance weights, so skimage does not convert again per scan) and its skin mask, computed once
    and shared by the full scan and every local re-detection on this frame."""

    def __init__(self, bgr: np.ndarray, side: int = ANALYSIS_SIDE) -> None:
        h, w = bgr.shape[:2]
        self.scale = min(1.0, side / max(h, w))
        self.small = (
            cv2.resize(bgr, (round(w * self.scale), round(h * self.scale)), interpolation=cv2.INTER_AREA)
            if self.scale < 1
            else bgr
        )
        # skimage's rgb2gray weights (Rec. 709) in float64, exactly what it would compute itself.
        self.grey = self.small.astype(np.float64) @ np.array([0.0721, 0.7154, 0.2125]) / 255.0
        self.skin = skin_mask(self.small)

    def _scan(
        self,
        box: tuple[int, int, int, int],
        lo: float,
        hi: float,
        factor: float,
        step: float,
        neighbours: int,
    ) -> list[Face]:
        x0, y0, x1, y1 = box
        hi = min(hi, x1 - x0, y1 - y0)
        if hi < max(lo, MIN_FACE):
            return []
        hits = _cascade().detect_multi_scale(
            img=self.grey[y0:y1, x0:x1],
            scale_factor=factor,
            step_ratio=step,
            min_size=(lo, lo),
            max_size=(hi, hi),
            min_neighbor_number=neighbours,
        )
        return [
            Face(float(d["c"] + x0), float(d["r"] + y0), float(d["width"]), float(d["height"]), 1)
            for d in hits
        ]

    def _confirm(self, raw: list[Face], min_hits: int, min_skin: float) -> list[Face]:
        faces = []
        for f in _group(raw, min_hits):
            fx0, fy0 = int(f.x + f.w * 0.2), int(f.y + f.h * 0.25)
            core = self.skin[fy0 : int(f.y + f.h * 0.9), fx0 : int(f.x + f.w * 0.8)]
            if core.size and float(np.mean(core > 0)) >= min_skin:
                faces.append(f)
        return faces

    def _near(
        self, f: Face, margin: float, sizes: tuple[float, float], min_hits: int, min_skin: float
    ) -> list[Face]:
        """The exhaustive two-grid scan, only in a window around ``f`` (analysis coordinates) and only
        for sizes from 0.6x to 1.7x its size: a few ms instead of a whole-frame scan."""
        h, w = self.grey.shape
        pad = margin * f.w
        box = (
            max(0, int(f.x - pad)),
            max(0, int(f.y - pad)),
            min(w, int(np.ceil(f.x + f.w + pad))),
            min(h, int(np.ceil(f.y + f.h + pad))),
        )
        raw: list[Face] = []
        for factor in SCALE_FACTORS:
            raw += self._scan(box, _snap(sizes[0] * f.w, factor), sizes[1] * f.w, factor, 1, 4)
        return self._confirm(raw, min_hits, min_skin)

    def full(self, *, min_hits: int = 2, min_skin: float = 0.2) -> list[Face]:
        """Every face (image coordinates, largest first).

        A coarse pass (window step 2, coarser scale grid, any single hit) over the skin-coloured
        regions proposes candidates at a fraction of the cost; each candidate is then confirmed by the
        exhaustive scan around it, which is what decides, exactly as a whole-frame exhaustive scan would.
        """
        cands: list[Face] = []
        for box in _skin_regions(self.skin):
            for coarse in COARSE:
                cands += self._scan(box, MIN_FACE, min(box[2] - box[0], box[3] - box[1]), *coarse)
        found: list[Face] = []
        for c in sorted(cands, key=lambda f: -f.w):
            if any(abs(c.cx - g.cx) < g.w / 2 and abs(c.cy - g.cy) < g.h / 2 for g in found):
                continue  # this candidate's face is confirmed already
            near = self._near(c, 0.5, CANDIDATE_SIZES, min_hits, min_skin)
            found += [g for g in near if all(iou(g, o) < 0.3 for o in found)]
        return sorted((f.scaled(1 / self.scale) for f in found), key=lambda f: -f.w * f.h)

    def near(
        self, face: Face, *, margin: float = NEAR_MARGIN, min_hits: int = 2, min_skin: float = 0.2
    ) -> Face | None:
        """``face`` (image coordinates, e.g. from an earlier frame) re-found in this frame, or None."""
        f = face.scaled(self.scale)
        if f.w < MIN_FACE * 0.8:
            return None
        found = self._near(f, margin, NEAR_SIZES, min_hits, min_skin)
        if not found:
            return None
        best = min(found, key=lambda g: np.hypot(g.cx - f.cx, g.cy - f.cy) + abs(g.w - f.w))
        return best.scaled(1 / self.scale)


def detect(bgr: np.ndarray, *, min_hits: int = 2, min_skin: float = 0.2) -> list[Face]:
    """Faces in a BGR image, in its pixel coordinates, largest first."""
    return FrameFaces(bgr).full(min_hits=min_hits, min_skin=min_skin)


@dataclass
class Track:
    times: list[float]
    faces: list[Face]

    def at(self, t: float, hold: float) -> Face | None:
        """The face at time ``t``: linear between detections, held ``hold`` s past either end."""
        ts = self.times
        if t < ts[0] - hold or t > ts[-1] + hold:
            return None
        if t <= ts[0]:
            return self.faces[0]
        if t >= ts[-1]:
            return self.faces[-1]
        i = int(np.searchsorted(ts, t)) - 1
        a, b = self.faces[i], self.faces[i + 1]
        k = (t - ts[i]) / (ts[i + 1] - ts[i]) if ts[i + 1] > ts[i] else 0.0
        return Face(*(float(getattr(a, n) + k * (getattr(b, n) - getattr(a, n))) for n in "xywh"), a.hits)


def build_tracks(samples: list[tuple[float, list[Face]]], max_gap: float = 1.5) -> list[Track]:
    """Link per-sample detections into tracks (nearest centre, similar size), smooth sizes, drop blips.

    A track seen in only one sample with no neighbour is dropped when the video has several samples:
    a real face stays on screen for more than one sampling interval, a false hit usually does not.
    """
    tracks: list[Track] = []
    for t, faces in samples:
        used: set[int] = set()
        for f in faces:
            best, best_d = None, 0.0
            for i, tr in enumerate(tracks):
                last = tr.faces[-1]
                if i in used or t - tr.times[-1] > max_gap:
                    continue
                d = float(np.hypot(f.cx - last.cx, f.cy - last.cy)) / max(last.w, 1.0)
                if d < 1.0 and 0.6 < f.w / max(last.w, 1.0) < 1.6 and (best is None or d < best_d):
                    best, best_d = i, d
            if best is None:
                tracks.append(Track([t], [f]))
                used.add(len(tracks) - 1)
            else:
                tracks[best].times.append(t)
                tracks[best].faces.append(f)
                used.add(best)
    if len(samples) >= 3:
        tracks = [tr for tr in tracks if len(tr.times) >= 2]
    for tr in tracks:  # box size jitters between cascade scales: smooth it along the track
        if len(tr.faces) >= 3:
            ws = np.array([f.w for f in tr.faces])
            hs = np.array([f.h for f in tr.faces])
            kernel = np.ones(3) / 3
            ws = np.convolve(np.pad(ws, 1, mode="edge"), kernel, "valid")
            hs = np.convolve(np.pad(hs, 1, mode="edge"), kernel, "valid")
            tr.faces = [
                Face(f.cx - w / 2, f.cy - h / 2, float(w), float(h), f.hits)
                for f, w, h in zip(tr.faces, ws, hs, strict=True)
            ]
    return tracks


def same_face(a: Face, b: Face) -> bool:
    return iou(a, b) > 0.3 or (abs(a.cx - b.cx) < b.w / 2 and abs(a.cy - b.cy) < b.h / 2)


class FaceTracker:
    """Faces at every sample of a video for a fraction of the cost of scanning every sample.

    A full scan runs every ``full_every`` seconds; at the samples in between, each face of the
    previous sample is re-found by the same detector in a window around where its motion so far
    puts it (a few ms), and in a wider window if it is not there. A face that a full scan finds for
    the first time is followed backwards through the samples since the previous full scan, so a face
    entering between full scans is covered from the sample where it became detectable, as if every
    sample had been fully scanned. ``samples`` feeds ``build_tracks``.
    """

    def __init__(self, full_every: float = 2.0) -> None:
        self.full_every = full_every
        self.samples: list[tuple[float, list[Face]]] = []
        self.full_scans = 0
        self._velocity: list[tuple[float, float]] = []  # px/s of each face of the last sample
        self._since_full: list[FrameFaces] = []  # analysis of each sample since the last full scan
        self._last_full: float | None = None

    def add(self, t: float, bgr: np.ndarray) -> int:
        """Analyse the sample at ``t`` s; returns the index of the oldest sample this changed."""
        ff = FrameFaces(bgr)
        prev = self.samples[-1][1] if self.samples else []
        dt = t - self.samples[-1][0] if self.samples else 0.0
        changed = len(self.samples)
        faces: list[Face] = []
        velocity: list[tuple[float, float]] = []
        if self._last_full is None or t - self._last_full >= self.full_every - 1e-6:
            faces = ff.full()
            self.full_scans += 1
            for f in faces:
                old = [i for i, p in enumerate(prev) if same_face(f, _moved(p, self._velocity[i], dt))]
                if old:
                    velocity.append(_speed(prev[old[0]], f, dt))
                else:
                    velocity.append((0.0, 0.0))
                    changed = min(changed, self._backfill(f))
            self._since_full = []
            self._last_full = t
        else:
            for p, v in zip(prev, self._velocity, strict=True):
                g = ff.near(_moved(p, v, dt)) or ff.near(p, margin=1.0)
                if g is not None and not any(same_face(g, o) for o in faces):
                    faces.append(g)
                    velocity.append(_speed(p, g, dt))
        self.samples.append((t, faces))
        self._velocity = velocity
        self._since_full.append(ff)
        return changed

    def _backfill(self, face: Face) -> int:
        first = len(self.samples)
        cur, v, t = face, (0.0, 0.0), None
        for back, ff in enumerate(reversed(self._since_full), start=1):
            idx = len(self.samples) - back
            ts = self.samples[idx][0]
            dt = (ts - t) if t is not None else 0.0
            g = ff.near(_moved(cur, v, dt)) or ff.near(cur, margin=1.0)
            if g is None or any(same_face(g, o) for o in self.samples[idx][1]):
                break
            self.samples[idx][1].append(g)
            if t is not None and dt:
                v = _speed(cur, g, dt)
            first, cur, t = idx, g, ts
        return first


def _moved(f: Face, v: tuple[float, float], dt: float) -> Face:
    return Face(f.x + v[0] * dt, f.y + v[1] * dt, f.w, f.h, f.hits)


def _speed(a: Face, b: Face, dt: float) -> tuple[float, float]:
    return ((b.cx - a.cx) / dt, (b.cy - a.cy) / dt) if dt else (0.0, 0.0)
