"""VideoDetext: remove burnt-in captions inside ``LimitRegion`` (default: bottom 30%) during ``Time``.

Caption pixels are found per frame without a model: captions are thin, high-contrast strokes, so a
morphological top-hat (bright strokes) and black-hat (dark outlines) with a kernel a little wider
than a stroke isolates them from smooth or large-scale picture content. Stroke pixels are grouped
into text lines (horizontal closing); only line-shaped groups of plausible caption height are kept,
and a pixel must also be text in the previous or next frame (captions stay on screen for many
frames, sparkles and noise do not). The mask is widened over anti-aliasing and outline, then
inpainted (OpenCV Telea). Frames outside ``Time`` are passed through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _regions, _video
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

CONTRAST = 40  # grey levels a stroke stands out from its neighbourhood
FILL_BAND = 16  # pixels around the strokes the fill learns the background from
CRF = 12  # x264 quality of the output: untouched frames come back at >= 45 dB


def text_mask(image: np.ndarray, boxes: list[_regions.Box]) -> np.ndarray:
    """uint8 mask (255 = caption stroke) of the frame, non-zero only inside ``boxes``."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    k = max(9, h // 24) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    for x0, y0, x1, y1 in boxes:
        gray = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        bright = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kernel) > CONTRAST
        dark = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel) > CONTRAST
        strokes = bright | dark
        strokes_u8 = strokes.astype(np.uint8)
        lines = cv2.morphologyEx(
            strokes_u8, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k * 2, 3))
        )
        count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        _, bright_parts = cv2.connectedComponents(bright.astype(np.uint8), connectivity=8)
        _, dark_parts = cv2.connectedComponents(dark.astype(np.uint8), connectivity=8)
        keep = np.zeros(count, bool)
        for i in range(1, count):
            bx, by, bw, bh = stats[i, :4]
            if not (0.02 * h <= bh <= 0.2 * h and bw >= 1.5 * bh):
                continue
            inside = labels[by : by + bh, bx : bx + bw] == i
            fill = float(strokes[by : by + bh, bx : bx + bw][inside].sum()) / (bw * bh)
            # A caption line is many separate glyph strokes; a bar or an object's rim is one or two blobs.
            pieces = len(np.unique(bright_parts[by : by + bh, bx : bx + bw][inside])) + len(
                np.unique(dark_parts[by : by + bh, bx : bx + bw][inside])
            )
            keep[i] = 0.08 <= fill <= 0.85 and pieces >= 6
        mask[y0:y1, x0:x1] = np.where(keep[labels] & strokes, 255, 0).astype(np.uint8)
    return mask


def run(ctx: JobContext) -> AlgorithmResult:
    info = _video.probe(ctx.input_path)
    # The catalog fills the default region and gives Time as [[start, end], ...] (one range unless
    # ModelId allows several); without Time the whole video is cleaned.
    boxes = [_regions.to_pixels(r, info.width, info.height) for r in ctx.params["LimitRegion"]]
    ranges = ctx.params.get("Time")

    def active(t: float) -> bool:
        return ranges is None or any(a <= t <= b for a, b in ranges)

    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    near = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))  # captions do not move
    tmp = Path(ctx.workdir) / "detext.video-only.mp4"
    removed = 0
    w, h = info.width - info.width % 2, info.height - info.height % 2

    line_kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(9, info.height // 24) * 2, 5))

    @dataclass
    class Item:
        frame: Any  # the decoded av.VideoFrame, encoded as it is when nothing is removed
        image: np.ndarray | None = None  # BGR, only for frames inside Time
        raw: np.ndarray | None = None  # raw text mask
        gray: np.ndarray | None = None  # grey, int16

    def still(mask: np.ndarray, gray: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
        """Keep only text lines whose picture is unchanged in a neighbouring frame (captions stand still)."""
        # work on the rows that hold text (plus the closing kernel's reach), not the whole frame
        rows = np.flatnonzero(mask.any(axis=1))
        r0, r1 = max(0, int(rows[0]) - 3), min(mask.shape[0], int(rows[-1]) + 4)
        lines = cv2.morphologyEx(mask[r0:r1], cv2.MORPH_CLOSE, line_kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        keep = np.zeros(count, bool)
        for i in range(1, count):
            x, y, lw, lh = stats[i, :4]
            y += r0
            crop = gray[y : y + lh, x : x + lw]
            diffs = [float(np.abs(crop - o[y : y + lh, x : x + lw]).mean()) for o in others]
            keep[i] = bool(diffs) and min(diffs) < 6.0
        out = np.zeros_like(mask)
        out[r0:r1] = np.where(keep[labels], mask[r0:r1], 0)
        return out

    def cleaned(cur: Item, prev: Item | None, nxt: Item | None) -> np.ndarray | None:
        """The frame as yuv420p with its captions filled, or None when nothing is to be removed."""
        nonlocal removed
        if cur.raw is None or cur.image is None or not cur.raw.any():
            return None
        neighbours = [n for n in (prev, nxt) if n is not None and n.raw is not None]
        if not neighbours:
            return None
        around = neighbours[0].raw
        for n in neighbours[1:]:
            around = cv2.bitwise_or(around, n.raw)
        stable = cv2.bitwise_and(cur.raw, cv2.dilate(around, near))
        if stable.any():
            stable = still(stable, cur.gray, [n.gray for n in neighbours if n.gray is not None])
        if not stable.any():
            return None
        mask = cv2.dilate(stable, grow, iterations=2)
        frame = cur.frame
        if frame.format.name != "yuv420p" or (frame.width, frame.height) != (w, h):
            frame = frame.reformat(width=w, height=h, format="yuv420p")
        yuv = frame.to_ndarray()
        for box in boxes:
            # only the crop around this box's strokes is converted, filled and written back
            x0, y0, x1, y1 = _regions.grow(box, FILL_BAND, w, h)
            ys, xs = np.nonzero(mask[y0:y1, x0:x1])
            if ys.size == 0:
                continue
            crop = _regions.grow((x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1,
                                  y0 + int(ys.max()) + 1), FILL_BAND, w, h)  # fmt: skip
            cx0, cy0, cx1, cy1 = crop = _video.even_box(crop, w, h)
            # strokes of this box only (another box's strokes are known pixels here, as in the source)
            sub = np.zeros((cy1 - cy0, cx1 - cx0), np.uint8)
            bx0, by0, bx1, by1 = _regions.grow(box, FILL_BAND, w, h)
            ix0, iy0, ix1, iy1 = max(cx0, bx0), max(cy0, by0), min(cx1, bx1), min(cy1, by1)
            sub[iy0 - cy0 : iy1 - cy0, ix0 - cx0 : ix1 - cx0] = mask[iy0:iy1, ix0:ix1]
            bgr = cur.image[cy0:cy1, cx0:cx1]  # the same pixels yuv_crop_to_bgr would give
            _video.paste_bgr(yuv, w, h, _regions.fill(bgr, sub), crop, sub)
        removed += 1
        return yuv

    def emit(writer: _video.VideoWriter, cur: Item, prev: Item | None, nxt: Item | None) -> None:
        yuv = cleaned(cur, prev, nxt)
        if yuv is None:
            writer.write_frame(cur.frame)  # untouched: the decoder's pixels, no colour conversion
        else:
            writer.write(yuv)

    # One frame of look-ahead: frame t is written once frame t+1 is known.
    with _video.VideoWriter(tmp, info.width, info.height, info.fps, threads=ctx.threads, crf=CRF,
                            in_format="yuv420p") as writer:  # fmt: skip
        prev: Item | None = None
        current: Item | None = None
        for _i, t, frame in _video.iter_raw_frames(ctx.input_path, threads=ctx.threads):
            item = Item(frame)
            if active(t):
                item.image = frame.to_ndarray(format="bgr24")
                item.raw = text_mask(item.image, boxes)
                item.gray = cv2.cvtColor(item.image, cv2.COLOR_BGR2GRAY).astype(np.int16)
            if current is not None:
                emit(writer, current, prev, item)
            prev, current = current, item
        if current is None:
            raise AlgorithmError("Input: no video frame could be decoded")
        emit(writer, current, prev, None)
    ctx.log(f"captions removed in {removed} frames")
    target = ctx.new_output(ext=".mp4")
    if removed == 0 and _video.copy_source(ctx.input_path, target.path, threads=ctx.threads):
        return AlgorithmResult(outputs=[target], result={})  # nothing removed: the source, bit-exact
    _video.add_source_audio(tmp, ctx.input_path, target.path, threads=ctx.threads)
    return AlgorithmResult(outputs=[target], result={})
