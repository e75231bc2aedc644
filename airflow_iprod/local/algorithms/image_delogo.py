"""ImageDelogo: find logos / watermarks in the image's corners and fill them from their surroundings.

One image has no time axis, so a logo is found by how it looks: a compact cluster of strong edges
(letters, a ring, a plate's outline) in a corner zone, standing on a calmer ring of background.
Edges (Canny) are closed into blobs; a blob is a logo when it is small (0.05-6 % of the picture), dense
in edges inside and clearly calmer just outside, and does not touch the frame or run out of
its corner zone. Each found box is filled: on a smooth surround a
quadratic surface fitted to the ring around the box continues the gradient (near-invisible on skies,
walls, studio backdrops); on a textured surround OpenCV's Telea inpainting is used. The cloud uses a
learned detector and inpainter and also finds logos away from corners; JobParams: none (as documented).
"""

from __future__ import annotations

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _image, _regions
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext

ANALYSIS_WIDTH = 640
CORNER = (0.36, 0.32)  # corner zone: share of width, height
RING = 10  # analysis pixels around a candidate box used to judge (and fill) it
SMOOTH_RESIDUAL = 6.0  # grey levels: ring residual below this counts as a smooth surround


def _edge_density(edges: np.ndarray, box: _regions.Box) -> float:
    x0, y0, x1, y1 = box
    patch = edges[y0:y1, x0:x1]
    return float(np.mean(patch > 0)) if patch.size else 0.0


def find_logos(img: np.ndarray) -> list[_regions.Box]:
    """Logo boxes (x0, y0, x1, y1) in ``img`` pixels."""
    h, w = img.shape[:2]
    s = min(1.0, ANALYSIS_WIDTH / w)
    small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
    sh, sw = small.shape[:2]
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(grey, 60, 150)
    blobs = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9)))
    zw, zh = int(sw * CORNER[0]), int(sh * CORNER[1])
    zones = [(0, 0, zw, zh), (sw - zw, 0, sw, zh), (0, sh - zh, zw, sh), (sw - zw, sh - zh, sw, sh)]
    found: list[tuple[float, _regions.Box]] = []
    for zx0, zy0, zx1, zy1 in zones:
        n, _, stats, _ = cv2.connectedComponentsWithStats(blobs[zy0:zy1, zx0:zx1])
        for i in range(1, n):
            x, y, bw, bh, _ = stats[i]
            area_share = bw * bh / float(sw * sh)
            if not 0.0005 <= area_share <= 0.06 or bw < 8 or bh < 6 or max(bw / bh, bh / bw) > 8:
                continue
            if x == 0 or y == 0 or x + bw == zx1 - zx0 or y + bh == zy1 - zy0:
                continue  # cut by the frame or the zone: scene content running on, not an inset logo
            box = (zx0 + x, zy0 + y, zx0 + x + bw, zy0 + y + bh)
            inside = _edge_density(edges, box)
            outer = _regions.grow(box, RING, sw, sh)
            ring_edges = edges[outer[1] : outer[3], outer[0] : outer[2]].copy()
            ring_edges[box[1] - outer[1] : box[3] - outer[1], box[0] - outer[0] : box[2] - outer[0]] = 0
            ring_area = (outer[2] - outer[0]) * (outer[3] - outer[1]) - bw * bh
            ring = float(np.sum(ring_edges > 0)) / max(ring_area, 1)
            if inside >= 0.06 and ring <= 0.35 * inside:
                found.append((inside - ring, box))
    found.sort(key=lambda f: -f[0])
    boxes: list[_regions.Box] = []
    for _, (x0, y0, x1, y1) in found[:4]:
        big = (int(x0 / s), int(y0 / s), int(np.ceil(x1 / s)), int(np.ceil(y1 / s)))
        boxes.append(_regions.grow(big, max(2, int(2 / s)), w, h))  # the closing can trim anti-aliasing
    return boxes


def _fit_fill(image: np.ndarray, box: _regions.Box, ring: int) -> bool:
    """Fill ``box`` with a quadratic surface fitted to the ring around it; False if the ring is not smooth."""
    h, w = image.shape[:2]
    ox0, oy0, ox1, oy1 = _regions.grow(box, ring, w, h)
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[oy0:oy1, ox0:ox1]
    in_box = (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
    u = (xx - (x0 + x1) / 2) / max(x1 - x0, 1)
    v = (yy - (y0 + y1) / 2) / max(y1 - y0, 1)
    basis = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1).astype(np.float64)
    a = basis[~in_box]
    crop = image[oy0:oy1, ox0:ox1].astype(np.float64)
    coef, *_ = np.linalg.lstsq(a, crop[~in_box], rcond=None)
    residual = float(np.sqrt(np.mean((a @ coef - crop[~in_box]) ** 2)))
    if residual > SMOOTH_RESIDUAL:
        return False
    fill = basis[in_box] @ coef
    patch = crop.copy()
    patch[in_box] = fill
    image[oy0:oy1, ox0:ox1] = np.clip(np.rint(patch), 0, 255).astype(np.uint8)
    return True


def remove(img: np.ndarray, boxes: list[_regions.Box]) -> np.ndarray:
    out = img.copy()
    h, w = img.shape[:2]
    ring = max(6, round(RING * w / ANALYSIS_WIDTH))
    for box in boxes:
        if not _fit_fill(out, box, ring):
            mask = np.zeros((h, w), np.uint8)
            mask[box[1] : box[3], box[0] : box[2]] = 255
            _regions.inpaint(out, mask, box, radius=5)
    return out


def run(ctx: JobContext) -> AlgorithmResult:
    img = _image.read_image(ctx.input_path)
    boxes = find_logos(img)
    ctx.log(f"logo boxes: {boxes}")
    target = ctx.new_output()
    _image.write_image(target, remove(img, boxes), _image.output_format(target))
    return AlgorithmResult(outputs=[target], result={})
