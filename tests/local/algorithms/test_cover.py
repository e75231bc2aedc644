"""Cover: every pick lies in a sharp, well-exposed stretch when such stretches exist."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from PIL import Image

from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.video import QualitySegments, decode, psnr, quality_segments_video

pytestmark = pytest.mark.slow

MARGIN = 0.08  # seconds: two frames off a cut still counts as outside the sharp stretch


@pytest.fixture(scope="module")
def segments_video(tmp_path_factory: pytest.TempPathFactory) -> QualitySegments:
    return quality_segments_video(tmp_path_factory.mktemp("cover") / "segments.mp4")


def _kind_at(video: QualitySegments, t: float) -> str:
    for kind, a, b in video.segments:
        if a + MARGIN <= t < b - MARGIN:
            return kind
    return "boundary"


def test_png_picks_are_sharp_and_from_different_shots(segments_video: QualitySegments, run_algorithm) -> None:
    result = run_algorithm("Cover", segments_video.path)
    picks = result.result
    assert len(picks) == 3 and len(result.outputs) == 3
    assert [o.sequence_id for o in result.outputs] == [1, 2, 3]
    scores = [p["Score"] for p in picks]
    assert scores == sorted(scores, reverse=True)
    times = [float(p["Time"]) / 1000 for p in picks]
    print(
        "cover picks",
        [(round(t, 2), _kind_at(segments_video, t), round(s, 2)) for t, s in zip(times, scores, strict=True)],
    )
    assert all(_kind_at(segments_video, t) == "sharp" for t in times), times
    # diversity: the three sharp stretches are three different shots
    shots = {next(i for i, (_, a, b) in enumerate(segments_video.segments) if a <= t < b) for t in times}
    assert len(shots) == 3
    frames = decode(segments_video.path)
    for pick, target, t in zip(picks, result.outputs, times, strict=True):
        assert pick["Url"] == target.url and target.path.suffix == ".png"
        image = cv2.imread(str(target.path))
        assert image.shape == frames[0].shape
        # the PNG is the frame at the reported time (full size)
        assert psnr(image, frames[round(t * 25)]) > 40


def test_gif_model(segments_video: QualitySegments, run_algorithm) -> None:
    result = run_algorithm("Cover", segments_video.path, {"Model": "gif"})
    assert len(result.outputs) == 3
    for pick, target in zip(result.result, result.outputs, strict=True):
        t = float(pick["Time"]) / 1000
        assert _kind_at(segments_video, t) == "sharp"
        with Image.open(target.path) as gif:
            assert gif.format == "GIF" and gif.is_animated
            assert 15 <= gif.n_frames <= 30  # ~2.4 s at 10 fps
            assert gif.size[0] <= 320
        assert target.path.stat().st_size < 2_000_000


def test_not_a_video(tmp_path: Path, run_algorithm) -> None:
    bogus = tmp_path / "x.mp4"
    bogus.write_bytes(b"not a video at all")
    with pytest.raises(AlgorithmError, match="Input"):
        run_algorithm("Cover", bogus)
