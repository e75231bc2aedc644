"""Burnt-in caption reading shared by CaptionExtraction and HybridCaptionExtraction.

Pipeline: PyAV decodes the video and keeps the frame nearest each sample time ``k / fps``; the caption
region (roi) is cropped; a change gate decides whether the crop must be read again (most samples show
the same caption as the previous one, and the recogniser is by far the costliest step); the text
detector finds line boxes, boxes whose strokes match a line already read reuse its text, the others go
to the recogniser; consecutive samples with (fuzzily) equal text become one cue.

OCR is rapidocr 3.10 with the PP-OCRv6 "small" detector and recogniser that ship inside its wheel. The
recogniser is multilingual (Chinese, English and mixed text in one model), so ``ch``, ``en`` and
``ch_ml`` all use the same files. Model paths are passed explicitly, which keeps rapidocr off its
download branch: a missing file is an error here, never a download.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError

# The detector works on the crop scaled so that its longer side is at most this (a wide caption strip
# would otherwise be upscaled to thousands of pixels by rapidocr's defaults: seconds per frame).
DET_MAX_SIDE = 640
MIN_LINE_SCORE = 0.75  # recogniser confidence below this is background clutter, not a caption
SAME_TEXT = 0.8  # normalised similarity at or above which two readings are the same caption
STROKE_MATCH = 0.6  # share of a line's edge pixels that must reappear for it to count as unchanged
STACK = 3  # samples of a new line whose per-pixel median is recognised (moving background averages out)

_MODEL_FILES = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


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


# ---------------------------------------------------------------- OCR engine (offline only)
def model_paths() -> dict[str, Path]:
    """The model files inside the installed rapidocr wheel; refuse to run (never download) without them."""
    import rapidocr

    root = Path(rapidocr.__file__).resolve().parent / "models"
    paths = {k: root / name for k, name in _MODEL_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise AlgorithmError(
            f"OCR models missing from the installed rapidocr package: {', '.join(missing)}; "
            "install rapidocr==3.10.0 (its wheel ships them; nothing is downloaded at run time)",
            code="InternalError",
        )
    return paths


@dataclass
class Line:
    """One caption row in a crop: its box (x0, y0, x1, y1 in crop pixels), text and confidence."""

    box: tuple[int, int, int, int]
    text: str = ""  # filled in once recognised (recognition waits for a few samples, see CaptionReader)
    score: float = 0.0
    edges: np.ndarray | None = field(default=None, repr=False)
    patches: list[np.ndarray] = field(default_factory=list, repr=False)
    done: bool = False  # recognised

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


class CaptionOcr:
    """rapidocr's detector and recogniser used separately, so that unchanged lines skip recognition."""

    _lock = threading.Lock()

    def __init__(self, threads: int = 1) -> None:
        from rapidocr import RapidOCR

        paths = model_paths()
        engine = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,  # captions are horizontal: the angle classifier only costs time
                "Det.model_path": str(paths["det"]),
                "Rec.model_path": str(paths["rec"]),
                "Cls.model_path": str(paths["cls"]),
                "Det.limit_type": "max",
                "Det.limit_side_len": DET_MAX_SIDE,
                "EngineConfig.onnxruntime.intra_op_num_threads": max(1, threads),
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        # rapidocr 3.10 exposes the stages only through these loaders; the version is pinned.
        self._det = engine._load_det_model()
        self._rec = engine._load_rec_model()
        if not self._rec.session.have_key():
            raise AlgorithmError("OCR recogniser model has no character table", code="InternalError")

    def detect(self, crop: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Axis-aligned boxes of text in ``crop`` (BGR), rows split by the detector merged into one."""
        out = self._det(crop)
        if out.boxes is None or len(out.boxes) == 0:
            return []
        h, w = crop.shape[:2]
        boxes = []
        for quad in np.asarray(out.boxes):
            x0, y0 = np.floor(quad.min(axis=0)).astype(int)
            x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 - x0 >= 4 and y1 - y0 >= 6:
                boxes.append((int(x0), int(y0), int(x1), int(y1)))
        return merge_rows(boxes)

    def recognize(self, crop: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[tuple[str, float]]:
        """Text and mean character confidence for each box of ``crop``."""
        return self.recognize_images([crop[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes])

    def recognize_images(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and mean character confidence of each single-line BGR image."""
        if not images:
            return []
        import cv2
        from rapidocr.ch_ppocr_rec import TextRecInput

        # A margin around the line keeps the recogniser from gluing the first or last word to its
        # neighbour ("Thequick"); replicated edge pixels add no clutter from outside the box.
        images = [
            cv2.copyMakeBorder(im, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            for im in images
            for pad in [max(4, round(0.2 * im.shape[0]))]
        ]
        out = self._rec(TextRecInput(img=images))
        return [(str(t), float(s)) for t, s in zip(out.txts, out.scores, strict=True)]


def merge_rows(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Merge boxes that sit on the same row and nearly touch: the detector sometimes cuts a caption
    line in two, and reading the whole line at once keeps word spacing right."""
    boxes = sorted(boxes, key=lambda b: (b[1] + b[3]) / 2)
    rows: list[list[int]] = []
    for x0, y0, x1, y1 in boxes:
        for row in rows:
            overlap = min(y1, row[3]) - max(y0, row[1])
            height = min(y1 - y0, row[3] - row[1])
            gap = max(x0 - row[2], row[0] - x1)
            similar = height >= 0.7 * max(y1 - y0, row[3] - row[1])
            if similar and overlap > 0.5 * height and gap < 0.8 * max(y1 - y0, row[3] - row[1]):
                row[:] = [min(x0, row[0]), min(y0, row[1]), max(x1, row[2]), max(y1, row[3])]
                break
        else:
            rows.append([x0, y0, x1, y1])
    return sorted((tuple(r) for r in rows), key=lambda b: (b[1], b[0]))  # type: ignore[misc]


# ---------------------------------------------------------------- change gate
def _edges(gray: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.Canny(gray, 80, 200) > 0


def stroke_match(ref_edges: np.ndarray | None, edges: np.ndarray) -> float:
    """Share of a line's edge pixels found again at exactly the same place.

    Caption strokes are pixel-static while they are shown and the background behind them is not:
    the same caption scores about 0.9 over moving video, other text in the same place about 0.35 and
    no text about 0.1 (measured on drawn Chinese and English lines over testsrc2)."""
    if ref_edges is None or ref_edges.shape != edges.shape or not ref_edges.any():
        return 0.0
    return float((ref_edges & edges).sum() / ref_edges.sum())


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
        present = [stroke_match(ln.edges, _cut(edges, ln.box)) >= STROKE_MATCH for ln in self._lines]
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
            self._recognize(
                [ln for ln, ok in zip(self._lines, present, strict=True) if not ln.done and not ok]
            )
            self._stack(crop, [ln for ln, ok in zip(self._lines, present, strict=True) if ok])
            return self._lines, []
        self._settled = True
        self.stats.detections += 1
        kept: list[Line] = []
        fresh: list[Line] = []
        for box in self.ocr.detect(crop):
            old = next(
                (
                    ln
                    for ln in self._lines
                    if _iou(box, ln.box) >= 0.7
                    and stroke_match(ln.edges, _cut(edges, ln.box)) >= STROKE_MATCH
                ),
                None,
            )
            if old is not None:
                if old not in kept:
                    kept.append(old)
            else:
                fresh.append(Line(box, edges=_cut(edges, box)))
        gone = [ln for ln in self._lines if ln not in kept]
        self._recognize([ln for ln in gone if not ln.done])
        backdated = []
        if previous is not None and previous_crop is not None:
            for ln in fresh:
                if stroke_match(ln.edges, _cut(previous, ln.box)) >= STROKE_MATCH:
                    backdated.append(ln)
                    ln.patches.append(_cut(previous_crop, ln.box))
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
            ln.patches.append(_cut(crop, ln.box))
        self._recognize([ln for ln in waiting if len(ln.patches) >= STACK])

    def _recognize(self, lines: list[Line]) -> None:
        for ln in lines:
            ln.done = ln.done or not ln.patches  # nothing to read: stays without text
        lines = [ln for ln in lines if not ln.done]
        if not lines:
            return
        self.stats.recognitions += len(lines)
        images = [np.median(np.stack(ln.patches), axis=0).astype(np.uint8) for ln in lines]
        for ln, (text, score) in zip(lines, self.ocr.recognize_images(images), strict=True):
            ln.text, ln.score, ln.patches, ln.done = clean_text(text, self.lang), score, [], True


def _outside(shape: tuple[int, ...], lines: list[Line]) -> np.ndarray:
    mask = np.ones(shape[:2], bool)
    for ln in lines:
        x0, y0, x1, y1 = ln.box
        mask[y0:y1, x0:x1] = False
    return mask


def _cut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


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


# ---------------------------------------------------------------- cues
@dataclass
class Track:
    """A run of samples showing one caption block (one or more adjacent rows)."""

    start: float
    last: float
    y0: int
    y1: int
    x0: int
    x1: int
    votes: dict[str, float] = field(default_factory=dict)  # reading -> summed confidence over samples
    scores: list[float] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return max(self.votes.items(), key=lambda kv: kv[1])[0]

    @property
    def confidence(self) -> float:
        return float(np.mean(self.scores)) if self.scores else 0.0

    def add(self, t: float, text: str, score: float, box: tuple[int, int, int, int]) -> None:
        self.last = t
        self.votes[text] = self.votes.get(text, 0.0) + score
        self.scores.append(score)
        self.samples.append(t)
        self.x0, self.y0 = min(self.x0, box[0]), min(self.y0, box[1])
        self.x1, self.y1 = max(self.x1, box[2]), max(self.y1, box[3])


def blocks(lines: list[Line]) -> list[tuple[str, float, tuple[int, int, int, int]]]:
    """Group rows that stack closely (a two-line caption) into one block: text joined by newline."""
    groups: list[list[Line]] = []
    readable = [ln for ln in lines if ln.text and ln.score >= MIN_LINE_SCORE]
    for line in sorted(readable, key=lambda ln: ln.box[1]):
        if groups:
            last = groups[-1][-1]
            gap = line.box[1] - last.box[3]
            overlap_x = min(line.box[2], last.box[2]) - max(line.box[0], last.box[0])
            if gap < 0.25 * max(line.height, last.height) and overlap_x > 0:
                groups[-1].append(line)
                continue
        groups.append([line])
    out = []
    for group in groups:
        box = (
            min(ln.box[0] for ln in group),
            min(ln.box[1] for ln in group),
            max(ln.box[2] for ln in group),
            max(ln.box[3] for ln in group),
        )
        out.append(("\n".join(ln.text for ln in group), min(ln.score for ln in group), box))
    return out


def build_tracks(readings: list[Reading], step: float) -> list[Track]:
    """Consecutive samples whose block text is the same (fuzzily) and in the same place make a track."""
    open_tracks: list[Track] = []
    done: list[Track] = []
    for reading in readings:
        still_open: list[Track] = []
        for text, score, box in blocks(reading.lines):
            match = None
            for track in open_tracks:
                vertical = min(box[3], track.y1) - max(box[1], track.y0)
                if vertical > 0 and similarity(text, track.text) >= SAME_TEXT:
                    match = track
                    break
            if match is None:
                match = Track(reading.t, reading.t, box[1], box[3], box[0], box[2])
            else:
                open_tracks.remove(match)
            match.add(reading.t, text, score, box)
            still_open.append(match)
        done.extend(open_tracks)  # not seen in this sample: the caption has gone
        open_tracks = still_open
    done.extend(open_tracks)
    # A reading seen once with middling confidence is a flicker of background texture, not a caption.
    kept = [t for t in done if len(t.samples) > 1 or t.confidence >= 0.9]
    return sorted(kept, key=lambda tr: (tr.start, tr.y0))


def main_track(tracks: list[Track]) -> list[Track]:
    """Keep the dominant caption track: the vertical band where caption area x time is largest."""
    if not tracks:
        return []

    def weight(tr: Track) -> float:
        return (tr.x1 - tr.x0) * (tr.y1 - tr.y0) * len(tr.samples)

    best, best_weight = tracks[0], -1.0
    for candidate in tracks:
        total = sum(weight(tr) for tr in tracks if _same_band(candidate, tr))
        if total > best_weight:
            best, best_weight = candidate, total
    return [tr for tr in tracks if _same_band(best, tr)]


def _same_band(a: Track, b: Track) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.y1 - a.y0, b.y1 - b.y0)
