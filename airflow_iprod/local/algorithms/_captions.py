"""Burnt-in caption reading shared by CaptionExtraction and HybridCaptionExtraction.

Pipeline: PyAV decodes the video and keeps the frame nearest each sample time ``k / fps``; the caption
region (roi) is cropped; a change gate decides whether the crop must be read again (most samples show
the same caption as the previous one, and the recogniser is by far the costliest step); the text
detector finds line boxes, boxes whose strokes match a line already read reuse its text, the others go
to the recogniser; consecutive samples with (fuzzily) equal text become one cue.
The OCR engine is in ``_caption_ocr``, the grouping of readings into cues in ``_caption_tracks``.

OCR is rapidocr 3.10 with the PP-OCRv6 "small" detector and recogniser that ship inside its wheel. The
recogniser is multilingual (Chinese, English and mixed text in one model), so ``ch``, ``en`` and
``ch_ml`` all use the same files. Model paths are passed explicitly, which keeps rapidocr off its
download branch: a missing file is an error here, never a download.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from airflow_iprod.local.algorithms._caption_ocr import SMALL_LINE, ZOOM_RETRY, CaptionOcr, det_scale
from airflow_iprod.local.algorithms.base import AlgorithmError

MIN_LINE_SCORE = 0.75  # recogniser confidence below this is background clutter, not a caption
SAME_TEXT = 0.8  # normalised similarity at or above which two readings are the same caption
REFINE_MATCH = 0.45  # beyond-chance match from which a line's reference edges are cut to its strokes
STROKE_MATCH = 0.6  # share of a line's edge pixels that must reappear for it to count as unchanged
STACK = 5  # samples of a new line whose per-pixel median is recognised (moving background averages out)


# ---------------------------------------------------------------- text helpers
def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """1 - edit distance / longer length, ignoring spaces (OCR often drops or adds one)."""
    a, b = a.replace(" ", ""), b.replace(" ", "")
    if not a and not b:
        return 1.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


def is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def clean_text(text: str, lang: str) -> str:
    """Tidy one recognised line: collapse spaces, no space between two CJK characters, and for
    English-only captions fold full-width forms (a Chinese-trained model likes ``，``) to ASCII."""
    if lang == "en":
        text = unicodedata.normalize("NFKC", text)
    text = " ".join(text.split())
    out = []
    for i, ch in enumerate(text):
        if ch == " " and 0 < i < len(text) - 1 and is_cjk(text[i - 1]) and is_cjk(text[i + 1]):
            continue
        out.append(ch)
    return "".join(out)


def join_text(left: str, right: str) -> str:
    """Join two pieces of one row: a space between Latin words, none next to CJK characters."""
    if not left or not right:
        return left + right
    if is_cjk(left[-1]) or is_cjk(right[0]):
        return left + right
    return f"{left} {right}"


@dataclass
class Line:
    """One caption row in a crop: its box (x0, y0, x1, y1 in crop pixels), text and confidence."""

    box: tuple[int, int, int, int]
    text: str = ""  # filled in once recognised (recognition waits for a few samples, see CaptionReader)
    score: float = 0.0
    edges: np.ndarray | None = field(default=None, repr=False)
    patches: list[np.ndarray] = field(default_factory=list, repr=False)  # row bands, see _band
    done: bool = False  # recognised
    refined: bool = False  # ``edges`` cut down to the strokes seen in two samples (see ``_present``)

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


# ---------------------------------------------------------------- change gate
GRAIN_SIGMA = 8.0  # estimated pixel noise above which edges are found on a smoothed crop


def _edges(gray: np.ndarray) -> np.ndarray:
    """Canny edges; on a grainy crop (film grain, sensor noise) after a 5x5 Gaussian, since grain
    otherwise gives edges as dense as the strokes' and every test built on edges turns to chance."""
    import cv2

    residual = np.abs(gray.astype(np.int16) - cv2.medianBlur(gray, 3).astype(np.int16))
    if 1.4826 * float(np.median(residual)) > GRAIN_SIGMA:
        gray = cv2.GaussianBlur(gray, (5, 5), 0)
    return cv2.Canny(gray, 80, 200) > 0


def stroke_match(ref_edges: np.ndarray | None, edges: np.ndarray) -> float:
    """Share of a line's edge pixels found again at exactly the same place, beyond chance.

    Caption strokes are pixel-static while they are shown and the background behind them is not:
    the same caption scores about 0.9 over moving video, other text in the same place about 0.35 and
    no text about 0.1 (measured on drawn Chinese and English lines over testsrc2). Chance (the
    density of edges in the box now) is taken out, so busy texture cannot keep a gone line alive."""
    if ref_edges is None or ref_edges.shape != edges.shape or not ref_edges.any():
        return 0.0
    raw = float((ref_edges & edges).sum() / ref_edges.sum())
    chance = float(edges.mean())
    return max(0.0, (raw - chance) / max(1e-6, 1.0 - chance))


def static_excess(current: np.ndarray, previous: np.ndarray, mask: np.ndarray) -> float:
    """Edge pixels (inside ``mask``) present in both samples, minus what chance alone would give.

    A caption that has just appeared adds its whole stroke outline here from its second sample on,
    while moving video and grain only add chance coincidences, which the subtraction removes."""
    a, b = current & mask, previous & mask
    n = max(1, int(mask.sum()))
    return float((a & b).sum() - a.sum() * b.sum() / n)


def _small(gray: np.ndarray) -> np.ndarray:
    import cv2

    h, w = gray.shape
    scale = min(1.0, 160 / max(w, 1))
    return cv2.resize(
        gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )


def crop_changed(previous: np.ndarray | None, current: np.ndarray) -> bool:
    """Cheap test on a downscaled crop: did anything visible change since the previous sample?"""
    if previous is None or previous.shape != current.shape:
        return True
    diff = np.abs(previous.astype(np.int16) - current.astype(np.int16))
    return bool((diff > 24).mean() > 0.002)


# ---------------------------------------------------------------- per-sample reading
@dataclass
class Reading:
    """The caption lines seen in one sample, at time ``t`` (seconds from the video start)."""

    t: float
    lines: list[Line]


@dataclass
class ReaderStats:
    samples: int = 0
    detections: int = 0
    recognitions: int = 0  # lines sent to the recogniser


class CaptionReader:
    """Reads the caption lines of successive crops, reusing earlier results wherever it can.

    The detector runs only when a known line's strokes are gone, or when new static structure shows
    up outside the known lines (see ``static_excess``); the recogniser only for lines not known yet.
    Static structure is seen from a caption's second sample, so a line found that way is also
    checked against the previous sample and, if it was there already, dated back to it."""

    def __init__(self, ocr: CaptionOcr, lang: str) -> None:
        self.ocr = ocr
        self.lang = lang
        self.stats = ReaderStats()
        self._lines: list[Line] = []
        self._small: np.ndarray | None = None
        self._edges: np.ndarray | None = None
        self._crop: np.ndarray | None = None
        self._excess = 0.0
        self._settled = False

    def read(self, crop: np.ndarray) -> tuple[list[Line], list[Line]]:
        """Lines of this sample, and lines that the previous sample showed as well but lacked.

        A new line's text arrives later (``finish`` or a later ``read`` fills it in): the same
        ``Line`` object is shared by every sample it appears in."""
        import cv2

        self.stats.samples += 1
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        small = _small(gray)
        changed = crop_changed(self._small, small)
        self._small = small
        # Skip the rest only if the previous sample was fully settled too: a caption that appeared
        # there is first seen as static structure now, even though this crop equals the last one.
        if not changed and self._settled:
            self._stack(crop, self._lines)
            return self._lines, []
        edges = _edges(gray)
        previous, self._edges = self._edges, edges
        previous_crop, self._crop = self._crop, crop
        present = [_present(ln, _cut(edges, ln.box)) for ln in self._lines]
        # Only read caption lines must persist; clutter the recogniser could not read may come and go,
        # and a line still waiting for samples is simply read from those it has when it goes.
        known_ok = all(ok for ok, ln in zip(present, self._lines, strict=True) if ln.score >= MIN_LINE_SCORE)
        new_static = False
        if previous is not None:
            excess = static_excess(edges, previous, _outside(edges.shape, self._lines))
            # Compared with the previous sample's figure: a caption makes it jump by its whole outline
            # (thousands of pixels), moving clutter only wobbles it.
            new_static = excess - self._excess > max(100.0, 2.5 * edges.shape[0])
            self._excess = excess
        if previous is not None and known_ok and not new_static:
            self._settled = not changed
            # A line still waiting for samples whose strokes are gone has ended: read it from the
            # samples it has, and leave it out of this sample (it would otherwise run on unseen).
            ended = [ln for ln, ok in zip(self._lines, present, strict=True) if not ln.done and not ok]
            self._recognize(ended)
            self._stack(crop, [ln for ln, ok in zip(self._lines, present, strict=True) if ok])
            self._lines = [ln for ln in self._lines if ln not in ended]
            return self._lines, []
        self._settled = True
        self.stats.detections += 1
        kept: list[Line] = []
        fresh: list[Line] = []
        for box in self.ocr.detect(crop):
            old = next(
                (ln for ln in self._lines if _iou(box, ln.box) >= 0.7 and _present(ln, _cut(edges, ln.box))),
                None,
            )
            if old is not None:
                if old not in kept:
                    kept.append(old)
            else:
                fresh.append(Line(box, edges=_cut(edges, box)))
        if not fresh and new_static:
            # New static structure (a caption appearing) and the detector found nothing new: small
            # text over busy texture is missed at the usual scale, so look again, closer, for small
            # lines only (larger ones the first look finds, and finds cut the same way each time).
            self.stats.detections += 1
            small = SMALL_LINE / det_scale(crop)
            for box in self.ocr.detect(crop, zoom=ZOOM_RETRY):
                if box[3] - box[1] < small and not any(_overlaps(box, ln.box) for ln in kept):
                    fresh.append(Line(box, edges=_cut(edges, box)))
        gone = [ln for ln in self._lines if ln not in kept]
        self._recognize([ln for ln in gone if not ln.done])
        backdated = []
        if previous is not None and previous_crop is not None:
            for ln in fresh:
                if _present(ln, _cut(previous, ln.box)):
                    backdated.append(ln)
                    ln.patches.append(_band(previous_crop, ln.box))
        lines = sorted(kept + fresh, key=lambda ln: (ln.box[1], ln.box[0]))
        self._lines = lines
        self._stack(crop, lines)
        if previous is not None:
            self._excess = static_excess(edges, previous, _outside(edges.shape, lines))
        return lines, backdated

    def finish(self) -> None:
        """Recognise the lines still waiting for samples (call once after the last ``read``)."""
        self._recognize([ln for ln in self._lines if not ln.done])

    def _stack(self, crop: np.ndarray, lines: list[Line]) -> None:
        waiting = [ln for ln in lines if not ln.done]
        for ln in waiting:
            ln.patches.append(_band(crop, ln.box))
        self._recognize([ln for ln in waiting if len(ln.patches) >= STACK])

    def _recognize(self, lines: list[Line]) -> None:
        for ln in lines:
            ln.done = ln.done or not ln.patches  # nothing to read: stays without text
        lines = [ln for ln in lines if not ln.done]
        if not lines:
            return
        self.stats.recognitions += len(lines)
        images = [self._line_images(ln) for ln in lines]
        for ln, (text, score) in zip(lines, self.ocr.recognize_voted(images), strict=True):
            ln.text, ln.score, ln.patches, ln.done = clean_text(text, self.lang), score, [], True

    def _line_images(self, line: Line) -> list[np.ndarray]:
        """The line cut from the per-pixel median of its samples' row bands, in the box it was found
        in and in the box the detector finds in the median: a busy background can hide a line's end
        from the detector in the one sample where it was found, while in the median the moving
        background fades and the static text stays. The recogniser is fickle about the exact box, so
        both go to it and the surer reading wins."""
        band = np.median(np.stack(line.patches), axis=0).astype(np.uint8)
        top = _band_top(line.box)
        x0, y0, x1, y1 = line.box[0], line.box[1] - top, line.box[2], line.box[3] - top
        boxes = [(x0, y0, x1, y1)]
        self.stats.detections += 1
        # Small text is found reliably only closer up (see ``ZOOM_RETRY``); a band is only a few rows.
        zoom = ZOOM_RETRY if line.height * det_scale(band) < SMALL_LINE else 1.0
        found = [
            b
            for b in self.ocr.detect(band, zoom=zoom)
            if min(b[3], y1) - max(b[1], y0) >= 0.5 * min(y1 - y0, b[3] - b[1])
            and min(b[2], x1) - max(b[0], x0) > 0
        ]
        if found:
            fx0, fx1 = min(b[0] for b in found), max(b[2] for b in found)
            fy0, fy1 = min(b[1] for b in found), max(b[3] for b in found)
            boxes.append((min(x0, fx0), y0, max(x1, fx1), y1))  # maybe longer
            boxes.append((fx0, fy0, fx1, fy1))  # maybe without clutter above or below
        distinct: list[tuple[int, int, int, int]] = []
        for box in boxes:  # boxes within a few pixels of one already kept would read the same
            if all(max(abs(p - q) for p, q in zip(box, d, strict=True)) > 0.15 * (y1 - y0) for d in distinct):
                distinct.append(box)
        return [band[b1:b3, b0:b2] for b0, b1, b2, b3 in distinct]


def _band_top(box: tuple[int, int, int, int]) -> int:
    return max(0, box[1] - (box[3] - box[1]) // 2)


def _band(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The full-width rows of ``image`` around ``box``, half a line height above and below."""
    return image[_band_top(box) : box[3] + (box[3] - box[1]) // 2]


def _present(line: Line, edges: np.ndarray) -> bool:
    """Are ``line``'s strokes in ``edges`` (its box in another sample)?

    A line's edges as first found hold the background's edges inside its box too; over grain or
    texture they are a large share, and a caption still shown then matches little better than
    ``STROKE_MATCH``. So the first time it plausibly matches, the reference is cut down to the edges
    found in both samples (the strokes), and the test is made against that."""
    match = stroke_match(line.edges, edges)
    if line.refined or match < REFINE_MATCH or line.edges is None:
        return match >= STROKE_MATCH
    both = line.edges & edges
    if both.sum() >= 0.3 * line.edges.sum():
        line.edges, line.refined = both, True
        return True
    return match >= STROKE_MATCH


def _outside(shape: tuple[int, ...], lines: list[Line]) -> np.ndarray:
    mask = np.ones(shape[:2], bool)
    for ln in lines:
        x0, y0, x1, y1 = ln.box
        mask[y0:y1, x0:x1] = False
    return mask


def _cut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


# ---------------------------------------------------------------- decoding
@dataclass(frozen=True)
class PixelRoi:
    x0: int
    y0: int
    x1: int
    y1: int


def roi_pixels(width: int, height: int, top: float, bottom: float, left: float, right: float) -> PixelRoi:
    x0, x1 = round(left * width), round(right * width)
    y0, y1 = round(top * height), round(bottom * height)
    if x1 - x0 < 16 or y1 - y0 < 16:  # needs the video's size, so the catalog cannot check it
        raise AlgorithmError(
            f"JobParams.roi: top {top:g}, bottom {bottom:g}, left {left:g}, right {right:g} is only "
            f"{x1 - x0}x{y1 - y0} pixels of this {width}x{height} video; allowed: at least 16x16 pixels"
        )
    return PixelRoi(x0, y0, x1, y1)


def video_size(path: Path) -> tuple[int, int]:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise AlgorithmError("Input: the file has no video stream; a video file is required")
            stream = container.streams.video[0]
            return stream.codec_context.width, stream.codec_context.height
    except av.error.FFmpegError as exc:
        raise AlgorithmError(f"Input: not a readable video file ({exc}); a video file is required") from exc


def sample_frames(
    path: Path, fps: int, roi: PixelRoi, threads: int = 1
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(time, crop)`` for the decoded frame nearest each sample time ``k / fps``."""
    import av

    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise AlgorithmError(f"Input: not a readable video file ({exc}); a video file is required") from exc
    with container:
        if not container.streams.video:
            raise AlgorithmError("Input: the file has no video stream; a video file is required")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = max(1, threads)
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        half_frame = 0.5 / float(rate)
        origin: float | None = None
        step = 1.0 / fps
        k = 0
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            if origin is None:
                origin = (
                    frame.time if stream.start_time is None else float(stream.start_time * stream.time_base)
                )
            t = frame.time - origin
            if t + half_frame < k * step:
                continue
            image = frame.to_ndarray(format="bgr24")
            yield t, np.ascontiguousarray(image[roi.y0 : roi.y1, roi.x0 : roi.x1])
            while k * step <= t + half_frame:
                k += 1
