"""Caption algorithms end to end through the SDKs: CaptionExtraction in English (ICE) and Chinese (MPS)
on videos with captions burnt in at known times, HybridCaptionExtraction (ICE) when the engine has it,
and a video without a picture that the algorithm itself refuses (Fail with its message, no hang)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_iprod.local.algorithms import is_available
from airflow_iprod.local.algorithms._srt import Cue, parse_srt
from tests.local.e2e.conftest import needs
from tests.mediagen.captions import CHINESE, ENGLISH, caption_clip, narration
from tests.mediagen.metrics_text import cer

pytestmark = pytest.mark.slow

FPS = 5
SECONDS = 11.5  # the whole English script (CER over ~165 characters, as the direct test measures it)
ZH_SECONDS = 5.8  # the first two Chinese cues


@pytest.fixture(scope="module")
def submitted(jobs: Any, upload: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e-captions")
    out: dict[str, Any] = {}
    # One English video with narration for both CaptionExtraction and HybridCaptionExtraction.
    talk = caption_clip(tmp / "talk.mp4", ENGLISH, seconds=SECONDS, audio=narration(ENGLISH, SECONDS))
    talk_url = upload(talk.path, "e2e/captions/in/talk.mp4")

    def on_talk(function_name: str, output: str) -> tuple[Any, Any]:
        """``function_name`` (ICE) on the English talk, with the clip that holds the truth."""
        return jobs.submit("ice", function_name, talk_url, output, {"fps": FPS, "lang": "en"}), talk

    if is_available("CaptionExtraction"):
        out["ce-ice"] = on_talk("CaptionExtraction", "oss://media/e2e/captions/en/{source}-{timestamp}.srt")
        zh = caption_clip(tmp / "lesson-zh.mp4", CHINESE[:2], seconds=ZH_SECONDS, background="color")
        url = upload(zh.path, "e2e/captions/in/lesson-zh.mp4")
        out["ce-mts"] = (
            jobs.submit("mts", "CaptionExtraction", url, "oss://media/e2e/captions/zh/{source}.srt",
                        {"fps": FPS, "lang": "ch"}),
            zh,
        )  # fmt: skip
        # A file the Submit probe accepts (an MP4 container) but with no picture: the algorithm refuses it.
        from tests.mediagen.video import ffmpeg

        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(tmp / "radio.mp4"))
        url = upload(tmp / "radio.mp4", "e2e/captions/in/radio.mp4")
        out["ce-fail"] = jobs.submit(
            "ice", "CaptionExtraction", url, "oss://media/e2e/captions/bad/{source}.srt"
        )
    if is_available("HybridCaptionExtraction"):
        out["hybrid"] = on_talk("HybridCaptionExtraction", "oss://media/e2e/captions/hy/{source}.srt")
    return out


def _check_cues(jobs: Any, job: Any, clip: Any, tmp_path: Path, max_cer: float) -> float:
    srt = jobs.only_output(job, tmp_path)
    assert job.result == {}
    assert srt.suffix == ".srt"
    found = parse_srt(srt.read_text(encoding="utf-8"))
    truth: list[Cue] = clip.truth
    text_cer = cer(" ".join(c.text for c in truth), " ".join(c.text for c in found))
    assert len(found) == len(truth), found
    worst = max(max(abs(f.start - t.start), abs(f.end - t.end)) for f, t in zip(found, truth, strict=True))
    print(f"E2E {job.function_name} ({job.api}): CER {100 * text_cer:.2f}%, "
          f"worst cue boundary error {worst:.3f} s")  # fmt: skip
    assert text_cer <= max_cer
    assert worst <= 1 / FPS + 0.01  # within one sample interval
    return text_cer


@needs("CaptionExtraction")
def test_caption_extraction_english_ice(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, clip = submitted["ce-ice"]
    _check_cues(jobs, job, clip, tmp_path, 0.01)


@needs("CaptionExtraction")
def test_caption_extraction_chinese_mps(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, clip = submitted["ce-mts"]
    _check_cues(jobs, job, clip, tmp_path, 0.02)


@needs("HybridCaptionExtraction")
def test_hybrid_caption_extraction(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, clip = submitted["hybrid"]
    hybrid = _check_cues(jobs, job, clip, tmp_path / "hybrid", 0.01)
    if "ce-ice" in submitted:  # never worse than OCR alone on the same video
        assert hybrid <= _check_cues(jobs, submitted["ce-ice"][0], clip, tmp_path / "ocr", 0.01)


@needs("CaptionExtraction")
def test_video_without_picture_fails_with_the_algorithms_message(jobs: Any, submitted: dict) -> None:
    job = submitted["ce-fail"]
    body = jobs.wait(job, timeout=60, expect="Fail")
    result = job.result
    assert result["Code"] == "InvalidInput"
    assert "video" in result["Message"].lower() and "Input" in result["Message"], result
    assert body["OutputFiles"] == [] and body["OutputUrls"] == []
