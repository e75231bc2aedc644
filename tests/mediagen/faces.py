"""Frames of real faces we did not make, for measuring face-detection recall and false hits.

Every face comes from a real photograph that ships inside the scikit-image wheel (no download):

* ``astronaut``: Eileen Collins, colour, near-frontal (NASA, public domain);
* ``camera``: the cameraman, grey, a three-quarter profile looking into a camcorder (CC0, Lav Varshney);
* ``lfw``: the first 100 images of ``lfw_subset``, grey 25x25 tight face crops from Labeled Faces in the
  Wild (as bundled with scikit-image).

Each face is cut with its surroundings (hair, neck) and an elliptical feathered edge, scaled so that its
face box has the cell's size, rotated or mirrored for the cell's pose, and pasted, several per frame,
over a background from the same wheel (plain, coffee table, gravel, a cat's face, the Hubble deep field).
The face boxes in the source photos were drawn by hand (forehead to chin), not taken from any detector.
Everything is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

W, H = 640, 360
SOURCES = ("astronaut", "camera", "lfw")
SIZES = (24, 32, 48, 72)  # face box side in the frame, px
POSES = ("upright", "tilt+25", "tilt-25", "mirror")
COUNTS = (1, 4)
BACKGROUNDS = ("flat", "coffee", "gravel", "cat", "hubble")
AXES = {"source": SOURCES, "size": SIZES, "pose": POSES, "count": COUNTS, "background": BACKGROUNDS}

# Face centre (x, y) and side in the source photo, drawn by hand; context = how much of the photo
# around the face is pasted (x the face side).
_FACE = {"astronaut": ((227, 127), 100, 2.2), "camera": ((220, 162), 82, 2.2), "lfw": ((12, 12), 25, 1.0)}


@lru_cache(maxsize=8)
def _photo(name: str) -> np.ndarray:
    from skimage import data

    if name == "astronaut":
        return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    if name == "camera":
        return cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    if name == "coffee":
        return cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    if name == "gravel":
        return cv2.cvtColor(data.gravel(), cv2.COLOR_GRAY2BGR)
    if name == "cat":
        return cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR)
    if name == "hubble":
        return cv2.cvtColor(data.hubble_deep_field(), cv2.COLOR_RGB2BGR)
    raise ValueError(name)


@lru_cache(maxsize=1)
def _lfw() -> np.ndarray:
    from skimage import data

    faces = data.lfw_subset()[:100]
    return np.clip(faces * 255 if faces.max() <= 1.0 else faces, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Cell:
    source: str
    size: int
    pose: str
    count: int
    background: str

    @property
    def name(self) -> str:
        return f"{self.source}-{self.size}px-{self.pose}-x{self.count}-{self.background}"


@dataclass
class FaceFrame:
    cell: Cell
    image: np.ndarray  # BGR, W x H
    boxes: list[tuple[float, float, float, float]]  # x, y, w, h of every face (square, forehead to chin)


def _background(name: str, rng: np.random.Generator) -> np.ndarray:
    if name == "flat":
        return np.full((H, W, 3), rng.integers(60, 200, 3), np.uint8)
    img = _photo(name)
    h, w = img.shape[:2]
    s = max(W / w, H / h) * rng.uniform(1.0, 1.3)
    img = cv2.resize(img, (int(np.ceil(w * s)), int(np.ceil(h * s))), interpolation=cv2.INTER_AREA)
    y0 = int(rng.integers(0, img.shape[0] - H + 1))
    x0 = int(rng.integers(0, img.shape[1] - W + 1))
    return img[y0 : y0 + H, x0 : x0 + W].copy()


def _patch(source: str, size: int, pose: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A square cut (BGR, alpha float) centred on one face whose face box is ``size`` px."""
    (cx, cy), side, context = _FACE[source]
    if source == "lfw":
        img = cv2.cvtColor(_lfw()[int(rng.integers(0, 100))], cv2.COLOR_GRAY2BGR)
    else:
        img = _photo(source)
    angle = {"tilt+25": 25.0, "tilt-25": -25.0}.get(pose, 0.0)
    if angle:
        m = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, 1.0)
        img = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)
    half = side * context / 2
    x0, y0 = round(cx - half), round(cy - half)
    cut = cv2.copyMakeBorder(img, 64, 64, 64, 64, cv2.BORDER_REFLECT)[
        y0 + 64 : y0 + 64 + int(2 * half), x0 + 64 : x0 + 64 + int(2 * half)
    ]
    if pose == "mirror":
        cut = cut[:, ::-1]
    out = max(2, round(size * context))
    cut = cv2.resize(cut, (out, out), interpolation=cv2.INTER_AREA if out < cut.shape[0] else cv2.INTER_CUBIC)
    if source == "lfw":  # a tight crop: a soft square edge, nothing around the face to cut
        alpha = np.ones((out, out), np.float32)
        alpha = cv2.GaussianBlur(np.pad(alpha[2:-2, 2:-2], 2), (0, 0), max(0.6, out / 30))
    else:
        alpha = np.zeros((out, out), np.float32)
        cv2.ellipse(
            alpha, (out // 2, out // 2 + out // 12), (int(out * 0.36), int(out * 0.46)), 0, 0, 360, 1.0, -1
        )
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.8, out / 25))
    return cut, alpha


def frame(cell: Cell, seed: int = 0) -> FaceFrame:
    """One frame of ``cell``: ``cell.count`` faces at random non-overlapping places."""
    rng = np.random.default_rng([seed, *map(ord, cell.name)])
    img = _background(cell.background, rng).astype(np.float32)
    boxes: list[tuple[float, float, float, float]] = []
    spots: list[tuple[int, int, int]] = []
    for _ in range(cell.count):
        cut, alpha = _patch(cell.source, cell.size, cell.pose, rng)
        out = cut.shape[0]
        for _try in range(200):
            x, y = int(rng.integers(0, W - out + 1)), int(rng.integers(0, H - out + 1))
            if all(abs(x - a) >= 0.4 * (out + s) or abs(y - b) >= 0.4 * (out + s) for a, b, s in spots):
                break
        else:
            raise ValueError(f"{cell.count} faces of {cell.size} px do not fit a {W}x{H} frame")
        spots.append((x, y, out))
        a = alpha[..., None]
        img[y : y + out, x : x + out] = img[y : y + out, x : x + out] * (1 - a) + cut * a
        c = out / 2
        boxes.append((x + c - cell.size / 2, y + c - cell.size / 2, float(cell.size), float(cell.size)))
    return FaceFrame(cell, np.clip(img, 0, 255).astype(np.uint8), boxes)


def full_matrix() -> list[Cell]:
    return [Cell(*v) for v in _product(list(AXES.values()))]


def _product(axes: list[tuple]) -> list[tuple]:
    out: list[tuple] = [()]
    for values in axes:
        out = [(*o, v) for o in out for v in values]
    return out


def pairwise() -> list[Cell]:
    """A seeded greedy all-pairs cover: every value of every axis meets every value of every other."""
    names = list(AXES)
    todo = {
        (i, a, j, b)
        for i in range(len(names))
        for j in range(i + 1, len(names))
        for a in AXES[names[i]]
        for b in AXES[names[j]]
    }
    candidates = _product(list(AXES.values()))
    rng = np.random.default_rng(12)
    rng.shuffle(candidates)
    cells: list[Cell] = []
    while todo:
        best = max(
            candidates,
            key=lambda c: sum(
                (i, c[i], j, c[j]) in todo for i in range(len(c)) for j in range(i + 1, len(c))
            ),
        )
        todo -= {(i, best[i], j, best[j]) for i in range(len(best)) for j in range(i + 1, len(best))}
        cells.append(Cell(*best))
    return cells


def matches(det: tuple[float, float, float, float], truth: tuple[float, float, float, float]) -> bool:
    """A detection is this face when its centre lies in the face box and its size is within 2x of it
    (detectors draw boxes of their own shape: BlazeFace's include the forehead, the cascade's less)."""
    x, y, w, h = det
    tx, ty, tw, th = truth
    cx, cy = x + w / 2, y + h / 2
    return tx <= cx <= tx + tw and ty <= cy <= ty + th and 0.5 <= w / tw <= 2.0


def score(
    dets: list[tuple[float, float, float, float]], truths: list[tuple[float, float, float, float]]
) -> tuple[int, int]:
    """(faces found, false hits): each truth takes at most one detection."""
    used: set[int] = set()
    found = 0
    for t in truths:
        for i, d in enumerate(dets):
            if i not in used and matches(d, t):
                used.add(i)
                found += 1
                break
    return found, len(dets) - len(used)
