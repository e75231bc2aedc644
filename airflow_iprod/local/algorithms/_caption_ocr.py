"""rapidocr's text detector and recogniser, used separately by the caption reader (``_captions``).

OCR is rapidocr 3.10 with the PP-OCRv6 "small" detector and recogniser that ship inside its wheel. The
recogniser is multilingual (Chinese, English and mixed text in one model). Model paths are passed
explicitly, which keeps rapidocr off its download branch: a missing file is an error here, never a
download.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError

# The detector works on the crop scaled so that its longer side is at most this (a wide caption strip
# would otherwise be upscaled to thousands of pixels by rapidocr's defaults: seconds per frame).
DET_MAX_SIDE = 640
# At that scale 18 px text (5% of a 360 p frame) over busy texture is often missed outright; at twice
# the scale the same detector finds it, and finds less clutter (blocky texture looks less like glyphs
# when its blocks are larger than strokes). Four times the pixels, so it is the second try, not the first.
ZOOM_RETRY = 2.0
SMALL_LINE = 32  # line height in the detector's pixels (zoom 1) below which a line counts as small
SURE_CHAR_CONF = 0.9  # a reading whose every character is this sure is not read again another way
END_CHAR_CONF = 0.5  # a first or last character read with less confidence than this is dropped

_MODEL_FILES = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


def det_scale(image: np.ndarray) -> float:
    """The factor from ``image``'s pixels to the detector's at zoom 1."""
    return min(1.0, DET_MAX_SIDE / max(image.shape[:2]))


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


class CaptionOcr:
    """rapidocr's detector and recogniser used separately, so that unchanged lines skip recognition."""

    _lock = threading.Lock()

    def __init__(self, threads: int = 1) -> None:
        with CaptionOcr._lock, _without_spinning():
            self._load(threads)
        if not self._rec.session.have_key():
            raise AlgorithmError("OCR recogniser model has no character table", code="InternalError")

    def _load(self, threads: int) -> None:
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
                # ``detect`` scales the image itself; this only keeps rapidocr from scaling it again.
                "Det.limit_side_len": 4096,
                "EngineConfig.onnxruntime.intra_op_num_threads": max(1, threads),
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        # rapidocr 3.10 exposes the stages only through these loaders; the version is pinned.
        self._det = engine._load_det_model()
        self._rec = engine._load_rec_model()

    def detect(self, crop: np.ndarray, zoom: float = 1.0) -> list[tuple[int, int, int, int]]:
        """Axis-aligned boxes of text in ``crop`` (BGR), rows split by the detector merged into one.

        The detector sees ``crop`` scaled to ``DET_MAX_SIDE`` on its longer side (never up), times
        ``zoom``."""
        import cv2

        h, w = crop.shape[:2]
        scale = det_scale(crop) * zoom
        image = crop
        if abs(scale - 1.0) > 1e-3:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        out = self._det(image)
        if out.boxes is None or len(out.boxes) == 0:
            return []
        boxes = []
        for quad in np.asarray(out.boxes, dtype=np.float64) / scale:
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
        """Text and mean character confidence of each single-line BGR image, as the recogniser
        gives them (HybridCaptionExtraction's re-reading; ``recognize_voted`` trims and votes)."""
        return [(text, score) for text, score, _, _ in self._read(images, trim=False)]

    def _read(self, images: list[np.ndarray], trim: bool = True) -> list[tuple[str, float, float, float]]:
        """Text, mean and least character confidence, and evidence (see ``_trim``) of each line."""
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
        out = self._rec(TextRecInput(img=images, return_word_box=True))
        return [
            _trim(str(t), info.confs if trim else [], float(s))
            for t, s, info in zip(out.txts, out.scores, out.word_results, strict=True)
        ]

    def recognize_voted(self, images: list[list[np.ndarray]]) -> list[tuple[str, float]]:
        """For each line, the reading with the most evidence among its candidate crops, each read as
        is and, unless that reading is sure of every character, also inverted and upscaled 1.5x: one
        reading can drop or split a letter ("meet t he") where another is sure of it, and a crop that
        cut the line short reads fewer sure characters than one that holds it all."""
        import cv2

        best: list[tuple[str, float, float, float]] = [("", 0.0, float("-inf"), 0.0) for _ in images]

        def vote(owner: list[int], variants: list[np.ndarray]) -> None:
            for i, reading in zip(owner, self._read(variants), strict=True):
                if reading[2] > best[i][2]:
                    best[i] = reading

        vote([i for i, crops in enumerate(images) for _ in crops], [im for crops in images for im in crops])
        owner: list[int] = []
        variants: list[np.ndarray] = []
        for i, crops in enumerate(images):
            if best[i][3] >= SURE_CHAR_CONF:
                continue
            for im in crops:
                variants += [255 - im, cv2.resize(im, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)]
                owner += [i, i]
        vote(owner, variants)
        return [(text, score) for text, score, _, _ in best]


@contextmanager
def _without_spinning() -> Iterator[None]:
    """Sessions made inside this block let their idle worker threads sleep instead of spinning.

    onnxruntime's threads spin between the small runs this reader makes (a 640x96 detection, a few
    line crops): the spinning does no work, yet it was half the CPU time of the model runs on the 23 s
    bench clip (detector 3.4 -> 1.7 s, recogniser 4.1 -> 2.0 s without it), taken from the decoder
    and, on a shared machine, from every other job. rapidocr 3.10 builds its session
    options in ``OrtInferSession._init_sess_opts`` and offers no setting for this (version pinned)."""
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    original = OrtInferSession._init_sess_opts

    def options(cfg: Any) -> Any:
        opts = original(cfg)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return opts

    OrtInferSession._init_sess_opts = staticmethod(options)  # type: ignore[method-assign]
    try:
        yield
    finally:
        OrtInferSession._init_sess_opts = staticmethod(original)  # type: ignore[method-assign]


def _trim(text: str, confs: list[float], score: float) -> tuple[str, float, float, float]:
    """Drop unsure characters at either end of a line (background texture at the edge of the box
    read as "²", "「" or "。"); the score becomes the mean confidence of the characters kept. The
    evidence is the summed confidence above even odds: more sure characters, more evidence."""
    if len(confs) != len(text) or not text:
        return text, score, len(text) * (score - 0.5), score
    lo, hi = 0, len(text)
    while lo < hi and (confs[lo] < END_CHAR_CONF or text[lo] == " "):
        lo += 1
    while hi > lo and (confs[hi - 1] < END_CHAR_CONF or text[hi - 1] == " "):
        hi -= 1
    if lo == hi:
        return "", 0.0, float("-inf"), 0.0
    kept = confs[lo:hi]
    return text[lo:hi], float(np.mean(kept)), float(sum(c - 0.5 for c in kept)), float(min(kept))


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
            # Boxes that overlap on both axes are one line found twice (grain splits the detector's
            # map into a tight and a loose box), whatever their heights.
            if (similar or gap < 0) and overlap > 0.5 * height and gap < 0.8 * max(y1 - y0, row[3] - row[1]):
                row[:] = [min(x0, row[0]), min(y0, row[1]), max(x1, row[2]), max(y1, row[3])]
                break
        else:
            rows.append([x0, y0, x1, y1])
    return sorted((tuple(r) for r in rows), key=lambda b: (b[1], b[0]))  # type: ignore[misc]
