"""VideoH2V on a panning clip with a figure walking across: the figure stays inside the portrait crop."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from airflow_iprod.local.algorithms import _video
from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.motion import panning_subject_video
from tests.mediagen.video import decode, encode


def _crop_x(src: np.ndarray, out: np.ndarray) -> int:
    """Where the output frame was cut from the source frame (best match of a row band)."""
    scores = cv2.matchTemplate(src[100:260], out[100:260], cv2.TM_SQDIFF)
    return int(np.argmin(scores[0]))


@pytest.mark.slow
def test_subject_stays_in_portrait_frame(tmp_path: Path, run_algorithm) -> None:
    clip = panning_subject_video(tmp_path / "pan.mp4", seconds=5.0)
    res = run_algorithm("VideoH2V", clip.path)
    info = _video.probe(res.outputs[0].path)
    assert (info.width, info.height) == (202, 360) and info.has_audio
    src, out = decode(clip.path), decode(res.outputs[0].path)
    assert len(out) == len(src)
    inside = 0
    for i in range(len(src)):
        x0 = _crop_x(src[i], out[i])
        bx, _, bw, _ = clip.boxes[i]
        inside += x0 <= bx and bx + bw <= x0 + info.width
    share = inside / len(src)
    print(f"subject fully inside the crop in {share:.1%} of frames")
    assert share >= 0.95


def test_refuses_portrait_input(tmp_path: Path, run_algorithm) -> None:
    path = encode(tmp_path / "p.mp4", [np.zeros((320, 180, 3), np.uint8)] * 5)
    with pytest.raises(AlgorithmError, match="portrait"):
        run_algorithm("VideoH2V", path)
