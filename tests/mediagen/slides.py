"""A generated slide-show recording with known slide changes: drawn text slides, a moving mouse
cursor, a blinking caret, one cross-fade and hard cuts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.mediagen.video import encode


@dataclass
class SlideShow:
    path: Path
    changes: list[float]  # seconds: hard-cut times and the middle of the fade
    duration: float


def _slide(w: int, h: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(k)
    bg = (250, 250, 250) if k % 2 == 0 else (245, 235, 220)
    img = np.full((h, w, 3), bg, np.uint8)
    cv2.rectangle(img, (0, 0), (w, h // 7), tuple(int(c) for c in rng.integers(40, 200, 3)), -1)
    cv2.putText(img, f"Section {k + 1}: topic {chr(65 + k)}", (20, h // 7 - 14), cv2.FONT_HERSHEY_SIMPLEX,
                0.8, (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    for j in range(4):
        words = " ".join(rng.choice(["data", "flow", "media", "video", "cloud", "job", "task"], 4))
        y = h // 7 + 45 + j * 40
        cv2.circle(img, (34, y - 7), 5, (60, 60, 60), -1)
        cv2.putText(img, words, (50, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (30, 30, 30), 2, cv2.LINE_AA)
    return img


def _cursor(img: np.ndarray, x: int, y: int) -> None:
    pts = np.array([[x, y], [x, y + 18], [x + 5, y + 14], [x + 9, y + 22], [x + 12, y + 20], [x + 8, y + 13],
                    [x + 14, y + 13]], np.int32)  # fmt: skip
    cv2.fillPoly(img, [pts], (0, 0, 0))


def slide_video(
    path: Path, plan: tuple[float, ...] = (3.0, 2.5, 3.0, 2.0, 2.5), fade_after: int = 1, fade: float = 0.8,
    size: tuple[int, int] = (480, 270), fps: int = 25, tone: bool = True,
) -> SlideShow:  # fmt: skip
    """Slides shown for ``plan`` seconds each; slide ``fade_after`` cross-fades into the next."""
    w, h = size
    slides = [_slide(w, h, k) for k in range(len(plan))]
    starts = np.cumsum([0.0, *plan])
    total = float(starts[-1])
    changes = [float(t) for t in starts[1:-1]]
    frames = []
    for i in range(round(total * fps)):
        t = i / fps
        k = int(np.searchsorted(starts, t, side="right") - 1)
        img = slides[k].copy()
        if k == fade_after + 1 and t < starts[k] + fade / 2:  # second half of the fade
            a = 0.5 + (t - starts[k]) / fade
            img = cv2.addWeighted(slides[k], a, slides[k - 1], 1 - a, 0)
        elif k == fade_after and t >= starts[k + 1] - fade / 2:  # first half
            a = 0.5 - (starts[k + 1] - t) / fade
            img = cv2.addWeighted(slides[k + 1], a, slides[k], 1 - a, 0)
        _cursor(img, int(w * 0.3 + w * 0.4 * np.sin(0.9 * t)), int(h * 0.5 + h * 0.3 * np.cos(1.3 * t)))
        if int(t * 2) % 2 == 0:  # a blinking caret after the last bullet
            cv2.rectangle(img, (w - 60, h - 40), (w - 57, h - 20), (0, 0, 0), -1)
        frames.append(img)
    encode(path, frames, fps, tone=tone)
    return SlideShow(path, changes, total)
