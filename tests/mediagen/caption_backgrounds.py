"""Seeded moving backgrounds for caption clips, as RGB frames (numpy, ``(h, w, 3)`` uint8).

``frames(kind, size, fps, seconds, seed)`` yields one frame per video frame. Kinds:

* ``flat``: one colour.
* ``gradient``: a diagonal two-colour gradient that drifts and changes hue.
* ``noise``: a flat colour under strong per-frame grain.
* ``automaton``: a coloured Game-of-Life texture on a 4-pixel grid, one generation every two frames
  (hard-edged, glyph-sized blobs that appear and vanish: the kind of clutter that becomes fake cues).
* ``photos``: real photographs shipped inside the scikit-image wheel (no download), panning
  across and changing every few seconds. Licences: see ``PHOTOS``.
* ``video``: real footage shipped in Debian's ``opencv-doc`` package (OpenCV's samples, under the
  package's Apache-2.0/BSD-3-Clause terms): ``vtest.avi`` (a campus walkway, fixed camera, people
  walking) and ``tree.avi`` (a hand-held tree against a bright sky).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

KINDS = ("flat", "gradient", "noise", "automaton", "photos", "video")

# scikit-image's bundled photos (in the wheel; see skimage.data docstrings for each one's licence):
# astronaut (NASA, public domain), coffee (CC0, Rachel Michetti), chelsea (CC0, Stefan van der Walt),
# rocket (SpaceX, released into the public domain).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
VIDEO_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
VIDEOS = ("vtest.avi", "tree.avi")


def video_file(name: str) -> Path:
    """A real-footage file from ``opencv-doc``; skip when absent, fail under ``CI=true``."""
    path = VIDEO_DIR / name
    if path.is_file():
        return path
    reason = f"real footage missing ({path}): apt-get install -y --no-install-recommends opencv-doc"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def frames(kind: str, size: tuple[int, int], fps: int, seconds: float, seed: int) -> Iterator[np.ndarray]:
    n = round(seconds * fps)
    rng = np.random.default_rng(seed)
    w, h = size
    if kind == "flat":
        frame = np.empty((h, w, 3), np.uint8)
        frame[:] = rng.integers(20, 150, 3)
        for _ in range(n):
            yield frame
    elif kind == "gradient":
        yield from _gradient(rng, w, h, n, fps)
    elif kind == "noise":
        base = rng.integers(50, 150, 3).astype(np.int16)
        for _ in range(n):
            grain = rng.normal(0, 35, (h, w, 1)).astype(np.int16)
            yield np.clip(base + grain, 0, 255).astype(np.uint8)
    elif kind == "automaton":
        yield from _automaton(rng, w, h, n)
    elif kind == "photos":
        yield from _photos(rng, w, h, n, fps)
    elif kind == "video":
        yield from _video(rng, w, h, n)
    else:
        raise ValueError(f"unknown background {kind!r}; allowed: {', '.join(KINDS)}")


def _gradient(rng: np.random.Generator, w: int, h: int, n: int, fps: int) -> Iterator[np.ndarray]:
    a, b = rng.integers(0, 200, 3).astype(np.float32), rng.integers(0, 200, 3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        t = i / fps
        ramp = (np.sin((xx / w + yy / h) * np.pi + t * 0.8) + 1) / 2
        shift = np.array([np.sin(t * 0.5), np.sin(t * 0.5 + 2), np.sin(t * 0.5 + 4)], np.float32) * 40
        frame = a + (b - a) * ramp[..., None] + shift
        yield np.clip(frame, 0, 255).astype(np.uint8)


def _automaton(rng: np.random.Generator, w: int, h: int, n: int) -> Iterator[np.ndarray]:
    cell = 4
    gh, gw = h // cell + 1, w // cell + 1
    board = rng.random((gh, gw)) < 0.35
    palette = rng.integers(0, 256, (2, 3)).astype(np.uint8)
    for i in range(n):
        if i % 2 == 0 and i:
            around = sum(
                np.roll(np.roll(board, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
            )
            board = (around == 3) | (board & (around == 2))
            if board.mean() < 0.08:  # reseed a dying board so the texture keeps moving
                board |= rng.random(board.shape) < 0.2
        big = np.repeat(np.repeat(board, cell, 0), cell, 1)[:h, :w]
        yield palette[big.astype(np.uint8)]


def _cover(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scale ``image`` to cover a frame 1.5x as wide as ``w`` (room to pan) and ``h`` high."""
    import cv2

    scale = max(1.5 * w / image.shape[1], h / image.shape[0])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _photos(rng: np.random.Generator, w: int, h: int, n: int, fps: int) -> Iterator[np.ndarray]:
    from skimage import data

    order = rng.permutation(len(PHOTOS))
    images = []
    for k in order:
        im = getattr(data, PHOTOS[k])()
        if im.ndim == 2:
            im = np.repeat(im[..., None], 3, 2)
        images.append(_cover(im[..., :3], w, h))
    hold = 3 * fps  # a new photo every 3 s
    for i in range(n):
        im = images[(i // hold) % len(images)]
        span = im.shape[1] - w
        x = round(span * ((i % hold) / hold))
        y = (im.shape[0] - h) // 2
        yield np.ascontiguousarray(im[y : y + h, x : x + w])


def _video(rng: np.random.Generator, w: int, h: int, n: int) -> Iterator[np.ndarray]:
    import av
    import cv2

    path = video_file(VIDEOS[int(rng.integers(len(VIDEOS)))])
    emitted = 0
    while emitted < n:  # loop the source if it is shorter than the clip
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                image = frame.to_ndarray(format="rgb24")
                scale = max(w / image.shape[1], h / image.shape[0])
                image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
                y, x = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
                yield np.ascontiguousarray(image[y : y + h, x : x + w])
                emitted += 1
                if emitted >= n:
                    return
