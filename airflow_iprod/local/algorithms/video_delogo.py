"""VideoDelogo: remove static logos, in the given ``Boxes`` or found by the engine itself.

Finding logos: a logo is the part of the picture that does not change while the programme does.
Over frames sampled across the whole video we count, per pixel, how often it lies on an edge; a
logo's outline is an edge in nearly every sample, moving content's edges are not. Persistent-edge
pixels are grouped into blobs; a blob is a logo when it is small, not a frame-wide line (letterbox,
ticker border), and stands out from its surroundings (a static scene has persistent edges
everywhere, a logo only inside its box). ``tv`` logos are searched in the four corners,
``internet`` watermarks anywhere. The boxes are then filled from their surroundings in every frame
(``_regions.fill``, a push-pull pyramid fill), working on the box's crop only.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _regions, _video
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

SAMPLES = 48
ANALYSIS_WIDTH = 640
PERSISTENT = 0.7  # share of samples in which a logo pixel is on an edge
CORNER = (0.34, 0.3)  # corner zone size (share of width, height) for tv logos
FILL_BAND = 16  # pixels around a box the fill learns the background from


def find_logos(ctx: JobContext, info: _video.VideoInfo, models: set[str]) -> list[_regions.Box]:
    """Boxes (full-resolution pixels) of static logos, at most two, best first."""
    scale = min(1.0, ANALYSIS_WIDTH / info.width)
    aw, ah = max(2, round(info.width * scale)), max(2, round(info.height * scale))
    rate = min(4.0, SAMPLES / max(info.duration, 0.1))
    edge_count: np.ndarray | None = None
    n = 0
    for f in _video.iter_frames(ctx.input_path, threads=ctx.threads, rate=rate, size=(aw, ah)):
        gray = cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY)
        edges = cv2.dilate(cv2.Canny(gray, 40, 120), np.ones((3, 3), np.uint8)).astype(np.float32) / 255
        edge_count = edges if edge_count is None else edge_count + edges
        n += 1
    if edge_count is None or n < 4:
        return []  # too few frames to tell static from moving
    persistence = edge_count / n
    allowed = np.zeros((ah, aw), bool)
    if "internet" in models:
        allowed[:] = True
    else:
        cw, ch = round(aw * CORNER[0]), round(ah * CORNER[1])
        for ys in (slice(0, ch), slice(ah - ch, ah)):
            for xs in (slice(0, cw), slice(aw - cw, aw)):
                allowed[ys, xs] = True
    static = ((persistence >= PERSISTENT) & allowed).astype(np.uint8)
    k = max(3, round(aw * 0.02)) | 1
    blobs = cv2.morphologyEx(static, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    found: list[tuple[float, _regions.Box]] = []
    for i in range(1, count):
        x, y, w, h, _area = stats[i]
        if (
            w < 8
            or h < 6
            or w > 0.45 * aw
            or h > 0.4 * ah
            or w * h > 0.08 * aw * ah
            or w * h < 0.0008 * aw * ah
        ):
            continue
        inside = persistence[y : y + h, x : x + w]
        ring_box = _regions.grow((x, y, x + w, y + h), max(6, h // 2), aw, ah)
        ring = persistence[ring_box[1] : ring_box[3], ring_box[0] : ring_box[2]].copy()
        ring[y - ring_box[1] : y - ring_box[1] + h, x - ring_box[0] : x - ring_box[0] + w] = np.nan
        ring_level = float(np.nanmean(ring)) if np.isfinite(ring).any() else 0.0
        density = float((inside >= PERSISTENT).mean())
        if density < 0.04 or ring_level > max(0.25, 0.6 * float(inside.mean())):
            continue  # a static scene, not a logo on a moving one
        # prefer corners: broadcasters put their bug there
        cx, cy = (x + w / 2) / aw, (y + h / 2) / ah
        corner_bonus = 1.5 if min(cx, 1 - cx) < CORNER[0] and min(cy, 1 - cy) < CORNER[1] else 1.0
        score = float(inside[inside >= PERSISTENT].sum()) * corner_bonus
        pad = 3
        box = (
            int((x - pad) / scale), int((y - pad) / scale),
            int(np.ceil((x + w + pad) / scale)), int(np.ceil((y + h + pad) / scale)),
        )  # fmt: skip
        found.append(
            (score, (max(0, box[0]), max(0, box[1]), min(info.width, box[2]), min(info.height, box[3])))
        )
    found.sort(key=lambda item: -item[0])
    return [box for _, box in found[:2]]


def run(ctx: JobContext) -> AlgorithmResult:
    info = _video.probe(ctx.input_path)
    # The catalog gives the boxes as Boxes (MPS spells it Logo), one or two normalised ones.
    if "Boxes" in ctx.params:
        boxes = [_regions.to_pixels(b, info.width, info.height) for b in ctx.params["Boxes"]]
    else:
        boxes = find_logos(ctx, info, set(ctx.params["LogoModel"].split(",")))
        ctx.log(f"found logo boxes {boxes}")
    # Each box is filled from a band around it; only the box (plus that band) is converted to BGR and
    # back, the rest of every frame goes to the encoder in the decoder's own YUV.
    w, h = info.width - info.width % 2, info.height - info.height % 2
    work: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
    for x0, y0, x1, y1 in boxes:
        crop = _video.even_box(_regions.grow((x0, y0, x1, y1), FILL_BAND, w, h), w, h)
        mask = np.zeros((crop[3] - crop[1], crop[2] - crop[0]), np.uint8)
        mask[max(0, y0 - crop[1]) : y1 - crop[1], max(0, x0 - crop[0]) : x1 - crop[0]] = 255
        work.append((crop, mask))

    target = ctx.new_output(ext=".mp4")
    tmp = Path(ctx.workdir) / "delogo.video-only.mp4"
    with _video.VideoWriter(
        tmp, info.width, info.height, info.fps, threads=ctx.threads, in_format="yuv420p"
    ) as writer:
        for _i, _t, frame in _video.iter_raw_frames(ctx.input_path, threads=ctx.threads):
            if frame.format.name != "yuv420p" or (frame.width, frame.height) != (w, h):
                frame = frame.reformat(width=w, height=h, format="yuv420p")
            yuv = frame.to_ndarray()
            for crop, mask in work:
                bgr = _video.yuv_crop_to_bgr(yuv, w, h, crop)
                _video.paste_bgr(yuv, w, h, _regions.fill(bgr, mask), crop, mask)
            writer.write(yuv)
        if writer.frames_written == 0:
            raise AlgorithmError("Input: no video frame could be decoded")
    _video.add_source_audio(tmp, ctx.input_path, target.path, threads=ctx.threads)
    return AlgorithmResult(outputs=[target], result={})
