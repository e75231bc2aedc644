"""ImageH2V: a landscape image becomes a 9:16 portrait crop around its main subject.

The crop keeps the full height (a 9:16 window slides horizontally); the window holding the most
saliency (colour distinctness against the border colours, spectral residual, faces) is chosen and
then centred on the subject's saliency centroid so the subject does not sit on the crop's edge.
An image that is already narrower than 9:16 is cropped vertically the same way. No scaling: the
output keeps the source's pixels (the cloud may also resize). Output format follows the output
object's extension (PNG by default, JPEG/WebP/BMP when asked).
"""

from __future__ import annotations

import numpy as np

from airflow_iprod.local.algorithms import _faces, _image
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext

ASPECT = 9 / 16  # width / height of the output


def crop_window(profile: np.ndarray, size: int) -> int:
    """Start of a ``size`` window: the saliest one, re-centred on the saliency centroid inside it."""
    weights = profile**2  # favour the peak over a broad, faint spread
    start = _image.best_window(weights, size)
    inside = weights[start : start + size]
    if inside.sum() > 0:
        centroid = start + float(np.sum(np.arange(size) * inside) / inside.sum())
        start = round(centroid - size / 2)
    return int(np.clip(start, 0, len(profile) - size))


def h2v_box(img: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the portrait crop."""
    h, w = img.shape[:2]
    sal = _image.saliency(img, _faces.detect(img))
    if w / h > ASPECT:
        cw = max(2, min(w, round(h * ASPECT)))
        return crop_window(sal.mean(axis=0), cw), 0, cw, h
    ch = max(2, min(h, round(w / ASPECT)))
    return 0, crop_window(sal.mean(axis=1), ch), w, ch


def run(ctx: JobContext) -> AlgorithmResult:
    img = _image.read_image(ctx.input_path)
    x, y, w, h = h2v_box(img)
    ctx.log(f"crop x={x} y={y} {w}x{h} of {img.shape[1]}x{img.shape[0]}")
    target = ctx.new_output()
    _image.write_image(target, img[y : y + h, x : x + w], _image.output_format(target))
    return AlgorithmResult(outputs=[target], result={})
