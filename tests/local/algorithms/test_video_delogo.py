"""VideoDelogo: the logo box matches the clean reference after removal; logos are found without boxes."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from airflow_iprod.local.algorithms import _video
from airflow_iprod.local.algorithms.video_delogo import find_logos
from tests.mediagen.video import LogoVideo, decode, logo_video, psnr

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def logo(tmp_path_factory: pytest.TempPathFactory) -> LogoVideo:
    return logo_video(tmp_path_factory.mktemp("delogo") / "logo.mp4", seconds=4.0, tone=True)


def box_psnr(out: Path, ref: Path, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    a, b = decode(out), decode(ref)
    assert len(a) == len(b)
    return min(psnr(fa[y : y + h, x : x + w], fb[y : y + h, x : x + w]) for fa, fb in zip(a, b, strict=True))


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Boxes as (x0, y0, x1, y1)."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_given_box_restores_background(logo: LogoVideo, run_algorithm) -> None:
    before = box_psnr(logo.path, logo.clean, logo.box)
    x, y, w, h = logo.box_norm
    box = [x - 0.005, y - 0.01, w + 0.01, h + 0.02]  # a user's box is a little generous
    result = run_algorithm("VideoDelogo", logo.path, {"Boxes": str([box]), "LogoModel": "tv"})
    assert result.result == {}
    out = result.outputs[0].path
    after = box_psnr(out, logo.clean, logo.box)
    print(f"delogo given box: PSNR in box {before:.1f} dB -> {after:.1f} dB (worst frame)")
    assert before < 20
    assert after >= 30
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.video[0].codec_context.name == "h264"
    # outside the box the picture is the source's
    src, dst = decode(logo.path)[10], decode(out)[10]
    outside = np.ones(src.shape[:2], bool)
    px, py, _pw, ph = logo.box
    outside[max(0, py - 16) : py + ph + 16, px - 16 :] = False
    assert psnr(src[outside], dst[outside]) > 38


def test_finds_static_logo_without_boxes(logo: LogoVideo, run_algorithm, tmp_path: Path) -> None:
    info = _video.probe(logo.path)
    ctx = _ctx(logo.path, tmp_path)
    boxes = find_logos(ctx, info, {"tv"})
    x, y, w, h = logo.box
    truth = (x, y, x + w, y + h)
    assert boxes, "no logo found"
    score = iou(boxes[0], truth)
    print(f"found {boxes[0]} truth {truth} IoU={score:.2f}")
    assert score >= 0.5
    result = run_algorithm("VideoDelogo", logo.path, {"LogoModel": "tv,internet"})
    after = box_psnr(result.outputs[0].path, logo.clean, logo.box)
    print(f"delogo found box: PSNR in box {after:.1f} dB")
    assert after >= 30


def test_no_logo_in_static_clean_video(logo: LogoVideo, tmp_path: Path) -> None:
    # the clean reference has no logo: nothing may be found in its corners
    info = _video.probe(logo.clean)
    assert find_logos(_ctx(logo.clean, tmp_path), info, {"tv"}) == []


def _ctx(path: Path, tmp_path: Path):
    from airflow_iprod.local.algorithms.base import JobContext

    return JobContext("VideoDelogo", "ice", path, {}, None, tmp_path, lambda **_: None, Path, threads=2)
