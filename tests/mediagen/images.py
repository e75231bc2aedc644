"""Generated still images with known ground truth: a person (real face) on a background with its
mask, a subject at a known place, a logo in a known box over a clean reference.

The only real photograph available offline is scikit-image's ``astronaut`` (shipped inside its
wheel); its face is pasted as the head of a drawn figure so face-seeded algorithms have a real face.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@lru_cache(maxsize=1)
def astronaut() -> np.ndarray:
    """The astronaut photo (512x512) as BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def textured_background(w: int, h: int, seed: int = 0, contrast: float = 18.0) -> np.ndarray:
    """A smooth two-colour gradient with low-contrast blotchy texture (a wall, a backdrop)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.uniform(60, 200, 3), rng.uniform(60, 200, 3)
    u = ((x / w) * 0.7 + (y / h) * 0.3)[..., None]
    img = c0 * (1 - u) + c1 * u
    if contrast > 0:
        noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 6)
        noise *= contrast / max(float(noise.std()), 1e-6)
        img = img + noise[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass
class Person:
    image: np.ndarray
    mask: np.ndarray  # bool, True on the person
    box: tuple[int, int, int, int]  # x, y, w, h of the whole person


def person_image(
    w: int = 640, h: int = 480, cx: int | None = None, head: int = 120, seed: int = 0, contrast: float = 18.0,
    suit: tuple[int, int, int] = (60, 60, 170),
) -> Person:  # fmt: skip
    """A head-and-shoulders figure: the astronaut's face (elliptical cut) over a neck and a suit."""
    img = textured_background(w, h, seed, contrast)
    mask = np.zeros((h, w), np.uint8)
    cx = w // 2 if cx is None else cx
    face = astronaut()[40:200, 165:295]  # the face and some hair, 130x160
    fh = int(head * 1.25)
    face = cv2.resize(face, (head, fh), interpolation=cv2.INTER_AREA)
    top = int(h * 0.12)
    x0 = cx - head // 2
    head_mask = np.zeros((fh, head), np.uint8)
    cv2.ellipse(head_mask, (head // 2, fh // 2), (head // 2 - 2, fh // 2 - 2), 0, 0, 360, 255, -1)
    # Neck and suit first so the head overlaps them.
    neck_top, neck_bot = top + fh - 10, top + fh + int(head * 0.25)
    cv2.rectangle(mask, (cx - head // 5, neck_top), (cx + head // 5, neck_bot), 255, -1)
    cv2.rectangle(img, (cx - head // 5, neck_top), (cx + head // 5, neck_bot), (120, 150, 200), -1)
    shoulders = np.array(
        [[cx - int(head * 0.35), neck_bot - 6], [cx + int(head * 0.35), neck_bot - 6],
         [cx + int(head * 1.3), neck_bot + int(head * 0.35)], [cx + int(head * 1.45), h],
         [cx - int(head * 1.45), h], [cx - int(head * 1.3), neck_bot + int(head * 0.35)]], np.int32,
    )  # fmt: skip
    cv2.fillPoly(mask, [shoulders], 255)
    cv2.fillPoly(img, [shoulders], suit)
    cv2.line(img, (cx, neck_bot), (cx, h), (40, 40, 110), 3)  # a seam, some inner structure
    roi = img[top : top + fh, x0 : x0 + head]
    sel = head_mask > 0
    roi[sel] = face[sel]
    mask[top : top + fh, x0 : x0 + head] |= head_mask
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    return Person(img, mask > 0, box)


@dataclass
class Subject:
    image: np.ndarray
    box: tuple[int, int, int, int]  # x, y, w, h


def subject_image(w: int, h: int, cx: int, cy: int, seed: int = 0, size: int = 90) -> Subject:
    """A saturated figure (body + head discs) at a known place on a textured, muted background,
    with a few small distractors (grey stones) elsewhere."""
    rng = np.random.default_rng(seed)
    img = textured_background(w, h, seed, contrast=14)
    for _ in range(5):  # distractors: low-saturation, small
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        g = int(rng.uniform(70, 180))
        cv2.circle(img, (x, y), int(rng.uniform(4, 9)), (g, g, g), -1, cv2.LINE_AA)
    colour = tuple(int(c) for c in rng.permutation([30, 40, 220]))
    bw, bh = size // 2, size
    cv2.ellipse(img, (cx, cy + bh // 4), (bw // 2, bh // 2), 0, 0, 360, colour, -1, cv2.LINE_AA)
    cv2.circle(img, (cx, cy - bh // 3), bw // 3, (60, 200, 240), -1, cv2.LINE_AA)
    x0, y0 = cx - bw // 2, cy - bh // 3 - bw // 3
    return Subject(img, (x0, y0, bw, cy + bh // 4 + bh // 2 - y0))


def logo_image(
    w: int = 640,
    h: int = 360,
    box: tuple[int, int, int, int] = (520, 18, 96, 44),
    text: str = "TV",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(image with a broadcaster-style logo in ``box``, clean reference) on a smooth background."""
    from tests.mediagen.video import smooth_background

    clean = smooth_background(w, h, seed * 1.7)
    img = clean.copy()
    x, y, bw, bh = box
    roi = img[y : y + bh, x : x + bw].astype(np.float32)
    img[y : y + bh, x : x + bw] = (0.45 * roi + 0.55 * 235).astype(np.uint8)
    cv2.putText(
        img, text, (x + 6, y + bh - 10), cv2.FONT_HERSHEY_DUPLEX, bh / 40, (30, 30, 160), 2, cv2.LINE_AA
    )
    cv2.circle(img, (x + bw - bh // 2, y + bh // 2), bh // 3, (160, 40, 30), 3, cv2.LINE_AA)
    return img, clean


def box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / float(aw * ah + bw * bh - inter)
