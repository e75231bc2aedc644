"""ImageCartoonize: flat colour regions with dark outlines (classic cartoon look, no model).

Edge-preserving smoothing (repeated bilateral filtering at a working scale) flattens shading while
keeping object borders; k-means in Lab quantises the colours to a small palette; outlines come from
an adaptive threshold of the median-blurred grey image and are drawn dark over the flat colours.
The cloud's ImageCartoonize is a learned stylisation (and a 2D-to-3D face style on request); this
one is the classical filter pipeline, same purpose, different look.
"""

from __future__ import annotations

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _image
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext

PALETTE = 12  # colours after quantisation
WORK_SIDE = 1024  # smoothing runs at most at this size, then the flat image is scaled back


def cartoonize(img: np.ndarray, colours: int = PALETTE) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(1.0, WORK_SIDE / max(h, w))
    work = (
        cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img.copy()
    )
    for _ in range(4):
        work = cv2.bilateralFilter(work, 9, 40, 7)
    lab = cv2.cvtColor(work, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(0)  # palette from a sample: same result each run, cost bounded
    sample = lab[rng.choice(len(lab), size=min(len(lab), 20000), replace=False)]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.5)
    _, _, centres = cv2.kmeans(sample, colours, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    labels = np.empty(len(lab), np.int32)
    for i in range(0, len(lab), 262144):  # nearest centre, in chunks to bound memory
        chunk = lab[i : i + 262144]
        labels[i : i + len(chunk)] = np.argmin(((chunk[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    flat_lab = centres.astype(np.uint8)[labels].reshape(work.shape)
    flat = cv2.cvtColor(flat_lab, cv2.COLOR_LAB2BGR)
    if s < 1:
        flat = cv2.resize(flat, (w, h), interpolation=cv2.INTER_NEAREST)
    grey = cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 5)
    block = max(3, (min(h, w) // 60) | 1)
    lines = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 7)
    lines = cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))  # drop speckle
    out = flat.copy()
    out[lines == 0] = (flat[lines == 0] * 0.25).astype(np.uint8)  # dark outline in the region's hue
    return out


def run(ctx: JobContext) -> AlgorithmResult:
    img = _image.read_image(ctx.input_path)
    cv2.setNumThreads(max(1, ctx.threads))
    target = ctx.new_output()
    _image.write_image(target, cartoonize(img), _image.output_format(target))
    return AlgorithmResult(outputs=[target], result={})
