"""VideoGreenScreenMatting: alpha against the known mask, alpha survives a WebM decode, composites."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.video import (
    GreenScreen,
    decode,
    green_screen_video,
    psnr,
    smooth_background,
    write_image,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> GreenScreen:
    return green_screen_video(tmp_path_factory.mktemp("green") / "green.mp4", seconds=2.0, tone=True)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_webm_alpha_matches_mask(screen: GreenScreen, run_algorithm) -> None:
    result = run_algorithm("VideoGreenScreenMatting", screen.path)
    out = result.outputs[0].path
    assert out.suffix == ".webm" and result.result == {}
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
        assert c.streams.audio, "source audio kept (Opus)"
    frames = decode(out, fmt="bgra", decoder="libvpx-vp9")
    assert len(frames) == len(screen.masks)
    scores = [iou(f[..., 3] > 127, m) for f, m in zip(frames, screen.masks, strict=True)]
    print(f"green screen alpha IoU mean={np.mean(scores):.4f} min={np.min(scores):.4f}")
    assert min(scores) >= 0.98


def test_composite_over_background(screen: GreenScreen, run_algorithm, tmp_path: Path) -> None:
    bg = smooth_background(800, 600, 3.0)  # other aspect: must be scaled to cover, centre-cropped
    bg_path = write_image(tmp_path / "bg.png", bg)
    result = run_algorithm(
        "VideoGreenScreenMatting", screen.path, {"bgimage": f"oss://test-bucket/{bg_path.name}"}
    )
    out = result.outputs[0].path
    assert out.suffix == ".mp4"
    frames = decode(out)
    src = decode(screen.path)
    import cv2

    from airflow_iprod.local.algorithms.video_green_screen_matting import cover_resize

    expected_bg = cover_resize(bg, *screen.size)
    kernel = np.ones((7, 7), np.uint8)
    worst_bg, worst_fg = 99.0, 99.0
    for frame, s, mask in zip(frames, src, screen.masks, strict=True):
        inner_fg = cv2.erode(mask.astype(np.uint8), kernel) > 0
        inner_bg = cv2.erode((~mask).astype(np.uint8), kernel) > 0
        worst_bg = min(worst_bg, psnr(frame[inner_bg], expected_bg[inner_bg]))
        worst_fg = min(worst_fg, psnr(frame[inner_fg], s[inner_fg]))
    print(f"composite: background PSNR {worst_bg:.1f} dB, foreground PSNR {worst_fg:.1f} dB (worst frame)")
    assert worst_bg >= 30 and worst_fg >= 30


def test_not_a_green_screen(tmp_path: Path, run_algorithm) -> None:
    from tests.mediagen.video import encode

    path = encode(tmp_path / "grey.mp4", [np.full((120, 160, 3), 128, np.uint8)] * 10)
    with pytest.raises(AlgorithmError, match="green"):
        run_algorithm("VideoGreenScreenMatting", path)
