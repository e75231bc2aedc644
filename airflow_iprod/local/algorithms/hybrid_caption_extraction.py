"""HybridCaptionExtraction: caption OCR with a second, whole-cue reading where the OCR is unsure.

JobParams: ``roi`` ([bx, by, bw, bh] normalised, default the bottom quarter), ``lang`` (``zh`` or
``en``, default ``zh``), ``fps`` (2..10, default 5), ``track`` (``main`` or absent), as documented.

The cloud service fuses OCR with speech recognition. The local engine cannot do that offline: there is
no offline Chinese recogniser in the installed packages, and the English model bundled with
pocketsphinx 5.1 proved unusable on test narration (its language-model search returned unrelated words
and its grammar-constrained search found no complete path), so this engine uses no audio at all and
says so here rather than pretending. What it does add to CaptionExtraction is a second look at every
cue whose recognition confidence is below ``UNSURE``: the cue's box is cut from up to ``RESTACK``
samples spread over its whole span, their per-pixel median (moving background and grain average out,
the static caption does not) is recognised again, and the new reading replaces the first one only when
the recogniser is more confident in it. So the result is never worse than CaptionExtraction's by the
recogniser's own measure, and on noisy or low-contrast video it is usually better.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from airflow_iprod.local.algorithms._captions import (
    CaptionOcr,
    Track,
    clean_text,
    roi_pixels,
    sample_frames,
    video_size,
)
from airflow_iprod.local.algorithms._srt import write_srt
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext
from airflow_iprod.local.algorithms.caption_extraction import fps_param, read_captions, to_cues, track_param

DEFAULT_ROI = [0.0, 0.75, 1.0, 0.25]
LANGS = {"zh": "ch", "en": "en"}  # documented value -> the OCR text clean-up used
UNSURE = 0.97  # mean recogniser confidence below which a cue is read again
RESTACK = 15  # samples stacked for the second reading


def _roi(params: dict[str, Any]) -> tuple[float, float, float, float]:
    """(top, bottom, left, right) from [bx, by, bw, bh]."""
    value = params.get("roi") or DEFAULT_ROI
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    try:
        bx, by, bw, bh = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise AlgorithmError(
            f"roi: {params.get('roi')!r} is not allowed; [bx, by, bw, bh] normalised to [0, 1]"
        ) from None
    if not (
        0 <= bx < 1 and 0 <= by < 1 and bw > 0 and bh > 0 and bx + bw <= 1 + 1e-9 and by + bh <= 1 + 1e-9
    ):
        raise AlgorithmError(
            f"roi: {value!r} is not allowed; [bx, by, bw, bh] in [0, 1] with a positive size "
            "inside the frame (bx + bw <= 1, by + bh <= 1)"
        )
    return by, min(1.0, by + bh), bx, min(1.0, bx + bw)


def reread_unsure(
    ctx: JobContext, tracks: list[Track], fps: int, box: tuple[float, float, float, float], lang: str
) -> int:
    """Read unsure tracks again from a median over their whole span; returns how many improved."""
    unsure = [tr for tr in tracks if tr.confidence < UNSURE]
    if not unsure:
        return 0
    wanted: dict[int, set[float]] = {}
    for i, tr in enumerate(unsure):
        times = tr.samples
        step = max(1, len(times) // RESTACK)
        wanted[i] = set(times[::step][:RESTACK])
    patches: dict[int, list[np.ndarray]] = {i: [] for i in wanted}
    width, height = video_size(ctx.input_path)
    roi = roi_pixels(width, height, *box)
    for t, crop in sample_frames(ctx.input_path, fps, roi, ctx.threads):
        for i, times in wanted.items():
            if t in times:
                tr = unsure[i]
                patches[i].append(crop[tr.y0 : tr.y1, tr.x0 : tr.x1])
    ocr = CaptionOcr(ctx.threads)
    ready = [i for i in patches if patches[i]]
    images = [np.median(np.stack(patches[i]), axis=0).astype(np.uint8) for i in ready]
    improved = 0
    for i, (text, score) in zip(ready, ocr.recognize_images(images), strict=True):
        tr = unsure[i]
        text = clean_text(text, lang)
        if text and score > tr.confidence and "\n" not in tr.text:
            tr.votes = {text: score}
            tr.scores = [score]
            improved += 1
    return improved


def run(ctx: JobContext) -> AlgorithmResult:
    fps = fps_param(ctx.params)
    lang = ctx.params.get("lang") or "zh"
    if lang not in LANGS:
        raise AlgorithmError(f"lang: {lang!r} is not allowed; one of {', '.join(LANGS)}")
    box = _roi(ctx.params)
    tracks, _ = read_captions(ctx, fps, box, LANGS[lang], track_param(ctx.params))
    improved = reread_unsure(ctx, tracks, fps, box, LANGS[lang])
    ctx.log(f"{improved} unsure cue(s) read better over their whole span")
    target = ctx.new_output(ext=".srt")
    write_srt(to_cues(tracks, fps), target.path)
    return AlgorithmResult(outputs=[target], result={})
