"""ImageMatting: cut the person (or, without a face, the main subject) out of an image -> PNG with alpha.

No segmentation model ships in an installed wheel, so this is seeded GrabCut: detected faces (BlazeFace,
see ``_faces``) place a head-and-shoulders prior (the face is sure foreground, a body
region below it probable foreground, the border far from it sure background); without a face the
saliency map seeds the subject instead. GrabCut (colour GMMs + graph cut) labels the pixels at a
working size; the hard mask is refined into a soft alpha at the edges by a guided filter that uses
the image itself as guide, so hair-fine borders get fractional alpha. Limits against the cloud's
learned portrait matting: a background sharing the clothes' colours leaks, people whose face is not
frontal fall back to saliency, and fine hair is softened rather than truly matted.
"""

from __future__ import annotations

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _faces, _image
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

# GrabCut's graph cut costs grow with pixels x iterations; the colour models and the cut converge at
# this size and count on these images (IoU measured equal or better than 512 px / 5 iterations), and
# the full-resolution edge is recovered afterwards by the guided filter.
WORK_SIDE = 320
ITERS = 4


def _person_prior(h: int, w: int, faces: list[_faces.Face]) -> np.ndarray:
    """GrabCut labels from faces: head and torso below each face."""
    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    probable_bg = np.zeros((h, w), np.uint8)
    body = np.zeros((h, w), np.uint8)
    core = np.zeros((h, w), np.uint8)
    for f in faces:
        cx, cy, fw, fh = f.cx, f.cy, f.w, f.h
        # Unknown-but-likely-background zone: generous band around where a person can be.
        cv2.rectangle(probable_bg, (int(cx - 3.2 * fw), int(cy - 1.3 * fh)), (int(cx + 3.2 * fw), h), 255, -1)
        cv2.ellipse(body, (int(cx), int(cy - 0.1 * fh)), (int(0.75 * fw), int(0.95 * fh)), 0, 0, 360, 255, -1)
        torso = np.array(
            [[cx - 0.5 * fw, cy + 0.6 * fh], [cx + 0.5 * fw, cy + 0.6 * fh], [cx + 1.9 * fw, cy + 1.6 * fh],
             [cx + 2.1 * fw, h], [cx - 2.1 * fw, h], [cx - 1.9 * fw, cy + 1.6 * fh]], np.int32,
        )  # fmt: skip
        cv2.fillPoly(body, [torso], 255)
        cv2.ellipse(core, (int(cx), int(cy)), (int(0.3 * fw), int(0.38 * fh)), 0, 0, 360, 255, -1)
        cv2.rectangle(core, (int(cx - 0.6 * fw), int(cy + 2.0 * fh)), (int(cx + 0.6 * fw), h), 255, -1)
    mask[probable_bg > 0] = cv2.GC_PR_BGD
    mask[body > 0] = cv2.GC_PR_FGD
    mask[core > 0] = cv2.GC_FGD
    return mask


def _saliency_prior(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    sal = _image.saliency(img)
    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    mask[sal > 0.35] = cv2.GC_PR_FGD
    mask[sal > 0.8] = cv2.GC_FGD
    b = max(2, min(h, w) // 40)
    for edge in (mask[:b], mask[-b:], mask[:, :b], mask[:, -b:]):
        edge[edge != cv2.GC_FGD] = cv2.GC_BGD
    if not np.any((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)):
        raise AlgorithmError("Input: no person and no distinct subject found to cut out")
    return mask


def _guided(i: np.ndarray, p: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Grey-guide guided filter of ``p`` (float32) with guide ``i`` (float32, 0..1)."""
    k = (2 * radius + 1, 2 * radius + 1)
    mi, mp = cv2.boxFilter(i, -1, k), cv2.boxFilter(p, -1, k)
    cov = cv2.boxFilter(i * p, -1, k) - mi * mp
    var = cv2.boxFilter(i * i, -1, k) - mi * mi
    a = cov / (var + eps)
    b = mp - a * mi
    return cv2.boxFilter(a, -1, k) * i + cv2.boxFilter(b, -1, k)


TILE = 128  # the guided filter runs only on tiles that hold part of the mask's edge


def _guided_alpha(guide: np.ndarray, hard: np.ndarray, radius: int, eps: float = 1e-3) -> np.ndarray:
    """Soft alpha following the image's own edges: the guided filter of the hard mask, computed only
    near the mask's border. Where the mask is constant over the filter's reach (2 radii) the filter
    returns it unchanged, so skipping those tiles gives the same result as the whole-image filter."""
    h, w = hard.shape
    p = hard.astype(np.float32)
    alpha = p.copy()
    reach = 2 * radius + 1
    border = cv2.morphologyEx(hard.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    band = cv2.dilate(border, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    for ty in range(0, h, TILE):
        for tx in range(0, w, TILE):
            core = band[ty : ty + TILE, tx : tx + TILE]
            if not core.any():
                continue
            y0, x0 = max(0, ty - 2 * reach), max(0, tx - 2 * reach)
            y1, x1 = min(h, ty + TILE + 2 * reach), min(w, tx + TILE + 2 * reach)
            i = guide[y0:y1, x0:x1].astype(np.float32) / 255
            out = _guided(i, p[y0:y1, x0:x1], radius, eps)
            cy, cx = ty - y0, tx - x0
            tile = out[cy : cy + core.shape[0], cx : cx + core.shape[1]]
            dst = alpha[ty : ty + TILE, tx : tx + TILE]
            dst[core] = tile[core]
    return np.clip(alpha, 0, 1)


def matte(img: np.ndarray) -> np.ndarray:
    """Alpha in [0, 1] (float32, image size)."""
    h, w = img.shape[:2]
    s = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
    # Faces are searched on the image itself (at the detector's own analysis scale), not on the
    # GrabCut working copy, so small faces stay findable.
    faces = [f.scaled(s) for f in _faces.detect(img)]
    mask = _person_prior(*small.shape[:2], faces) if faces else _saliency_prior(small)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(small, mask, None, bgd, fgd, ITERS, cv2.GC_INIT_WITH_MASK)
    hard = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    # Keep the components that hold sure foreground (or the largest): drops stray background specks.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hard)
    if n > 2:
        seeds = set(np.unique(labels[mask == cv2.GC_FGD]).tolist()) - {0}
        keep = seeds or {int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) + 1}
        hard = np.isin(labels, list(keep)).astype(np.uint8)
    hard = cv2.resize(hard, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    alpha = _guided_alpha(grey, hard, radius=max(2, round(min(h, w) / 160)))
    alpha[alpha < 0.03] = 0  # exact zeros and ones away from the border keep the PNG honest
    alpha[alpha > 0.97] = 1
    return alpha


def run(ctx: JobContext) -> AlgorithmResult:
    img = _image.read_image(ctx.input_path)
    target = ctx.new_output(ext=".png")
    fmt = _image.output_format(target)
    if fmt not in (".png", ".webp"):
        raise AlgorithmError(f"Output: {target.url!r} asks for {fmt}, which has no alpha; use a .png output")
    alpha = matte(img)
    rgba = np.dstack([img, np.rint(alpha * 255).astype(np.uint8)])
    _image.write_image(target, rgba, fmt)
    return AlgorithmResult(outputs=[target], result={})
