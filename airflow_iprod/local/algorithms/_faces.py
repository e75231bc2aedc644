"""Face detection and tracking for the local video/image algorithms (FaceBeauty, H2V, matting).

Faces are found by MediaPipe's BlazeFace detectors (``_blazeface``: models from a pinned wheel, run by
OpenCV's DNN module). They find frontal faces, three-quarter profiles and tilted heads, which the LBP
cascade this replaced did not. BlazeFace wants a face to fill a good share of its input, so a full scan
covers the image (downscaled to ANALYSIS_SIDE) with a pyramid of overlapping tiles of the back-camera
model (256 px input): tiles of 256 px for faces from MIN_FACE (24 px) up, then 512, ... px for larger
ones; the 256 px level is run again on the mirror image. Every candidate is looked at again centred in
a square of a few times its size and kept only if found there again with a score >= CONFIRM_SCORE.
Over the full face matrix (``tests/mediagen/faces.py``, 960 frames) this finds 83.8 % of the faces with
no false hit, where the earlier short-range 96 px + full-range 192 px tiles found 74.0 % with 30 false
hits. On its CI cells (84 faces, confirmation at 0.7): back-camera tiles alone 71 faces, with the mirror
74, with rotated +-25 degree copies instead 75 at twice the cost; the earlier tiles 59.

Video uses ``FaceTracker``: full scans every 2 s and, in between, one short-range run around each
tracked face (``FrameFaces.near``). Measured recall, false hits and cost: bench/face_results.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _blazeface

ANALYSIS_SIDE = 640  # long side of the image searched: faces >= MIN_FACE px at this scale are found
MIN_FACE = 24  # smallest face side at the analysis scale, pixels
SCAN_MODEL = "back"  # BlazeFace back-camera model (256 px input) for every tile of the scan
TILE = 256  # smallest tile side, analysis pixels: a 24 px face is ~1/10 of it, the model's smallest
CONFIRM = [("short", 3.0), ("back", 5.0)]  # second look: model, square side x the candidate's size
CONFIRM_SCORE = 0.75  # full face matrix: 0.7 found 2104 of 2400 faces with 18 false hits, 0.75 2012 and 0
TILE_OVERLAP = 0.25  # share of a tile its neighbours also scan: a face up to this size is whole in one
NEAR_CONTEXT = 3.0  # side of the square a tracked face is re-found in, x its size (short-range model)
NEAR_MARGIN = 0.5  # how far (x its size) a tracked face may have moved from where it should be


@dataclass(frozen=True)
class Face:
    x: float
    y: float
    w: float
    h: float
    score: float  # detector confidence, 0-1

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def scaled(self, s: float) -> Face:
        return Face(self.x * s, self.y * s, self.w * s, self.h * s, self.score)


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


def _square(img: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """The ``side`` x ``side`` square at (x0, y0), edge pixels repeated where it leaves the image."""
    h, w = img.shape[:2]
    pad = (max(0, -y0), max(0, y0 + side - h), max(0, -x0), max(0, x0 + side - w))
    crop = img[max(0, y0) : min(h, y0 + side), max(0, x0) : min(w, x0 + side)]
    if any(pad):
        crop = cv2.copyMakeBorder(crop, *pad, cv2.BORDER_REPLICATE)
    return crop


def _starts(length: int, side: int) -> list[int]:
    if side >= length:
        return [(length - side) // 2]
    step = int(side * (1 - TILE_OVERLAP))
    starts = list(range(0, length - side, step))
    return [*starts, length - side]


def _merge(faces: list[Face]) -> list[Face]:
    """One face per person: boxes found by several tiles or pyramid levels keep the most confident."""
    out: list[Face] = []
    for f in sorted(faces, key=lambda f: -f.score):
        if all(iou(f, o) < 0.3 and not _inside(f, o) for o in out):
            out.append(f)
    return out


def _inside(a: Face, b: Face) -> bool:
    return abs(a.cx - b.cx) < b.w / 2 and abs(a.cy - b.cy) < b.h / 2


class FrameFaces:
    """One image prepared for face search at the analysis scale, shared by the full scan and every
    local re-detection on this frame."""

    def __init__(self, bgr: np.ndarray, side: int = ANALYSIS_SIDE) -> None:
        h, w = bgr.shape[:2]
        self.scale = min(1.0, side / max(h, w))
        self.small = (
            cv2.resize(bgr, (round(w * self.scale), round(h * self.scale)), interpolation=cv2.INTER_AREA)
            if self.scale < 1
            else bgr
        )

    def _tile(self, x0: int, y0: int, side: int, kind: str, img: np.ndarray | None = None) -> list[Face]:
        return [
            Face(d.x + x0, d.y + y0, d.w, d.h, d.score)
            for d in _blazeface.detect_square(_square(self.small if img is None else img, x0, y0, side), kind)
        ]

    def full(self) -> list[Face]:
        """Every face (image coordinates, largest first): the pyramid scan of the image, then the
        small-face level again on its mirror image (a second look at turned and tilted heads, cheaper
        than rotated copies for nearly as many faces: see the module's docstring)."""
        found = self._scan(self.small, grow=True)
        mirror = np.ascontiguousarray(self.small[:, ::-1])
        w = self.small.shape[1]
        found += [Face(w - f.x - f.w, f.y, f.w, f.h, f.score) for f in self._scan(mirror, grow=False)]
        return sorted((f.scaled(1 / self.scale) for f in _merge(found)), key=lambda f: -f.w * f.h)

    def _scan(self, img: np.ndarray, *, grow: bool) -> list[Face]:
        """Confirmed faces in ``img`` (analysis pixels).

        BlazeFace finds faces from ~1/10 of its input up; a face of MIN_FACE px needs a tile not much
        larger than the model's input. So the image is scanned as a pyramid of overlapping square tiles,
        each level's tiles twice the side of the last, up to one square holding the whole image
        (``grow``; else the first level only); a level keeps the faces small enough to be whole in one
        of its tiles (larger ones are the next level's), and a face a tile edge cuts is left to the
        tile that holds it whole.
        """
        h, w = img.shape[:2]
        cands: list[Face] = []
        side = TILE
        while True:
            last = side >= max(w, h)
            for y0 in _starts(h, side):
                for x0 in _starts(w, side):
                    for f in self._tile(x0, y0, side, SCAN_MODEL, img):
                        whole = (
                            (f.x > x0 + 1 or x0 <= 0)
                            and (f.y > y0 + 1 or y0 <= 0)
                            and (f.x + f.w < x0 + side - 1 or x0 + side >= w)
                            and (f.y + f.h < y0 + side - 1 or y0 + side >= h)
                        )
                        if last or (whole and f.w <= side * TILE_OVERLAP * 1.5):
                            cands.append(f)
            if last or not grow:
                break
            side *= 2
        return _merge([g for f in _merge(cands) if (g := self._confirm(f, img)) is not None])

    def _confirm(self, f: Face, img: np.ndarray) -> Face | None:
        """``f`` looked at again, centred in a square of a few times its size: a real face is found
        there again with a score >= CONFIRM_SCORE, most texture that fooled one tile is not. The
        short-range model at 3x (its best scale) is asked first, the back-camera model at 5x (it
        sees small grey and turned faces the short-range one does not) when that fails."""
        for kind, context in CONFIRM:
            side = round(max(f.w, f.h) * context)
            x0, y0 = round(f.cx - side / 2), round(f.cy - side / 2)
            again = [
                g
                for g in self._tile(x0, y0, side, kind, img)
                if g.score >= CONFIRM_SCORE and _inside(g, f) and 0.6 < g.w / f.w < 1.6
            ]
            if again:
                return max(again, key=lambda g: g.score)
        return None

    def near(self, face: Face, *, margin: float = NEAR_MARGIN) -> Face | None:
        """``face`` (image coordinates, e.g. from an earlier frame) re-found in this frame, or None:
        one run of the short-range model on a square around where it was (about 3 ms)."""
        f = face.scaled(self.scale)
        if f.w < MIN_FACE * 0.6:
            return None
        side = round(max(f.w, f.h) * max(NEAR_CONTEXT, 1 + 2 * margin))
        x0, y0 = round(f.cx - side / 2), round(f.cy - side / 2)
        found = [
            g
            for g in self._tile(x0, y0, side, "short")
            if abs(g.cx - f.cx) <= (0.5 + margin) * f.w
            and abs(g.cy - f.cy) <= (0.5 + margin) * f.h
            and 0.6 < g.w / f.w < 1.6
        ]
        if not found:
            return None
        best = min(found, key=lambda g: np.hypot(g.cx - f.cx, g.cy - f.cy) + abs(g.w - f.w))
        return best.scaled(1 / self.scale)


def detect(bgr: np.ndarray) -> list[Face]:
    """Faces in a BGR image, in its pixel coordinates, largest first."""
    return FrameFaces(bgr).full()


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
        return Face(*(float(getattr(a, n) + k * (getattr(b, n) - getattr(a, n))) for n in "xywh"), a.score)


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
                Face(f.cx - w / 2, f.cy - h / 2, float(w), float(h), f.score)
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
    return Face(f.x + v[0] * dt, f.y + v[1] * dt, f.w, f.h, f.score)


def _speed(a: Face, b: Face, dt: float) -> tuple[float, float]:
    return ((b.cx - a.cx) / dt, (b.cy - a.cy) / dt) if dt else (0.0, 0.0)
