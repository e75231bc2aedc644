"""CaptionExtraction on generated clips with drawn captions at known times (English, Chinese, mixed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_iprod.local.algorithms import _caption_ocr, _captions
from airflow_iprod.local.algorithms._srt import Cue, parse_srt
from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.captions import CHINESE, ENGLISH, MIXED, caption_clip
from tests.mediagen.metrics_text import cer, edit_distance, normalise


def score(truth: list[Cue], found: list[Cue]) -> tuple[float, float, float]:
    """(pooled CER, worst start error, worst end error): each truth cue against the output cue that
    overlaps it most; a missing cue counts as all characters wrong and an infinite time error."""
    edits = chars = 0
    worst_start = worst_end = 0.0
    for cue in truth:
        best = max(found, key=lambda c: min(c.end, cue.end) - max(c.start, cue.start), default=None)
        chars += len(normalise(cue.text))
        if best is None or min(best.end, cue.end) <= max(best.start, cue.start):
            edits += len(normalise(cue.text))
            worst_start = worst_end = float("inf")
            continue
        edits += edit_distance(normalise(cue.text), normalise(best.text))
        worst_start = max(worst_start, abs(best.start - cue.start))
        worst_end = max(worst_end, abs(best.end - cue.end))
    return edits / max(1, chars), worst_start, worst_end


def extract(run_algorithm, path: Path, **params) -> list[Cue]:
    result = run_algorithm("CaptionExtraction", path, params)
    assert result.result == {}
    (target,) = result.outputs
    assert target.path.suffix == ".srt"
    return parse_srt(target.path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("captions")


@pytest.mark.slow
def test_english_on_moving_background(run_algorithm, clips, monkeypatch) -> None:
    # Any attempt by rapidocr to fetch a model or a dictionary fails the test: all must come from the wheel.
    from rapidocr.utils import download_file

    def no_download(*args, **kwargs):
        raise AssertionError("rapidocr tried to download a file")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(lambda cls, *a, **k: no_download()))
    clip = caption_clip(clips / "en.mp4", ENGLISH, background="testsrc2")
    cues = extract(run_algorithm, clip.path, lang="en", fps=5)
    rate, start, end = score(clip.truth, cues)
    assert rate <= 0.01, (rate, cues)
    assert start <= 0.2 + 1e-6 and end <= 0.2 + 1e-6, (start, end, cues)
    assert len(cues) == len(clip.truth), cues  # no flicker cues from the busy background


@pytest.mark.slow
def test_chinese_on_moving_background(run_algorithm, clips) -> None:
    clip = caption_clip(clips / "zh.mp4", CHINESE, background="testsrc2")
    cues = extract(run_algorithm, clip.path)  # lang defaults to ch, fps to 5
    rate, start, end = score(clip.truth, cues)
    assert rate <= 0.02, (rate, cues)
    assert start <= 0.2 + 1e-6 and end <= 0.2 + 1e-6, (start, end, cues)
    assert len(cues) == len(clip.truth), cues


@pytest.mark.slow
def test_mixed_on_grain_at_two_samples_per_second(run_algorithm, clips) -> None:
    clip = caption_clip(clips / "mixed.mp4", MIXED, background="noise")
    cues = extract(run_algorithm, clip.path, lang="ch_ml", fps=2)
    rate, start, end = score(clip.truth, cues)
    assert rate <= 0.02, (rate, cues)
    assert start <= 0.5 + 1e-6 and end <= 0.5 + 1e-6, (start, end, cues)


@pytest.mark.slow
def test_main_track_drops_the_secondary_caption(run_algorithm, clips) -> None:
    # A small second caption line higher up in the region, shown briefly, besides the main captions.
    extra = ((1.0, 4.0, "breaking news", 0.68),)
    clip = caption_clip(
        clips / "two.mp4", ENGLISH[:2], background="color", seconds=6.0, extra=extra, y_frac=0.95
    )
    roi = [[0.6, 1.0], [0.0, 1.0]]
    everything = extract(run_algorithm, clip.path, lang="en", fps=5, roi=roi)
    assert any(cer("breaking news", c.text) <= 0.1 for c in everything), everything
    rate, _, _ = score(clip.truth, everything)
    assert rate <= 0.01, everything
    main = extract(run_algorithm, clip.path, lang="en", fps=5, roi=roi, track="main")
    assert not any(cer("breaking news", c.text) <= 0.5 for c in main), main
    main_truth = [c for c in clip.truth if c.text != "breaking news"]
    rate, start, end = score(main_truth, main)
    assert rate <= 0.01 and start <= 0.2 + 1e-6 and end <= 0.2 + 1e-6, main


@pytest.mark.slow
def test_roi_selects_where_to_read(run_algorithm, clips) -> None:
    clip = caption_clip(clips / "top.mp4", ENGLISH[:1], background="color", seconds=3.5, y_frac=0.1)
    assert extract(run_algorithm, clip.path, lang="en") == []  # default roi: bottom quarter
    cues = extract(run_algorithm, clip.path, lang="en", roi=[[0, 0.25], [0, 1]])
    rate, start, end = score(clip.truth, cues)
    assert rate <= 0.01 and start <= 0.2 + 1e-6 and end <= 0.2 + 1e-6, cues


def test_roi_too_small_for_the_video_is_refused() -> None:
    # A valid normalised roi can still be too few pixels to read: only the decoded size tells.
    assert _captions.roi_pixels(640, 360, 0.75, 1.0, 0.0, 1.0) == _captions.PixelRoi(0, 270, 640, 360)
    with pytest.raises(AlgorithmError, match=r"^JobParams\.roi: top 0.98, bottom 1, .* 640x7 pixels .*16x16"):
        _captions.roi_pixels(640, 360, 0.98, 1.0, 0.0, 1.0)


def test_non_video_input_is_refused(run_algorithm, tmp_path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video at all")
    with pytest.raises(AlgorithmError, match=r"^Input: "):
        run_algorithm("CaptionExtraction", bogus, {})


def test_models_come_from_the_rapidocr_wheel() -> None:
    import rapidocr

    root = Path(rapidocr.__file__).resolve().parent
    for path in _caption_ocr.model_paths().values():
        assert path.is_file() and root in path.parents


def test_detector_zoom_finds_the_same_line_in_crop_pixels() -> None:
    # ``detect`` scales the crop itself (zoom 2 is the retry for small text); boxes come back in the
    # crop's own pixels whatever the zoom, so lines found either way can be matched with each other.
    import cv2
    import numpy as np

    crop = np.full((90, 640, 3), 60, np.uint8)
    cv2.putText(crop, "Seven engineers measured it", (120, 55), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255,) * 3, 2)
    ocr = _caption_ocr.CaptionOcr()
    (near,) = ocr.detect(crop)
    (far,) = ocr.detect(crop, zoom=_caption_ocr.ZOOM_RETRY)
    (x, y, w, h) = cv2.boundingRect(cv2.findNonZero((crop[..., 0] > 128).astype(np.uint8)))
    for box in (near, far):  # each holds the drawn text, in crop pixels (not twice them)
        assert box[0] <= x and box[1] <= y and box[2] >= x + w and box[3] >= y + h, (box, (x, y, w, h))
        assert box[2] - box[0] <= w + h and box[3] - box[1] <= 3 * h, (box, (x, y, w, h))
    assert _captions._iou(near, far) >= 0.5, (near, far)


def test_onnxruntime_threads_sleep_when_idle() -> None:
    # Spinning idle threads did no work but cost half the CPU of the model runs; the patch that turns
    # it off for our sessions must not leak into rapidocr for anyone else.
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    before = OrtInferSession._init_sess_opts
    ocr = _caption_ocr.CaptionOcr()
    for stage in (ocr._det, ocr._rec):
        options = stage.session.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert OrtInferSession._init_sess_opts is before
