"""Frontal face detection and tracking for the local video/image algorithms (FaceBeauty, H2V, matting).

OpenCV 5 (the only OpenCV here) dropped the Haar/LBP ``CascadeClassifier`` and its ``FaceDetectorYN``
needs a model file no installed wheel carries. scikit-image ships OpenCV's LBP frontal-face cascade
inside its wheel (``skimage.data.lbp_frontal_face_cascade_filename()``) and runs it with its own
``Cascade`` class, so faces are found offline. An LBP cascade fires several times around a true face
and sometimes once on clutter, so hits of two scans with different scale steps are grouped and a
face needs both to agree plus some skin-coloured pixels (what OpenCV's ``minNeighbors`` did).
It finds frontal faces only, roughly upright, >= ~24 px at the analysis scale; the cloud's learned
detectors also find profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

ANALYSIS_SIDE = 400  # long side of the image the cascade scans (cost grows with the area)
MIN_FACE = 24  # smallest face side at the analysis scale, pixels
SCALE_FACTORS = (1.1, 1.2)


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


def detect(bgr: np.ndarray, *, min_hits: int = 2, min_skin: float = 0.2) -> list[Face]:
    """Faces in a BGR image, in its pixel coordinates, largest first."""
    h, w = bgr.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / max(h, w))
    small = (
        cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        if scale < 1
        else bgr
    )
    skin = skin_mask(small)
    raw: list[Face] = []
    for x0, y0, x1, y1 in _skin_regions(skin):
        rgb = cv2.cvtColor(small[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
        side = min(rgb.shape[:2])
        if side < MIN_FACE:
            continue
        for factor in SCALE_FACTORS:  # the scanner merges its own hits: count agreement across scale grids
            hits = _cascade().detect_multi_scale(
                img=rgb,
                scale_factor=factor,
                step_ratio=1,
                min_size=(MIN_FACE, MIN_FACE),
                max_size=(side, side),
            )
            raw += [
                Face(float(d["c"] + x0), float(d["r"] + y0), float(d["width"]), float(d["height"]), 1)
                for d in hits
            ]
    faces = []
    for f in _group(raw, min_hits):
        fx0, fy0 = int(f.x + f.w * 0.2), int(f.y + f.h * 0.25)
        core = skin[fy0 : int(f.y + f.h * 0.9), fx0 : int(f.x + f.w * 0.8)]
        if core.size and float(np.mean(core > 0)) >= min_skin:
            faces.append(f.scaled(1 / scale))
    return sorted(faces, key=lambda f: -f.w * f.h)


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
